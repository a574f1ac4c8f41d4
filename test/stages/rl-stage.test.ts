// The rl stage end to end through the real CLI: GRPO with a verifiable length rule on
// builtin:tiny raises the held-out probes' rule score (evaluate stage, round 0 → 1) within 20
// steps; every sample is a ledger row (rewards, advantage, log-probs) and every step's metrics
// carry TRL's names; a run killed with SIGKILL mid-stage resumes to the same metrics, samples and
// adapter bytes as an uninterrupted one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/run-store.js';
import { runCli } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';
import { assertRlResumes, onlyRun } from '../helpers/rl-resume.js';

const env = { RLAIF_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rlaif-cache-')) };

test('rl stage: GRPO on a verifiable length rule raises the held-out rule score; samples and TRL-named metrics are stored', () => {
  const root = mkdtempSync(join(tmpdir(), 'rlaif-rl-'));
  const r = runCli(['run', fromRoot('test/fixtures/grpo-learning.yaml'), '--root', root], {
    env,
    timeoutMs: 600_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const store = openStore(join(root, onlyRun(root), 'run.sqlite'), { readonly: true });
  try {
    const score = (round: number) =>
      store.evalMetrics().find((m) => m.round === round && m.metric === 'mean_score')!.value!;
    assert.ok(score(1) >= score(0) + 0.3, `held-out mean rule score ${score(0)} -> ${score(1)}`);

    const steps = store.trainStepsForRound(1);
    assert.equal(steps.length, 20, 'one optimizer step per generation batch');
    for (const name of [
      'loss',
      'grad_norm',
      'learning_rate',
      'reward',
      'reward_std',
      'rewards/short/mean',
      'kl',
      'entropy',
      'clip_ratio/low_mean',
      'clip_ratio/high_mean',
      'clip_ratio/region_mean',
      'completions/mean_length',
      'completions/clipped_ratio',
      'frac_reward_zero_std',
    ])
      assert.equal(typeof steps[0].metrics[name], 'number', `step metric ${name}`);
    const reward = (i: number) => steps[i].metrics.reward as number;
    assert.ok(reward(19) > reward(0), `in-sample reward ${reward(0)} -> ${reward(19)}`);

    const samples = store.rlSamplesForRound(1);
    assert.equal(samples.length, 20 * 4 * 4, 'steps x prompts_per_step x num_generations');
    for (const s of samples) {
      assert.deepEqual(Object.keys(s.rewards), ['short']);
      assert.ok(Number.isFinite(s.advantage) && Number.isFinite(s.oldLogps));
      assert.ok(s.refLogps !== null, 'beta > 0: the reference log-probs are stored');
    }
    // GRPO: a group whose rewards all tie teaches nothing, its advantages are exactly 0
    const groups = new Map<string, typeof samples>();
    for (const s of samples) {
      const k = `${s.step}/${s.promptId}`;
      groups.set(k, [...(groups.get(k) ?? []), s]);
    }
    const tied = [...groups.values()].filter((g) => g.every((s) => s.reward === g[0].reward));
    assert.ok(tied.length > 0);
    for (const g of tied) for (const s of g) assert.equal(s.advantage, 0);
    const ck = store.listCheckpoints().find((c) => c.round === 1);
    assert.equal(ck?.kind, 'adapter');
  } finally {
    store.close();
  }
});

test('rl stage: a run killed mid-stage (SIGKILL) resumes to the same metrics, samples and adapter', async () => {
  const expected = await assertRlResumes(fromRoot('test/fixtures/rl-resume.yaml'), env);
  assert.equal(expected.steps.length, 6);
});
