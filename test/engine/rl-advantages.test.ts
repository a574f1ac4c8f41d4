// Advantage estimators worked by hand: GRPO's group normalisation (unbiased std, + 1e-4), RLOO's
// leave-one-out baseline with TRL's KL-shaped rewards, and REINFORCE++'s token returns (KL penalty
// folded in, the reward on the last token, γ = 1) whitened over the batch (OpenRLHF).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  grpoAdvantages,
  klShapedRewards,
  reinforcePpAdvantages,
  rlooAdvantages,
  zeroStdGroups,
} from '../../src/engine/train/advantages.js';

const close = (a: number[], b: number[], tol = 1e-12) =>
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) < tol, `[${i}] ${x} vs ${b[i]}`));

test('GRPO: (r − group mean) / (unbiased group std + 1e-4); a tied group gets 0', () => {
  // group [1, 0, 0]: mean 1/3, unbiased std sqrt(((2/3)² + 2(1/3)²)/2) = sqrt(1/3)
  const s = Math.sqrt(1 / 3) + 1e-4;
  close(grpoAdvantages([1, 0, 0, 2, 2, 2], 3, 'group'), [
    2 / 3 / s,
    -1 / 3 / s,
    -1 / 3 / s,
    0,
    0,
    0,
  ]);
  close(grpoAdvantages([1, 0, 0, 2, 2, 2], 3, 'none'), [2 / 3, -1 / 3, -1 / 3, 0, 0, 0]);
  assert.deepEqual(zeroStdGroups([1, 0, 0, 2, 2, 2], 3), [false, true]);
});

test('RLOO: r_i − mean of the others, after r − β·Σ(old − ref)', () => {
  const shaped = klShapedRewards([1, 0], [[-1, -2], [-3]], [[-1.5, -2.5], [-2]], 0.1);
  close(shaped, [1 - 0.1 * 1, 0 - 0.1 * -1]); // Σ(old − ref) = 1 and −1
  close(rlooAdvantages(shaped, 2), [shaped[0] - shaped[1], shaped[1] - shaped[0]]);
  close(rlooAdvantages([3, 1, 2], 3), [3 - 1.5, 1 - 2.5, 2 - 2]);
});

test('REINFORCE++: returns of −β·KL per token plus the reward at the end, whitened over all tokens', () => {
  const old = [[-1, -2], [-1]];
  const ref = [[-1.5, -2], [-0.5]];
  const beta = 0.5;
  // row 0: r = [−0.25, 0 + 1] → G = [0.75, 1]; row 1: r = [0.25 + 0] → G = [0.25]
  const G = [0.75, 1, 0.25];
  const m = G.reduce((a, b) => a + b) / 3;
  const std = Math.sqrt(G.reduce((a, x) => a + (x - m) ** 2, 0) / 3);
  const got = reinforcePpAdvantages([1, 0], old, ref, beta, { groupSize: 2, baseline: false });
  close(
    got.flat(),
    G.map((x) => (x - m) / (std + 1e-8)),
  );
  // with the baseline the group mean (0.5) comes off the rewards first: G = [0.25, 0.5], [−0.25]
  const G2 = [0.25, 0.5, -0.25];
  const m2 = G2.reduce((a, b) => a + b) / 3;
  const s2 = Math.sqrt(G2.reduce((a, x) => a + (x - m2) ** 2, 0) / 3);
  const got2 = reinforcePpAdvantages([1, 0], old, ref, beta, { groupSize: 2, baseline: true });
  close(
    got2.flat(),
    G2.map((x) => (x - m2) / (s2 + 1e-8)),
  );
});
