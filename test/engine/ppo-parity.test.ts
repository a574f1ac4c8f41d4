// PPO against TRL's PPOTrainer lines (the last TRL that had one; TRL 1.x removed it): the value
// head's values and the policy's token log-probs, GAE's advantages and returns under k1 / k3 KL
// shaping with and without whitened rewards, and the policy + value loss, its metrics and the
// gradients of every listed tensor (the value head's among them), full and LoRA, on hf-tiny —
// equal to scripts/make-ppo-parity.py's float64 numbers (test/fixtures/ppo-parity.json;
// conventions in docs/rl-conventions.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/engine/model/load-model.js';
import { loadLoraAdapter } from '../../src/engine/model/peft-adapter.js';
import { ppoAdvantages } from '../../src/engine/train/advantages.js';
import { DEFAULT_LORA_TARGETS } from '../../src/engine/train/lora.js';
import { RlTrainer, type RlTrainerOptions } from '../../src/engine/train/rl-trainer.js';
import { VALUE_BIAS, VALUE_WEIGHT } from '../../src/engine/train/value-head.js';
import { fixture } from '../helpers/fixtures.js';
import { repoRoot } from '../helpers/paths.js';
import { compareGrad, type GradSummary } from '../helpers/grad-summary.js';

interface GaeCase {
  kl_coef: number;
  kl_estimator: 'k1' | 'k3';
  whiten_rewards: boolean;
  gamma: number;
  lam: number;
  rewards: number[][];
  advantages: number[][];
  returns: number[][];
}
interface LossCase {
  cliprange: number;
  cliprange_value: number;
  vf_coef: number;
  loss: number;
  metrics: Record<string, number>;
  grads: Record<string, GradSummary>;
}
interface Side {
  own_logps: number[][];
  own_values: number[][];
  old_logps: number[][];
  old_values: number[][];
  gae: Record<string, GaeCase>;
  loss: Record<string, LossCase>;
}
interface Parity {
  temperature: number;
  prompt_ids: number[][];
  completion_ids: number[][];
  scores: number[];
  v_head: { weight: number[]; bias: number[] };
  ref_logps: number[][];
  full: Side;
  lora: Side;
}

const parity = JSON.parse(
  readFileSync(join(repoRoot, 'test', 'fixtures', 'ppo-parity.json'), 'utf8'),
) as Parity;

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

function options(kind: 'full' | 'lora', c?: Omit<LossCase, 'loss' | 'metrics' | 'grads'>) {
  const o: RlTrainerOptions = {
    algorithm: 'ppo',
    mode:
      kind === 'full'
        ? { kind: 'full' }
        : { kind: 'lora', lora: { r: 4, alpha: 8, targets: DEFAULT_LORA_TARGETS } },
    loss: {
      lossType: 'grpo',
      beta: 0.05,
      epsilon: c?.cliprange ?? 0.2,
      epsilonHigh: c?.cliprange ?? 0.2,
      importanceSamplingLevel: 'token',
      useBiasCorrectionKl: false,
      maxCompletionLength: 16,
    },
    ppo: {
      cliprangeValue: c?.cliprange_value ?? 0.2,
      vfCoef: c?.vf_coef ?? 0.1,
      gamma: 1,
      lam: 0.95,
      whitenRewards: false,
      klEstimator: 'k1',
    },
    temperature: parity.temperature,
    numIterations: 1,
    scaleRewards: 'group',
    maskTruncatedCompletions: false,
    rowsPerStep: 4,
    totalSteps: 1,
    batchSize: 4,
    gradAccum: 1,
    optimizer: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0 },
    learningRate: 1e-6,
    lrSchedule: 'constant',
    warmupSteps: 0,
    seed: 0,
  };
  return o;
}

/** A PPO trainer on the fixture's policy, its value head set to the fixture's. */
async function trainer(root: string, kind: 'full' | 'lora', opts: RlTrainerOptions) {
  const base = loadModel(join(root, kind === 'full' ? 'dpo/tiny-llama/policy' : 'tiny-llama'));
  const adapter =
    kind === 'lora' ? loadLoraAdapter(join(root, 'dpo', 'tiny-llama', 'lora-adapter')) : undefined;
  const t = await RlTrainer.create(base, opts, base, adapter);
  t.params.get(VALUE_WEIGHT)!.set(parity.v_head.weight);
  t.params.get(VALUE_BIAS)!.set(parity.v_head.bias);
  return { base, t };
}

const seqs = () =>
  parity.completion_ids.map((c, i) => ({ promptIds: parity.prompt_ids[i], responseIds: c }));

function closeRows(what: string, got: number[][], want: number[][], tol: number): void {
  assert.equal(got.length, want.length, what);
  got.forEach((row, i) => {
    assert.equal(row.length, want[i].length, `${what} row ${i}`);
    row.forEach((v, t) =>
      assert.ok(
        Math.abs(v - want[i][t]) < tol * Math.max(1, Math.abs(want[i][t])),
        `${what} [${i}][${t}]: ${v} vs ${want[i][t]}`,
      ),
    );
  });
}

for (const kind of ['full', 'lora'] as const) {
  test(`ppo parity (${kind}): token log-probs and the value head's values equal the reference`, async (t) => {
    const root = fixture(t, 'hf-tiny');
    if (!root) return;
    const { base, t: tr } = await trainer(root, kind, options(kind));
    try {
      const got = await tr.tokenPass('policy', seqs());
      closeRows('log-probs', got.logps, parity[kind].own_logps, 2e-4);
      closeRows('values', got.values!, parity[kind].own_values, 2e-4);
    } finally {
      await tr.close();
      base.close();
    }
  });

  test(`ppo parity (${kind}): GAE advantages, returns and shaped rewards equal TRL's lines`, () => {
    const side = parity[kind];
    for (const [name, c] of Object.entries(side.gae)) {
      const got = ppoAdvantages(parity.scores, side.old_logps, parity.ref_logps, side.old_values, {
        klCoef: c.kl_coef,
        klEstimator: c.kl_estimator,
        gamma: c.gamma,
        lam: c.lam,
        whitenRewards: c.whiten_rewards,
      });
      // 1e-6, not 1e-12: TRL's masked_var computes its Bessel factor n / (n − 1) from an int64
      // mask sum, and torch's true division of integers rounds it to float32 (3e-8 here).
      closeRows(`${name} rewards`, got.rewards, c.rewards, 1e-6);
      closeRows(`${name} advantages`, got.advantages, c.advantages, 1e-6);
      closeRows(`${name} returns`, got.returns, c.returns, 1e-6);
    }
  });

  test(`ppo parity (${kind}): policy + value loss, metrics and gradients equal TRL's lines`, async (t) => {
    const root = fixture(t, 'hf-tiny');
    if (!root) return;
    const side = parity[kind];
    const gae = side.gae.k1;
    for (const [name, c] of Object.entries(side.loss)) {
      const { base, t: tr } = await trainer(root, kind, options(kind, c));
      try {
        const got = await tr.gradients(
          tr.ppoFeeds(seqs(), side.old_logps, gae.advantages, side.old_values, gae.returns),
        );
        assert.ok(rel(got.loss, c.loss) < 1e-4, `${name}: loss ${got.loss} vs ${c.loss}`);
        for (const [m, want] of Object.entries(c.metrics))
          assert.ok(
            Math.abs(got.metrics[m] - want) < 1e-4 * Math.max(1, Math.abs(want)),
            `${name}: ${m} ${got.metrics[m]} vs ${want}`,
          );
        assert.ok(
          Math.abs(got.metrics['clip_ratio/region_mean'] - c.metrics['policy/clipfrac']) < 1e-6,
          `${name}: clip_ratio/region_mean is TRL's policy/clipfrac`,
        );
        for (const [g, ref] of Object.entries(c.grads))
          compareGrad(`${name} ${g}`, got.grads.get(g), ref, 1e-4);
      } finally {
        await tr.close();
        base.close();
      }
    }
  });
}
