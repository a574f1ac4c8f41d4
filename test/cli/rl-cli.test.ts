// `pipeline rl` through the real executable: a short GRPO run writes a PEFT adapter,
// train_metrics.jsonl, samples.jsonl (every sample with its rewards and advantage) and one JSON
// metrics line per step with --json; a non-rule judge, a flag outside the stage's range and
// weights that do not match the judges are refused with the flag or file named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'rlaif-rl-cli-'));
const env = { RLAIF_CACHE_DIR: join(dir, 'cache') };
const judges = join(dir, 'judges.yaml');
writeFileSync(
  judges,
  'short: { kind: rule, rules: [{ kind: length, max: 30 }] }\n' +
    'clean: { kind: rule, rules: [{ kind: regex, pattern: "[0-9]", must: false }] }\n',
);
const base = ['rl', '--prompts', 'prompts/seed.jsonl', '--judge', judges];
const small = ['--steps', '2', '--num-generations', '2', '--prompts-per-step', '2'];

test('pipeline rl: adapter, step metrics and every sample on disk; --json prints one object per step', () => {
  const out = join(dir, 'out');
  const r = runCli(
    [...base, ...small, '--out', out, '--max-completion-length', '8', '--beta', '0.04', '--json'],
    { env, timeoutMs: 300_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);
  assert.equal(lines.length, 2);
  for (const m of lines)
    for (const k of ['loss', 'reward', 'rewards/short/mean', 'rewards/clean/mean', 'kl', 'entropy'])
      assert.equal(typeof m[k], 'number', k);
  assert.ok(existsSync(join(out, 'adapter_model.safetensors')));
  assert.ok(existsSync(join(out, 'adapter_config.json')));
  assert.equal(readFileSync(join(out, 'train_metrics.jsonl'), 'utf8').trim().split('\n').length, 2);
  const samples = readFileSync(join(out, 'samples.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { rewards: Record<string, number>; reward: number });
  assert.equal(samples.length, 2 * 2 * 2, 'steps x prompts x generations');
  for (const s of samples) assert.equal(s.reward, s.rewards.short + s.rewards.clean);
});

test('pipeline rl: bad input is refused before any work, naming what and where', () => {
  const model = join(dir, 'judge-model.yaml');
  writeFileSync(model, 'j: { kind: model, path: builtin:tiny }\n');
  const notRule = runCli(
    ['rl', '--prompts', 'prompts/seed.jsonl', '--judge', model, '--out', join(dir, 'x')],
    { env },
  );
  assert.notEqual(notRule.status, 0);
  assert.match(notRule.stderr, /judge 'j' is a model judge/);
  const range = runCli([...base, '--out', join(dir, 'y'), '--epsilon', '3'], { env });
  assert.notEqual(range.status, 0);
  assert.match(range.stderr, /--epsilon: Too big/);
  const weights = runCli([...base, '--out', join(dir, 'z'), '--reward-weights', '1'], { env });
  assert.notEqual(weights.status, 0);
  assert.match(weights.stderr, /--reward-weights has 1 weights for 2 judges/);
  const missing = runCli(
    ['rl', '--prompts', 'nope.jsonl', '--judge', judges, '--out', join(dir, 'w')],
    { env },
  );
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /nope\.jsonl/);
});
