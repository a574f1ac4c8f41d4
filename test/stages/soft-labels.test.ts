// Soft labels end to end: the pair stage keeps p = σ(gap / T) on each pair, the train stage feeds
// them to the sigmoid loss (the run's losses differ from hard-label training from the second step
// on: at step 1 policy = reference and every p gives log 2), export writes them, and validate
// refuses soft-label training that has no labels to read or a loss that cannot use them.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'soft-labels-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function pipeline(name: string, pair: string, train: string, loss = 'sigmoid'): string {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `name: ${name}`,
      'seed: 5',
      'model: { path: builtin:tiny }',
      'rounds: 1',
      `prompts: { file: ${fromRoot('prompts', 'seed.jsonl')}, per_round: 4 }`,
      'judges:',
      '  len:',
      '    kind: rule',
      '    rules: [{ kind: length, max: 20 }, { kind: length, max: 35 }, { kind: length, max: 50 }]',
      'stages:',
      '  - { kind: generate, candidates: 3, max_new_tokens: 16 }',
      `  - { kind: judge, judge: len, rubric: ${fromRoot('rubrics', 'additive-5pt.hbs')} }`,
      `  - { kind: pair, strategy: all-pairs-above-margin, min_margin: 0.1${pair} }`,
      `  - { kind: train, loss: ${loss}, beta: 1.0, learning_rate: 1.0e-2, max_steps: 3, batch_size: 4${train} }`,
    ].join('\n') + '\n',
  );
  return file;
}

function run(file: string) {
  const root = join(tmp, `runs-${readdirSync(tmp).length}`);
  const r = runCli(['run', file, '--root', root], { timeoutMs: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const id = readdirSync(root)[0];
  const db = new Database(join(root, id, 'run.sqlite'), { readonly: true });
  try {
    const pairs = db
      .prepare('SELECT chosen_score AS c, rejected_score AS r, soft_label AS p FROM pairs')
      .all() as { c: number; r: number; p: number | null }[];
    const losses = (
      db.prepare('SELECT metrics FROM train_steps ORDER BY step').all() as { metrics: string }[]
    ).map((s) => (JSON.parse(s.metrics) as { loss: number }).loss);
    return { root, id, pairs, losses };
  } finally {
    db.close();
  }
}

test('pairs keep σ(gap / T), training reads them, export writes them', () => {
  const soft = run(
    pipeline('soft', ', soft_labels: true, soft_label_temperature: 0.25', ', soft_labels: true'),
  );
  assert.ok(soft.pairs.length > 0);
  for (const p of soft.pairs) {
    const want = 1 / (1 + Math.exp(-(p.c - p.r) / 0.25));
    assert.ok(p.p !== null && Math.abs(p.p - want) < 1e-12, `soft label ${p.p} vs ${want}`);
    assert.ok(p.p < 1, 'a soft label below 1, or the test shows nothing');
  }
  // the same pairs with hard labels: the same first step (h = 0, log 2), then other steps
  const hard = run(pipeline('hard', ', soft_labels: true, soft_label_temperature: 0.25', ''));
  assert.equal(hard.losses.length, 3);
  assert.ok(
    Math.abs(soft.losses[0] - Math.LN2) < 1e-5 && Math.abs(hard.losses[0] - Math.LN2) < 1e-5,
  );
  assert.notEqual(soft.losses[1], hard.losses[1], 'soft labels changed the update');

  const exported = runCli(['export', soft.id, '--root', soft.root, '--format', 'trl']);
  assert.equal(exported.status, 0, exported.stderr);
  const rows = exported.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { soft_label?: number });
  assert.deepEqual(
    rows.map((r) => r.soft_label),
    soft.pairs.map((p) => p.p),
  );
});

test('soft-label training without labels, or with a loss that cannot use them, is refused', () => {
  const noLabels = runCli(['validate', pipeline('no-labels', '', ', soft_labels: true')]);
  assert.equal(noLabels.status, 1);
  assert.match(noLabels.stderr, /no pair stage before this train stage keeps soft labels/);
  const ipo = runCli([
    'validate',
    pipeline('ipo', ', soft_labels: true', ', soft_labels: true', 'ipo'),
  ]);
  assert.equal(ipo.status, 1);
  assert.match(ipo.stderr, /soft labels train the sigmoid \(DPO\) loss, but this stage trains ipo/);
});
