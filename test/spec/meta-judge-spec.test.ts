// The judge stage's `meta_judge` options (Meta-Rewarding): defaults, the cross-field rules
// (mode generate, samples >= 2, the 'self' judge), and the meta-rubric's mode check.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPipelineError } from '../../src/core/errors.js';
import { checkRubricUse, loadRubric } from '../../src/prompts/rubric.js';
import { readPipelineFile } from '../../src/spec/read-file.js';
import { checkPipeline } from '../../src/spec/validate/index.js';
import { fromRoot } from '../helpers/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'meta-judge-spec-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function check(judge: string) {
  const file = join(tmp, `p${n++}.yaml`);
  const yaml = [
    'name: meta',
    'model: { path: builtin:tiny }',
    'prompts: { file: prompts/seed.jsonl }',
    'judges:',
    '  other: { kind: rule, rules: [{ kind: length, max: 5 }] }',
    'stages:',
    '  - kind: generate',
    judge,
  ].join('\n');
  writeFileSync(file, yaml + '\n');
  const r = checkPipeline(readPipelineFile(file));
  return { ...r, lines: r.problems.map((p) => `${p.line}:${p.col}: ${p.message}`) };
}

test('meta_judge: options get their defaults', () => {
  const r = check(
    '  - { kind: judge, rubric: rubrics/sandbox-5pt.hbs, samples: 3, meta_judge: { rubric: rubrics/meta-judge.hbs } }',
  );
  assert.deepEqual(r.problems, []);
  const stage = r.spec!.stages[1];
  assert.ok(stage.kind === 'judge');
  assert.deepEqual(stage.meta_judge, {
    rubric: 'rubrics/meta-judge.hbs',
    responses: 'max-variance',
    battles: 'position-weighted',
    length_control: true,
  });
});

test('meta_judge: refused with a clear message outside mode generate, with one sample, or without self', () => {
  const pairwise = check(
    '  - { kind: judge, rubric: r.hbs, mode: pairwise, meta_judge: { rubric: m.hbs } }',
  );
  assert.deepEqual(pairwise.lines, [
    '8:41: meta_judge compares sampled judgements, but this stage judges in mode pairwise ' +
      '(expected mode: generate with samples >= 2, or no meta_judge)',
  ]);
  const one = check(
    '  - { kind: judge, rubric: r.hbs, samples: 1, meta_judge: { rubric: m.hbs } }',
  );
  assert.deepEqual(one.lines, [
    '8:44: meta_judge compares two judgements of one answer, but this stage samples 1 ' +
      '(expected samples >= 2)',
  ]);
  const other = check(
    '  - { kind: judge, judge: other, rubric: r.hbs, meta_judge: { rubric: m.hbs } }',
  );
  assert.equal(other.lines.length, 1);
  assert.match(
    other.lines[0],
    /^8:\d+: meta_judge judges the policy's own judgements, but 'self' is not a judge of this stage \(expected judges to include 'self'\)$/,
  );
  const bad = check(
    '  - { kind: judge, rubric: r.hbs, meta_judge: { rubric: m.hbs, max_battles: 0, length_control: maybe } }',
  );
  assert.equal(bad.lines.length, 2, bad.lines.join('\n'));
  assert.ok(bad.lines.some((l) => /max_battles/.test(l)));
  assert.ok(bad.lines.some((l) => /length_control/.test(l)));
});

test('meta_judge: the shipped meta-rubric is a meta-judge rubric; a pointwise one is refused there', () => {
  const meta = loadRubric(fromRoot('rubrics', 'meta-judge.hbs'));
  assert.equal(meta.mode, 'meta-judge');
  assert.equal(meta.format.kind, 'verdict');
  checkRubricUse(meta, 'meta-judge');
  assert.throws(
    () => checkRubricUse(loadRubric(fromRoot('rubrics', 'sandbox-5pt.hbs')), 'meta-judge'),
    (e) => isPipelineError(e) && e.code === 'E_RUBRIC_MODE' && /meta-judge\.hbs/.test(e.hint ?? ''),
  );
});
