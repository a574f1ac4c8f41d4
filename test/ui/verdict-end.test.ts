// The end of a run says plainly what happened (issue 13): the plain summary leads with the
// objective and its verdict, then the worst regressions; the judge stage's parse_failures is
// the summary's count; a failed run's error is left to the CLI, which prints it once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelineEvent, RunVerdict } from '../../src/events.js';
import { createPlainReporter } from '../../src/ui/plain-reporter.js';
import { clock } from './script.js';

const WORSE: RunVerdict = {
  metric: 'mean_score',
  judge: 'format',
  fromRound: 0,
  toRound: 2,
  from: 0.7,
  to: 0.35,
  word: 'worse',
  threshold: 0.02,
  regressions: [
    { metric: 'violation/harm', from: 0, to: 0.25, worse: null },
    { metric: 'refusal_rate', from: 0.1, to: 0.3, worse: 2 },
  ],
};

function run(events: (c: ReturnType<typeof clock>) => PipelineEvent[]) {
  let err = '';
  let out = '';
  const r = createPlainReporter({ err: (s) => (err += s), out: (s) => (out += s) });
  for (const e of events(clock())) r.sink(e);
  return { err, out };
}

const start = {
  type: 'run-start' as const,
  name: 'x',
  rounds: 2,
  stages: ['judge' as const],
  resumed: false,
  dir: 'd',
};

test('the summary leads with the objective, the word and its threshold, then the regressions', () => {
  const { out } = run((c) => [
    c.ev(start),
    c.at(1000).ev({ type: 'run-end', status: 'finished', seconds: 1, verdict: WORSE }),
  ]);
  const lines = out.split('\n');
  assert.equal(
    lines[0],
    'WORSE: mean_score (anchor judge format) 0.7 → 0.35 (Δ -0.35, round 0 → 2; |Δ| < 0.02 counts as unchanged)',
  );
  assert.equal(
    lines[1],
    'biggest regressions: violation/harm 0 → 0.25 (from 0), refusal_rate 0.1 → 0.3 (200% worse)',
  );
  assert.match(lines[2], /^x \(run-1\): finished in 1\.0s/);
});

test("the summary's parse failures are the judge stage's parse_failures, not the events seen", () => {
  // three samples per candidate: the stage stored 6 failed judgements of 9; two events arrived
  const { out, err } = run((c) => [
    c.ev(start),
    c.ev({ type: 'round-start', round: 1, policy: 'M0' }),
    c.ev({ type: 'stage-start', round: 1, stage: 0, kind: 'judge', total: 3 }),
    c.ev({
      type: 'judgement',
      round: 1,
      judge: 'self',
      promptId: 'p1',
      parseError: 'no score',
      text: '?',
    }),
    c.ev({
      type: 'judgement',
      round: 1,
      judge: 'self',
      promptId: 'p2',
      parseError: 'no score',
      text: '?',
    }),
    c.ev({
      type: 'stage-end',
      round: 1,
      stage: 0,
      kind: 'judge',
      status: 'done',
      seconds: 1,
      counts: { judgements: 9, reused: 0, parse_failures: 6, inconsistent: 0 },
    }),
    c.ev({ type: 'round-end', round: 1, seconds: 1 }),
    c.at(2000).ev({ type: 'run-end', status: 'finished', seconds: 2 }),
  ]);
  assert.match(
    err,
    /judge: done in 1\.0s \(judgements 9, reused 0, parse_failures 6, inconsistent 0\)/,
  );
  assert.match(out, /^round 1: parse_failures 6 of 9 judgements$/m);
  assert.doesNotMatch(out, /unparseable/);
});

test('a failed run: the run-end line and the summary do not repeat the error', () => {
  const { out, err } = run((c) => [
    c.ev(start),
    c.at(1000).ev({ type: 'run-end', status: 'failed', seconds: 1, error: 'model not found' }),
  ]);
  assert.doesNotMatch(err + out, /model not found/);
  assert.match(err, /^run failed in 1\.0s$/m);
});
