import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LineCounter, parseDocument } from 'yaml';
import type { PipelineFile } from '../../src/spec/read-file.js';
import { pipelineSchema } from '../../src/spec/schema.js';
import { Problems } from '../../src/spec/validate/problems.js';
import { reportIssue } from '../../src/spec/validate/zod-issues.js';

function fileOf(text: string): PipelineFile {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter });
  return { path: 'p.yaml', value: document.toJS(), lineCounter, document };
}

const HEAD = 'name: t\nmodel: { path: builtin:tiny }\nprompts: { file: p.jsonl }\n';

/** The schema's issues for HEAD + `rest`, in English, as `line:col: message`. */
function messages(rest: string): string[] {
  const file = fileOf(HEAD + rest);
  const out = new Problems(file);
  const parsed = pipelineSchema.safeParse(file.value, { reportInput: true });
  assert.ok(!parsed.success, 'the test file should be invalid');
  for (const issue of parsed.error.issues) reportIssue(out, file.value, issue, []);
  return out.sorted().map((p) => `${p.line}:${p.col}: ${p.message}`);
}

const KINDS = 'generate, critique, judge, pair, audit, train, reward_model, rl, evaluate';
const LOSSES = 'sigmoid, ipo, hinge, robust, sigmoid_norm, apo_zero, sft, simpo, orpo, kto';

describe('zod issues in English', () => {
  test('unknown key: did you mean, at the key', () => {
    assert.deepEqual(messages('stages: [{ kind: generate, temprature: 1 }]'), [
      "4:28: unknown key 'temprature' in the generate stage at stages[0] (did you mean 'temperature'?)",
    ]);
  });

  test('unknown key that belongs to another stage kind says which', () => {
    assert.deepEqual(messages('stages: [{ kind: pair, beta: 0.1 }]'), [
      "4:24: unknown key 'beta' in the pair stage at stages[0] (it is a setting of train and rl stages; " +
        'expected one of: kind, strategy, min_margin, length_control, soft_labels, soft_label_temperature, ' +
        'desirable_threshold, undesirable_threshold)',
    ]);
  });

  test('missing key: what it is, with its description', () => {
    assert.deepEqual(messages('stages: [{ kind: evaluate, probes: p }]'), [
      "4:10: missing required key 'judge' in the evaluate stage at stages[0] " +
        "(expected a string: Judge name from `judges` (a frozen anchor judge), or 'self')",
    ]);
  });

  test('wrong type: what was written and what fits there', () => {
    assert.deepEqual(messages('stages: [{ kind: generate, temperature: hot }]'), [
      "4:41: wrong type for stages[0].temperature: got the string 'hot' (expected a number >= 0)",
    ]);
  });

  test('out of range numbers, short lists, empty strings', () => {
    assert.deepEqual(messages('stages: [{ kind: generate, candidates: 0, top_p: 2 }]'), [
      '4:40: stages[0].candidates is 0, out of range (expected an integer >= 1)',
      '4:50: stages[0].top_p is 2, out of range (expected a number > 0 and <= 1)',
    ]);
    assert.deepEqual(messages('stages: []'), ['4:9: stages has 0 items (expected at least 1)']);
    assert.deepEqual(messages("stages: [{ kind: judge, rubric: '' }]"), [
      '4:33: stages[0].rubric is empty (expected a non-empty string)',
    ]);
  });

  test('invalid name: did you mean, or wrong type when it is not a string', () => {
    assert.deepEqual(messages('stages: [{ kind: pair, strategy: max-mn }]'), [
      "4:34: invalid stages[0].strategy 'max-mn' (did you mean 'max-min'?) " +
        '(expected one of: max-min, max-random, all-pairs-above-margin, revision, label)',
    ]);
    assert.deepEqual(messages('stages: [{ kind: pair, strategy: 3 }]'), [
      '4:34: wrong type for stages[0].strategy: got number 3 ' +
        '(expected one of: max-min, max-random, all-pairs-above-margin, revision, label)',
    ]);
  });

  test('discriminated union: unknown, missing or mistyped kind', () => {
    assert.deepEqual(messages('stages: [{ kind: jugde }]'), [
      `4:18: unknown kind 'jugde' in stages[0] (did you mean 'judge'?) (expected one of: ${KINDS})`,
    ]);
    assert.deepEqual(messages('stages: [{ candidates: 2 }]'), [
      `4:10: missing required key 'kind' in stages[0] (expected one of: ${KINDS})`,
    ]);
    assert.deepEqual(messages('stages: [5]'), [
      `4:10: wrong type for stages[0]: got number 5 (expected a mapping with kind: one of ${KINDS})`,
    ]);
  });

  test('plain union: the member that fits the value reports', () => {
    assert.deepEqual(messages('stages: [{ kind: train, loss: sigmod }]'), [
      `4:31: invalid stages[0].loss 'sigmod' (did you mean 'sigmoid'?) (expected one of: ${LOSSES})`,
    ]);
    assert.deepEqual(messages('stages: [{ kind: train, loss: [sigmoid, sfd] }]'), [
      `4:41: invalid stages[0].loss[1] 'sfd' (did you mean 'sft'?) (expected one of: ${LOSSES})`,
    ]);
    assert.deepEqual(messages('stages: [{ kind: train, loss: 3 }]'), [
      `4:31: wrong type for stages[0].loss: got number 3 (expected one of: ${LOSSES}, or a list of them)`,
    ]);
  });

  test('invalid record key and invalid format', () => {
    assert.deepEqual(
      messages(
        "judges: { '1bad': { kind: rule, rules: [{ kind: json_valid }] } }\nstages: [{ kind: generate }]",
      ),
      [
        "4:11: invalid judge name '1bad' (expected letters, digits, '_' or '-', starting with a letter)",
      ],
    );
    assert.deepEqual(
      messages(
        "judges: { s: { kind: openai, base_url: 'ftp://x', model: m } }\nstages: [{ kind: generate }]",
      ),
      ["4:40: invalid judges.s.base_url 'ftp://x' (expected an http:// or https:// URL)"],
    );
  });

  test('a custom issue keeps its own message, after the path', () => {
    assert.deepEqual(messages('stages: [{ kind: judge, judge: a, judges: [a], rubric: r }]'), [
      "4:32: stages[0].judge: both 'judge' and 'judges' are given " +
        '(expected judge: <name> or judges: [<names>], not both)',
    ]);
  });

  test('a base path places issues of a part parsed on its own', () => {
    const file = fileOf('judges:\n  x y:\n    kind: rule\n    rules: []\n');
    const out = new Problems(file);
    reportIssue(
      out,
      file.value,
      { code: 'custom', message: 'no rules', path: ['rules'], input: [] },
      ['judges', 'x y'],
    );
    assert.deepEqual(
      out.sorted().map((p) => [p.path, p.line, p.message]),
      [[['judges', 'x y', 'rules'], 4, 'judges["x y"].rules: no rules']],
    );
  });
});
