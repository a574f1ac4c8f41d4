// PPO in the loop, end to end through the real CLI. RLHF in one round on builtin:sandbox
// (generate → exact-grader judge → pairs → reward model → PPO against it): PPO raises the reward
// model's reward, every step carries TRL PPOTrainer's metric names, every sample is a ledger row,
// and the saved policy is a plain PEFT adapter (the value head stays out of it). A PPO run killed
// with SIGKILL mid-stage resumes to the same metrics, samples and adapter bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile } from '../../src/engine/model/safetensors.js';
import { openStore } from '../../src/store/run-store.js';
import { runCli } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';
import { assertRlResumes, onlyRun } from '../helpers/rl-resume.js';

const env = { RLAIF_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rlaif-cache-')) };
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('rl stage, algorithm ppo: PPO against the round reward model raises its reward; TRL PPO metrics and samples are stored', () => {
  const root = mkdtempSync(join(tmpdir(), 'rlaif-ppo-'));
  const r = runCli(['run', fromRoot('test/fixtures/rlhf-ppo-learning.yaml'), '--root', root], {
    env,
    timeoutMs: 600_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const id = onlyRun(root);
  const store = openStore(join(root, id, 'run.sqlite'), { readonly: true });
  try {
    const metric = (name: string) =>
      store.evalMetrics().find((m) => m.round === 1 && m.metric === name)?.value;
    assert.ok((metric('reward_model/eval_accuracy') ?? 0) > 0.5, 'the reward model beats a coin');

    const steps = store.trainStepsForRound(1).map((s) => s.metrics);
    assert.equal(steps.length, 40 * 2, 'steps x num_ppo_epochs optimizer steps');
    for (const name of [
      'loss',
      'pg_loss',
      'value_loss',
      'policy/approxkl',
      'policy/clipfrac',
      'val/clipfrac',
      'val/ratio',
      'val/explained_variance',
      'objective/kl',
      'objective/non_score_reward',
      'kl',
      'entropy',
      'reward',
      'rewards/rm/mean',
      'grad_norm',
      'learning_rate',
    ])
      assert.equal(typeof steps[0][name], 'number', `step metric ${name}`);
    // one sampled batch per generation step: its reward is on both epochs' rows
    const batches = steps.filter((s) => s.iteration === 1).map((s) => s.reward as number);
    const first = mean(batches.slice(0, 8));
    const last = mean(batches.slice(-8));
    assert.ok(last >= first + 0.1, `reward-model reward ${first} -> ${last}`);
    // the critic learns the returns: explained variance climbs from its random start
    const ev = steps
      .filter((s) => s.iteration === 1)
      .map((s) => s['val/explained_variance'] as number);
    assert.ok(mean(ev.slice(-10)) > mean(ev.slice(0, 10)), `explained variance ${ev.join(' ')}`);

    const samples = store.rlSamplesForRound(1);
    assert.equal(samples.length, 40 * 8 * 4, 'steps x prompts_per_step x num_generations');
    for (const s of samples) {
      assert.deepEqual(Object.keys(s.rewards), ['rm']);
      assert.ok(Number.isFinite(s.advantage) && Number.isFinite(s.oldLogps));
      assert.ok(s.refLogps !== null, 'kl_coef > 0: the reference log-probs are stored');
    }
  } finally {
    store.close();
  }
  const adapter = SafetensorsFile.open(
    join(root, id, 'round-1', 'policy', 'adapter_model.safetensors'),
  );
  const names = adapter.names();
  adapter.close();
  assert.ok(names.some((n) => n.includes('lora_A')));
  assert.ok(!names.some((n) => n.includes('v_head')), 'the value head is not part of the policy');
});

test('rl stage, algorithm ppo: a run killed mid-stage (SIGKILL) resumes to the same metrics, samples and adapter', async () => {
  const expected = await assertRlResumes(fromRoot('test/fixtures/rl-resume-ppo.yaml'), env);
  assert.equal(expected.steps.length, 8);
  assert.equal(typeof expected.steps[0].value_loss, 'number');
});
