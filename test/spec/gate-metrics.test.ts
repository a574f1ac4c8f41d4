// A gate on a metric the evaluate stage never computes can never fire: `validate` and `run`
// refuse it at its file:line:col, naming the metric and the metrics that exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';

/** A one-round pipeline in a temp folder whose evaluate stage has `gate` (one YAML line). */
function pipelineWithGate(gate: string, extra = ''): { file: string; line: number } {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-gate-metric-'));
  const lines = [
    'name: gate-metric',
    'model: { path: builtin:tiny }',
    `prompts: { file: ${fromRoot('prompts/seed.jsonl')} }`,
    'judges: { rules: { kind: rule, rules: [{ kind: length, max: 40 }] } }',
    'stages:',
    '  - { kind: generate, candidates: 2, max_new_tokens: 8 }',
    `  - { kind: judge, judge: rules, rubric: ${fromRoot('rubrics/additive-5pt.hbs')} }`,
    '  - kind: evaluate',
    `    probes: ${fromRoot('prompts/probes.jsonl')}`,
    '    judge: rules',
    ...(extra ? [extra] : []),
    '    gates:',
    `      - { metric: ${gate}, op: '<', value: 0.5 }`,
  ];
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, lines.join('\n') + '\n');
  return { file, line: lines.length };
}

test('a gate on judge_agreement needs the policy to judge itself; validate and run refuse it otherwise', () => {
  const { file, line } = pipelineWithGate('judge_agreement');
  const v = runCli(['validate', file]);
  assert.equal(v.status, 1, v.stderr);
  assert.ok(
    v.stderr.includes(
      `${file}:${line}:19: gate metric 'judge_agreement' is never computed: its judge stage does not judge with 'self'`,
    ),
    v.stderr,
  );
  assert.match(v.stderr, /expected a judge stage where the policy scores answers by a rubric/);

  const root = mkdtempSync(join(tmpdir(), 'rlaif-gate-runs-'));
  const r = runCli(['run', file, '--root', join(root, 'runs')]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /gate metric 'judge_agreement' is never computed/);
  assert.equal(existsSync(join(root, 'runs')), false, 'no run folder was created');

  // the same gate with the policy as its judge is fine
  const selfJudged = readFileSync(file, 'utf8').replace(
    'judge: rules, rubric',
    'judge: self, rubric',
  );
  writeFileSync(file, selfJudged);
  const ok = runCli(['validate', file]);
  assert.equal(ok.status, 0, ok.stderr);
});

test('a gate on a phrase rate needs the stage to have the phrase file', () => {
  const bare = pipelineWithGate('refusal_rate');
  const v = runCli(['validate', bare.file]);
  assert.equal(v.status, 1, v.stderr);
  assert.match(
    v.stderr,
    /:\d+:19: gate metric 'refusal_rate' is never computed: this evaluate stage has no refusal_phrases file/,
  );
  const withFile = pipelineWithGate(
    'refusal_rate',
    `    refusal_phrases: ${fromRoot('prompts/refusal-phrases.txt')}`,
  );
  const ok = runCli(['validate', withFile.file]);
  assert.equal(ok.status, 0, ok.stderr);
});

test('judge-vs-human gates need an audit stage, and an audit stage needs pairs before it', () => {
  const { file, line } = pipelineWithGate('judge_human_kappa');
  const v = runCli(['validate', file]);
  assert.equal(v.status, 1, v.stderr);
  assert.ok(
    v.stderr.includes(
      `${file}:${line}:19: gate metric 'judge_human_kappa' is never computed: the pipeline has no audit stage`,
    ),
    v.stderr,
  );
  // an audit stage right after the judge stage: no pairs to draw from yet
  const judgeLine = '  - { kind: judge, judge: rules, rubric: ';
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf('\n', text.indexOf(judgeLine)) + 1;
  writeFileSync(file, text.slice(0, at) + '  - { kind: audit, sample: 4 }\n' + text.slice(at));
  const early = runCli(['validate', file]);
  assert.equal(early.status, 1, early.stderr);
  assert.match(
    early.stderr,
    /an audit stage draws from the round's pairs \(expected a pair stage before it, not only a label stage\)/,
  );
  const paired = readFileSync(file, 'utf8').replace(
    '  - { kind: audit, sample: 4 }\n',
    '  - { kind: pair, min_margin: 0.1 }\n  - { kind: audit, sample: 4 }\n',
  );
  // a label stage (KTO) makes no pairs: an audit after it alone has nothing to draw
  writeFileSync(
    file,
    paired.replace(
      '{ kind: pair, min_margin: 0.1 }',
      '{ kind: pair, strategy: label, desirable_threshold: 0.7, undesirable_threshold: 0.3 }',
    ),
  );
  const labelOnly = runCli(['validate', file]);
  assert.equal(labelOnly.status, 1, labelOnly.stderr);
  assert.match(labelOnly.stderr, /expected a pair stage before it, not only a label stage/);
  writeFileSync(file, paired);
  const ok = runCli(['validate', file]);
  assert.equal(ok.status, 0, ok.stderr);
});
