// The kill -9 resume check of an rl stage, shared by the GRPO/RLOO and PPO stage tests: a run of
// `file` killed mid-stage (after its third optimizer step) and resumed must end with the same step
// metrics, samples and adapter bytes as one that was never interrupted.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/run-store.js';
import { runCli } from './cli.js';
import { runChild } from './run-child.js';

export const onlyRun = (root: string): string =>
  readdirSync(root).filter((d) => !d.startsWith('.'))[0];

/** What a finished one-round rl run stored: step metrics, samples (key fields), the adapter's hash. */
export function storedRl(root: string) {
  const id = onlyRun(root);
  const store = openStore(join(root, id, 'run.sqlite'), { readonly: true });
  try {
    const adapter = readFileSync(join(root, id, 'round-1', 'policy', 'adapter_model.safetensors'));
    return {
      id,
      steps: store.trainStepsForRound(1).map((s) => s.metrics),
      samples: store
        .rlSamplesForRound(1)
        .map((s) => [s.step, s.idx, s.text, s.reward, s.advantage, s.oldLogps, s.refLogps]),
      adapter: createHash('sha256').update(adapter).digest('hex'),
      status: store.getRun()?.status,
    };
  } finally {
    store.close();
  }
}

/** Runs `file` whole, then killed and resumed; asserts both end the same. Returns the whole run's. */
export async function assertRlResumes(file: string, env: NodeJS.ProcessEnv) {
  const whole = mkdtempSync(join(tmpdir(), 'rlaif-rl-whole-'));
  const r = runCli(['run', file, '--root', whole], { env, timeoutMs: 600_000 });
  assert.equal(r.status, 0, r.stderr);
  const expected = storedRl(whole);

  const crashed = mkdtempSync(join(tmpdir(), 'rlaif-rl-crash-'));
  const first = await runChild(['run', file, '--root', crashed], {
    env,
    // kill during the stage, after its third step
    killAt: (e) => (e.type === 'train-step' && e.step === 3 ? 0 : undefined),
  });
  assert.equal(first.signal, 'SIGKILL', `killed mid-stage: ${first.stderr}`);
  const resumed = runCli(['run', file, '--root', crashed, '--resume', first.runId], {
    env,
    timeoutMs: 600_000,
  });
  assert.equal(resumed.status, 0, resumed.stderr);
  const got = storedRl(crashed);
  assert.equal(got.status, 'finished');
  assert.deepEqual(got.steps, expected.steps, 'step metrics');
  assert.deepEqual(got.samples, expected.samples, 'samples, rewards, advantages, log-probs');
  assert.equal(got.adapter, expected.adapter, 'adapter bytes');
  return expected;
}
