// Training must learn, and what it saves must load back as the same model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

const env = { RLAIF_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rlaif-cache-')) };

function pairsFile(dir: string): string {
  const topics = ['the sea', 'mountains', 'a cat', 'rain', 'the moon', 'bread', 'music', 'trains'];
  const rows = topics.map((topic) => ({
    prompt: [{ role: 'user', content: `Tell me about ${topic}.` }],
    chosen: [{ role: 'assistant', content: `Here is a short, kind answer about ${topic}.` }],
    rejected: [{ role: 'assistant', content: 'No.' }],
  }));
  const file = join(dir, 'pairs.jsonl');
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}

type Score = { chosen_logps: number; rejected_logps: number };
const scores = (stdout: string): Score[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Score);

test('DPO on builtin:tiny drives rewards/accuracies to 1 with growing margins; the adapter prefers chosen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-learn-'));
  const data = pairsFile(dir);
  const out = join(dir, 'adapter');
  const r = runCli(
    [
      'train',
      '--model',
      'builtin:tiny',
      '--data',
      data,
      '--out',
      out,
      '--steps',
      '24',
      '--batch-size',
      '4',
      '--learning-rate',
      '2e-3',
      '--lr-schedule',
      'constant',
      '--lora-r',
      '8',
      '--lora-alpha',
      '16',
      '--beta',
      '0.1',
      '--merge',
      '--json',
    ],
    { env },
  );
  assert.equal(r.status, 0, r.stderr);
  const steps = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);
  assert.equal(steps.length, 24);
  const first = steps.slice(0, 3);
  const last = steps.slice(-3);
  for (const s of last) assert.equal(s['rewards/accuracies'], 1, JSON.stringify(s));
  const avg = (xs: Record<string, number>[], k: string) =>
    xs.reduce((a, s) => a + s[k], 0) / xs.length;
  assert.ok(
    avg(last, 'rewards/margins') > avg(first, 'rewards/margins') + 0.5,
    `margins ${avg(first, 'rewards/margins')} -> ${avg(last, 'rewards/margins')}`,
  );
  assert.ok(avg(last, 'loss') < avg(first, 'loss'));
  for (const s of steps)
    for (const k of [
      'loss',
      'grad_norm',
      'learning_rate',
      'logps/chosen',
      'logps/rejected',
      'tokens_per_s',
    ])
      assert.ok(Number.isFinite(s[k]), k);

  assert.ok(
    existsSync(join(out, 'adapter_config.json')) &&
      existsSync(join(out, 'adapter_model.safetensors')),
  );
  const base = runCli(['score', '--model', 'builtin:tiny', '--data', data, '--json'], { env });
  const tuned = runCli(
    ['score', '--model', 'builtin:tiny', '--adapter', out, '--data', data, '--json'],
    { env },
  );
  const merged = runCli(['score', '--model', join(out, 'merged'), '--data', data, '--json'], {
    env,
  });
  for (const x of [base, tuned, merged]) assert.equal(x.status, 0, x.stderr);
  const b = scores(base.stdout);
  const a = scores(tuned.stdout);
  const m = scores(merged.stdout);
  a.forEach((s, i) => {
    assert.ok(
      s.chosen_logps - s.rejected_logps > b[i].chosen_logps - b[i].rejected_logps,
      `pair ${i} margin did not grow`,
    );
    // the merged checkpoint is the same model as base + adapter
    assert.ok(Math.abs(m[i].chosen_logps - s.chosen_logps) < 1e-3 * Math.abs(s.chosen_logps));
    assert.ok(Math.abs(m[i].rejected_logps - s.rejected_logps) < 1e-3 * Math.abs(s.rejected_logps));
  });
  // the adapter's margin in nats matches what training reported at its last step (rewards = β·Δlogp)
  const lastMargin = steps[steps.length - 1]['rewards/margins'] / 0.1;
  const scoredMargin =
    a.reduce(
      (acc, s, i) =>
        acc + (s.chosen_logps - s.rejected_logps) - (b[i].chosen_logps - b[i].rejected_logps),
      0,
    ) / a.length;
  assert.ok(
    Math.abs(scoredMargin - lastMargin) < Math.max(2, 0.5 * Math.abs(lastMargin)),
    `${scoredMargin} vs ${lastMargin}`,
  );
});

test('continuing an adapter with --adapter starts from its weights', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-cont-'));
  const data = pairsFile(dir);
  const one = runCli(
    [
      'train',
      '--data',
      data,
      '--out',
      join(dir, 'a1'),
      '--steps',
      '4',
      '--learning-rate',
      '2e-3',
      '--lr-schedule',
      'constant',
      '--json',
    ],
    { env },
  );
  assert.equal(one.status, 0, one.stderr);
  const two = runCli(
    [
      'train',
      '--data',
      data,
      '--adapter',
      join(dir, 'a1'),
      '--out',
      join(dir, 'a2'),
      '--steps',
      '1',
      '--learning-rate',
      '2e-3',
      '--json',
    ],
    { env },
  );
  assert.equal(two.status, 0, two.stderr);
  const firstOfTwo = JSON.parse(two.stdout.trim().split('\n')[0]) as Record<string, number>;
  // reference = base without adapter, so a continued adapter starts with a non-zero margin
  assert.ok(firstOfTwo['rewards/margins'] > 0, JSON.stringify(firstOfTwo));
  assert.match(two.stderr, /continuing adapter/);
});
