// RLHF in the loop through the real CLI (test/fixtures/rlhf.yaml on builtin:tiny): the
// reward_model stage trains on the round's pairs with a seeded held-out share and writes a
// transformers-format reward model to round-1/reward-model, its held-out numbers become the
// round's reward_model/* metrics, and the rl stage after it is rewarded by that model (a judge
// with trained: true). Validation refuses the wirings that cannot work, naming where.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/run-store.js';
import { runCli } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'rlaif-rm-stage-'));
const env = { RLAIF_CACHE_DIR: join(dir, 'cache') };

test('reward_model stage: trained on the round pairs, measured on held-out pairs, rewarding the rl stage', () => {
  const root = join(dir, 'runs');
  const r = runCli(['run', fromRoot('test/fixtures/rlhf.yaml'), '--root', root], {
    env,
    timeoutMs: 600_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const id = readdirSync(root).filter((d) => !d.startsWith('.'))[0];
  const cfg = JSON.parse(
    readFileSync(join(root, id, 'round-1', 'reward-model', 'config.json'), 'utf8'),
  ) as { architectures: string[]; num_labels: number };
  assert.deepEqual(cfg.architectures, ['LlamaForSequenceClassification']);
  assert.equal(cfg.num_labels, 1);
  const store = openStore(join(root, id, 'run.sqlite'), { readonly: true });
  try {
    const metric = (m: string) => store.evalMetrics().find((x) => x.metric === m)?.value;
    const acc = metric('reward_model/eval_accuracy');
    assert.ok(acc !== undefined && acc !== null && acc >= 0 && acc <= 1, `eval accuracy ${acc}`);
    assert.equal(metric('reward_model/train_accuracy'), 1, 'the training pairs are fit');
    const rm = store.stagesForRound(1).find((s) => s.kind === 'reward_model');
    const pairs = store.pairsForRound(1).length;
    assert.equal(rm?.counts?.pairs, pairs);
    assert.equal(rm?.counts?.held_out, Math.floor(pairs * 0.25));
    const samples = store.rlSamplesForRound(1);
    assert.equal(samples.length, 3 * 2 * 4);
    for (const s of samples) {
      assert.deepEqual(Object.keys(s.rewards), ['rm']);
      assert.ok(s.rewards.rm > 0 && s.rewards.rm < 1, 'sigmoid of the reward');
      assert.equal(s.reward, s.rewards.rm);
    }
  } finally {
    store.close();
  }
});

test('reward_model wiring mistakes are refused when the file is checked', () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(
    file,
    [
      'name: bad',
      'model: { path: builtin:tiny }',
      `prompts: { file: ${fromRoot('prompts/seed.jsonl')} }`,
      'judges:',
      '  rm: { kind: reward_model, trained: true }',
      '  both: { kind: reward_model, trained: true, path: x }',
      'stages:',
      '  - { kind: reward_model }',
      '  - { kind: rl, reward_judges: [rm] }',
      '',
    ].join('\n'),
  );
  const r = runCli(['validate', file, '--allow-path', fromRoot('.')], { env });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /bad\.yaml:6:\d+: reward model judge 'both' needs exactly one of path/);
  assert.match(r.stderr, /bad\.yaml:8:\d+: a reward_model stage trains on the round's pairs/);
  writeFileSync(
    file,
    readFileSync(file, 'utf8')
      .replace('  - { kind: reward_model }\n', '')
      .replace(/ {2}both: .*\n/, ''),
  );
  const r2 = runCli(['validate', file, '--allow-path', fromRoot('.')], { env });
  assert.notEqual(r2.status, 0);
  assert.match(r2.stderr, /reward judge 'rm' reads the reward model the round trains/);
});
