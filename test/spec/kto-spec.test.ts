// KTO in the loop, as the pipeline file says it: a pair stage with strategy label needs both
// thresholds (undesirable below desirable) and takes no pair settings; a train stage with loss
// kto needs a label stage before it, trains alone and takes no pair-loss settings; a pair loss
// after a label stage only has nothing to train on. Each problem at file:line:col.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPipelineFile } from '../../src/spec/read-file.js';
import { stageSchema } from '../../src/spec/schema.js';
import { checkPipeline } from '../../src/spec/validate/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'kto-spec-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** Problems of a pipeline whose stages 3 and 4 (lines 10 and 11) are `pair` and `train`. */
function check(pair: string, train: string, judge = '') {
  const file = join(tmp, `p${n++}.yaml`);
  const yaml = [
    'name: kto',
    'model: { path: builtin:tiny }',
    'prompts: { file: prompts/seed.jsonl }',
    'judges:',
    '  len: { kind: rule, rules: [{ kind: length, max: 40 }] }',
    'stages:',
    '  - { kind: generate, candidates: 1 }',
    `  - { kind: judge, judge: len, rubric: r.hbs${judge} }`,
    `  - { kind: pair, ${pair} }`,
    `  - { kind: train, ${train} }`,
  ].join('\n');
  writeFileSync(file, yaml + '\n');
  const r = checkPipeline(readPipelineFile(file));
  return { ...r, lines: r.problems.map((p) => `${p.line}:${p.col}: ${p.message}`) };
}

const LABEL = 'strategy: label, desirable_threshold: 0.7, undesirable_threshold: 0.3';

test('a label stage and a kto train stage validate, one candidate per prompt is enough', () => {
  const r = check(LABEL, 'loss: kto, desirable_weight: 1.5, undesirable_weight: 0.5');
  assert.deepEqual(r.lines, []);
  const [, , pair, train] = r.spec!.stages;
  assert.ok(pair.kind === 'pair' && train.kind === 'train');
  assert.equal(pair.desirable_threshold, 0.7);
  assert.equal(pair.undesirable_threshold, 0.3);
  assert.deepEqual(train.loss, ['kto']);
  assert.equal(train.desirable_weight, 1.5);
  assert.equal(train.undesirable_weight, 0.5);
});

test('the options are absent unless written, so other pipelines parse (and hash) as before', () => {
  const pair = stageSchema.parse({ kind: 'pair' });
  const train = stageSchema.parse({ kind: 'train' });
  assert.deepEqual(Object.keys(pair), [
    'kind',
    'strategy',
    'min_margin',
    'length_control',
    'soft_labels',
    'soft_label_temperature',
  ]);
  assert.equal('desirable_weight' in train || 'undesirable_weight' in train, false);
});

test('strategy label needs both thresholds, undesirable below desirable, and no pair settings', () => {
  assert.deepEqual(check('strategy: label, desirable_threshold: 0.7', 'loss: kto').lines, [
    "9:29: strategy label needs undesirable_threshold (expected scores on the judges' 0-1 scale, " +
      'e.g. desirable_threshold: 0.7, undesirable_threshold: 0.3)',
  ]);
  assert.deepEqual(
    check('strategy: label, desirable_threshold: 0.5, undesirable_threshold: 0.5', 'loss: kto')
      .lines,
    [
      '9:85: undesirable_threshold 0.5 is not below desirable_threshold 0.5, so a score could be ' +
        'both (expected undesirable_threshold < desirable_threshold)',
    ],
  );
  assert.deepEqual(check(`${LABEL}, min_margin: 0.2`, 'loss: kto').lines, [
    '9:90: min_margin shapes preference pairs, but strategy label makes no pairs ' +
      '(expected no min_margin with strategy: label)',
  ]);
  assert.deepEqual(
    check(
      'strategy: all-pairs-above-margin, desirable_threshold: 0.7',
      'loss: sigmoid',
    ).lines.filter((l) => /threshold/.test(l)),
    [
      "9:53: desirable_threshold labels candidates for KTO, but this pair stage's strategy is " +
        'all-pairs-above-margin (expected strategy: label, or no desirable_threshold)',
    ],
  );
});

test('loss kto needs labels, trains alone, and takes no pair-loss settings', () => {
  assert.deepEqual(
    check('strategy: revision', 'loss: kto').lines.filter((l) => /kto/.test(l)),
    [
      "10:26: loss kto trains on the round's desirable/undesirable labels, but no pair stage before " +
        'it makes them (expected a pair stage with strategy: label before this train stage)',
    ],
  );
  assert.deepEqual(check(LABEL, 'loss: [kto, sft]').lines, [
    '10:26: loss kto trains on unpaired labels and cannot be combined with sft (expected loss: kto alone)',
  ]);
  assert.deepEqual(check(LABEL, 'loss: kto, label_smoothing: 0.1').lines, [
    '10:31: label_smoothing applies to pair losses, but this stage trains kto (expected no ' +
      'label_smoothing; weigh the labels with desirable_weight / undesirable_weight)',
  ]);
  assert.deepEqual(check(LABEL, 'loss: kto, batch_size: 1').lines, [
    '10:43: loss kto estimates its KL term from the other rows of a batch, but batch_size is 1 ' +
      '(expected batch_size >= 2)',
  ]);
  assert.deepEqual(check(LABEL, 'loss: kto, human_labels: override').lines, [
    '10:45: human_labels: override replaces audited pairs, but loss kto trains on labels ' +
      '(expected human_labels: ignore)',
  ]);
});

test('a pair loss after a label stage has no pairs; KTO weights need loss kto', () => {
  assert.deepEqual(check(LABEL, 'loss: sigmoid').lines, [
    '10:26: loss sigmoid trains on preference pairs, but the pair stage before it has strategy ' +
      'label, which makes KTO labels (expected loss: kto, or a pair stage with another strategy)',
  ]);
  assert.deepEqual(
    check('strategy: max-min', 'loss: sigmoid, desirable_weight: 2').lines.filter((l) =>
      /weight/.test(l),
    ),
    [
      "10:35: desirable_weight weighs KTO's labels, but this stage trains sigmoid " +
        '(expected loss: kto, or no desirable_weight)',
    ],
  );
});
