// backend: trl as the pipeline file says it: the trl settings parse with their defaults, an
// in-process train stage's parsed spec is unchanged (no backend or trl key appears), and what
// TRL's DPOTrainer cannot train is refused at file:line:col, as are trl settings without it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPipelineFile } from '../../src/spec/read-file.js';
import { checkPipeline } from '../../src/spec/validate/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'trl-spec-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** Problems of a pipeline whose train stage (line 10) has the given settings. */
function check(train: string) {
  const file = join(tmp, `p${n++}.yaml`);
  const yaml = [
    'name: trl',
    'model: { path: builtin:tiny }',
    'prompts: { file: prompts/seed.jsonl }',
    'judges:',
    '  len: { kind: rule, rules: [{ kind: length, max: 40 }] }',
    'stages:',
    '  - { kind: generate, candidates: 2 }',
    '  - { kind: judge, judge: len, rubric: r.hbs }',
    '  - { kind: pair }',
    `  - { kind: train, ${train} }`,
  ].join('\n');
  writeFileSync(file, yaml + '\n');
  const r = checkPipeline(readPipelineFile(file));
  return { ...r, lines: r.problems.map((p) => `${p.line}:${p.col}: ${p.message}`) };
}

test('backend trl with its settings parses; an engine stage keeps its parsed spec', () => {
  const r = check(
    'backend: trl, trl: { python: .venv/bin/python, launch: [accelerate, launch], args: { bf16: true } }',
  );
  assert.deepEqual(r.lines, []);
  const train = r.spec!.stages[3];
  assert.ok(train.kind === 'train');
  assert.equal(train.backend, 'trl');
  assert.deepEqual(train.trl, {
    python: '.venv/bin/python',
    launch: ['accelerate', 'launch'],
    dtype: 'float32',
    precompute_ref_log_probs: true,
    args: { bf16: true },
  });
  const plain = check('loss: sigmoid').spec!.stages[3];
  assert.ok(!('backend' in plain) && !('trl' in plain), 'no new keys in an engine stage');
});

test("what TRL's DPOTrainer cannot train is refused at its line", () => {
  assert.match(
    check('backend: trl, loss: simpo').lines.join('\n'),
    /^10:.*backend trl trains TRL's DPOTrainer losses .* not simpo/m,
  );
  assert.match(
    check('backend: trl, loss: kto').lines.join('\n'),
    /^10:.*loss kto cannot train with backend trl yet/m,
  );
  assert.match(
    check('backend: trl, soft_labels: true').lines.join('\n'),
    /^10:.*no per-pair soft labels/m,
  );
  assert.match(
    check('trl: { python: python3 }').lines.join('\n'),
    /^10:.*trl settings apply only to backend: trl/m,
  );
  assert.match(check('backend: torch').lines.join('\n'), /^10:.*backend/m);
});
