// `pair: { strategy: revision }`: each critique revision is paired (chosen) against the answer it
// revised (rejected), trained on with the round's other pairs; without a critique stage before
// it, validate refuses the stage.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'revision-pairs-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const header = [
  'name: revision-pairs',
  'seed: 11',
  'model: { path: builtin:tiny }',
  'rounds: 1',
  `prompts: { file: ${fromRoot('prompts', 'seed.jsonl')}, per_round: 3 }`,
  'judges: { len: { kind: rule, rules: [{ kind: length, max: 30 }, { kind: length, max: 60 }] } }',
  'stages:',
  '  - { kind: generate, candidates: 2, max_new_tokens: 12 }',
];
const critique = [
  '  - kind: critique',
  `    constitution: ${fromRoot('constitutions', 'helpful-harmless.md')}`,
  `    critique_rubric: ${fromRoot('rubrics', 'critique.hbs')}`,
  `    revision_rubric: ${fromRoot('rubrics', 'revision.hbs')}`,
  '    max_new_tokens: 12',
];
const rest = [
  `  - { kind: judge, judge: len, rubric: ${fromRoot('rubrics', 'additive-5pt.hbs')} }`,
  '  - { kind: pair, strategy: max-min, min_margin: 0.1 }',
  '  - { kind: pair, strategy: revision }',
  '  - { kind: train, loss: sigmoid, learning_rate: 1.0e-3, max_steps: 2, batch_size: 2 }',
];

function write(name: string, lines: string[]): string {
  const file = join(tmp, name);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

test('every revision becomes a pair over its original, with its principle and critique traced', () => {
  const root = join(tmp, 'runs');
  const r = runCli(['run', write('cai.yaml', [...header, ...critique, ...rest]), '--root', root]);
  assert.equal(r.status, 0, r.stderr);
  const db = new Database(join(root, readdirSync(root)[0], 'run.sqlite'), { readonly: true });
  try {
    const pairs = db
      .prepare(
        `SELECT p.id, ch.origin AS chosenOrigin, ch.parent_candidate_id AS parent, ch.meta AS meta,
                p.rejected_candidate_id AS rejected, rj.origin AS rejectedOrigin
         FROM pairs p JOIN candidates ch ON ch.id = p.chosen_candidate_id
         JOIN candidates rj ON rj.id = p.rejected_candidate_id
         WHERE p.strategy = 'revision'`,
      )
      .all() as {
      chosenOrigin: string;
      parent: string;
      meta: string;
      rejected: string;
      rejectedOrigin: string;
    }[];
    const revisions = db
      .prepare("SELECT count(*) AS n FROM candidates WHERE origin = 'revision'")
      .get() as { n: number };
    assert.equal(revisions.n, 3, 'one revision per prompt');
    assert.equal(pairs.length, 3, 'one revision pair per revision');
    for (const p of pairs) {
      assert.equal(p.chosenOrigin, 'revision');
      assert.equal(p.rejectedOrigin, 'sample');
      assert.equal(p.rejected, p.parent, 'the rejected answer is the one the revision revised');
      const meta = JSON.parse(p.meta) as { principle?: string; critique?: string };
      assert.ok(meta.principle && typeof meta.critique === 'string', p.meta);
    }
    const train = db.prepare("SELECT counts FROM stage_runs WHERE kind = 'train'").get() as {
      counts: string;
    };
    const all = db.prepare('SELECT count(*) AS n FROM pairs').get() as { n: number };
    assert.equal(JSON.parse(train.counts).pairs, all.n, 'training read both pair stages');
  } finally {
    db.close();
  }
});

test('a revision pair stage without a critique stage before it is a validation error', () => {
  const file = write('no-critique.yaml', [...header, ...rest]);
  const v = runCli(['validate', file]);
  assert.equal(v.status, 1, v.stderr);
  // at the strategy's value: line 11 is the revision pair stage, column 29 its `revision`
  assert.ok(
    v.stderr.includes(
      `${file}:11:29: a revision pair stage needs revisions (expected a critique stage before it)`,
    ),
    v.stderr,
  );
});
