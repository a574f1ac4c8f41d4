import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { runCli } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';

test('every shipped pipeline validates (schema, stage order, files, templates)', () => {
  const files = readdirSync(fromRoot('pipelines')).filter((f) => f.endsWith('.yaml'));
  assert.deepEqual(files.sort(), [
    'constitutional.yaml',
    'dpo-verifiable.yaml',
    'grpo-verifiable.yaml',
    'kto.yaml',
    'meta-rewarding.yaml',
    'ppo-verifiable.yaml',
    'reward-hacking.yaml',
    'rlhf-ppo.yaml',
    'self-reward-vllm.yaml',
    'self-reward.yaml',
    'smoke.yaml',
  ]);
  for (const f of files) {
    const r = runCli(['validate', fromRoot('pipelines', f)]);
    assert.equal(r.status, 0, `${f}: ${r.stderr}`);
    assert.match(r.stdout, /: ok \(/);
  }
});
