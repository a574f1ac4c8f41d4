// Judges on one scale, end to end: a 0–5 self-judge and a 0–1 rule judge, weighted 3 : 1; each
// stored pair's scores are the weighted mean of the judges' normalized scores, recomputed here
// from the stored judgements. Weights that name no judge of the stage, or weigh a median, are
// refused by validate.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'judge-mix-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function pipeline(name: string, judgeExtra: string): string {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `name: ${name}`,
      'seed: 8',
      'model: { path: builtin:sandbox }',
      'rounds: 1',
      `prompts: { file: ${fromRoot('prompts', 'sandbox-train.jsonl')}, per_round: 4 }`,
      'judges: { len: { kind: rule, rules: [{ kind: length, max: 8 }, { kind: length, max: 30 }] } }',
      'stages:',
      '  - { kind: generate, candidates: 3, max_new_tokens: 24 }',
      `  - { kind: judge, judges: [self, len], rubric: ${fromRoot('rubrics', 'sandbox-5pt.hbs')}, samples: 1, max_new_tokens: 40${judgeExtra} }`,
      '  - { kind: pair, strategy: max-min, min_margin: 0.01 }',
    ].join('\n') + '\n',
  );
  return file;
}

test("pair scores are the weighted mean of the judges' 0-1 scores", () => {
  const root = join(tmp, 'runs');
  const r = runCli(['run', pipeline('mix', ', weights: { self: 3 }'), '--root', root]);
  assert.equal(r.status, 0, r.stderr);
  const db = new Database(join(root, readdirSync(root)[0], 'run.sqlite'), { readonly: true });
  try {
    const judged = (cand: string, judge: string) =>
      (
        db
          .prepare('SELECT score FROM judgements WHERE candidate_id = ? AND judge_id = ?')
          .get(cand, judge) as { score: number | null } | undefined
      )?.score ?? null;
    const pairs = db
      .prepare(
        `SELECT chosen_candidate_id AS c, rejected_candidate_id AS r, chosen_score AS cs,
           rejected_score AS rs FROM pairs`,
      )
      .all() as { c: string; r: string; cs: number; rs: number }[];
    assert.ok(pairs.length > 0, 'pairs formed');
    const combined = (cand: string) => {
      const self = judged(cand, 'self');
      const len = judged(cand, 'len')!;
      // the sandbox rubric's scale is [0, 5]; the rule judge's [0, 1]
      return self === null ? len : (3 * (self / 5) + len) / 4;
    };
    for (const p of pairs) {
      assert.ok(Math.abs(p.cs - combined(p.c)) < 1e-12, `chosen ${p.cs} vs ${combined(p.c)}`);
      assert.ok(Math.abs(p.rs - combined(p.r)) < 1e-12, `rejected ${p.rs} vs ${combined(p.r)}`);
      assert.ok(p.cs <= 1 && p.rs >= 0);
    }
  } finally {
    db.close();
  }
});

test('weights must name judges of the stage and weigh a mean', () => {
  const unknown = runCli(['validate', pipeline('unknown', ', weights: { anchor: 2 }')]);
  assert.equal(unknown.status, 1);
  assert.match(
    unknown.stderr,
    /weight for 'anchor', which is not a judge of this stage \(expected one of: self, len\)/,
  );
  const median = runCli([
    'validate',
    pipeline('median', ', weights: { self: 2 }, combine: majority'),
  ]);
  assert.equal(median.status, 1);
  assert.match(median.stderr, /weights weigh a mean, but this stage combines by majority/);
});
