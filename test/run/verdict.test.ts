// The run's verdict (src/run/verdict.ts): the anchor judge's mean_score, round 0 against the last
// evaluated round, in one word with a threshold scaled to the rubric, and the worst regressions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REGRESSIONS_SHOWN, VERDICT_TOLERANCE, runVerdict } from '../../src/run/verdict.js';
import { verdictLines } from '../../src/ui/verdict-lines.js';

type Row = Parameters<typeof runVerdict>[0][number];
const row = (round: number, metric: string, value: number | null, detail = null as Row['detail']) =>
  ({ round, metric, value, stageIndex: 4, detail }) satisfies Row;
const score = (round: number, value: number, scale = [0, 1]) =>
  row(round, 'mean_score', value, { judge: 'format', scale });

test('the default run: probe score 0.70 → 0.35 is worse, with the threshold it used', () => {
  const v = runVerdict([score(0, 0.7), score(1, 0.5), score(2, 0.35)])!;
  assert.equal(v.word, 'worse');
  assert.deepEqual([v.fromRound, v.toRound, v.from, v.to, v.judge], [0, 2, 0.7, 0.35, 'format']);
  assert.equal(v.threshold, VERDICT_TOLERANCE);
});

test('|Δ| under 2% of the scale is unchanged; at or over it, improved or worse', () => {
  // 0–1 scale: threshold 0.02
  assert.equal(runVerdict([score(0, 0.5), score(1, 0.519)])!.word, 'unchanged');
  assert.equal(runVerdict([score(0, 0.5), score(1, 0.481)])!.word, 'unchanged');
  assert.equal(runVerdict([score(0, 0.5), score(1, 0.53)])!.word, 'improved');
  // 1–5 scale: threshold 0.02 · 4 = 0.08, so +0.05 is unchanged and +0.1 improved
  assert.equal(runVerdict([score(0, 3, [1, 5]), score(1, 3.05, [1, 5])])!.word, 'unchanged');
  const up = runVerdict([score(0, 3, [1, 5]), score(1, 3.1, [1, 5])])!;
  assert.equal(up.word, 'improved');
  assert.ok(Math.abs(up.threshold - 0.08) < 1e-12);
});

test('no verdict without round 0 and a later round', () => {
  assert.equal(runVerdict([]), null);
  assert.equal(runVerdict([score(0, 0.5)]), null);
  assert.equal(runVerdict([score(1, 0.5), score(2, 0.6)]), null);
});

test('regressions: the bad direction only, largest relative change first, at most 3', () => {
  const v = runVerdict([
    score(0, 0.5),
    score(2, 0.5),
    // lower is better: 0.1 → 0.3 is +200% worse
    row(0, 'refusal_rate', 0.1),
    row(2, 'refusal_rate', 0.3),
    // lower is better and it fell: not a regression
    row(0, 'boilerplate_rate', 0.4),
    row(2, 'boilerplate_rate', 0.1),
    // higher is better: 0.8 → 0.6 is 25% worse
    row(0, 'judge_agreement', 0.8),
    row(2, 'judge_agreement', 0.6),
    // from 0: no relative change, ranks first
    row(0, 'violation/harm', 0),
    row(2, 'violation/harm', 0.25),
    // 0.5 → 0.55 lower-is-better: 10% worse, the 4th, left out
    row(0, 'parse_failure_rate', 0.5),
    row(2, 'parse_failure_rate', 0.55),
    // no good direction: never a regression
    row(0, 'mean_length', 100),
    row(2, 'mean_length', 900),
  ])!;
  assert.equal(v.word, 'unchanged');
  assert.equal(v.regressions.length, REGRESSIONS_SHOWN);
  assert.deepEqual(
    v.regressions.map((r) => [r.metric, r.worse == null ? null : Number(r.worse.toFixed(6))]),
    [
      ['violation/harm', null],
      ['refusal_rate', 2],
      ['judge_agreement', 0.25],
    ],
  );
});

test('with ground truth: the true score gets its own word beside the judged one', () => {
  // judged 2.97 -> 3.78 on [0, 5] (improved); true 0.48 -> 0.41 (worse): the reward-hacking story
  const v = runVerdict([
    score(0, 2.97, [0, 5]),
    score(3, 3.78, [0, 5]),
    row(0, 'true_score', 0.48),
    row(3, 'true_score', 0.41),
  ])!;
  assert.equal(v.word, 'improved');
  assert.deepEqual(v.truth, {
    metric: 'true_score',
    fromRound: 0,
    toRound: 3,
    from: 0.48,
    to: 0.41,
    word: 'worse',
    threshold: VERDICT_TOLERANCE,
  });
  // it is not listed again among the regressions
  assert.ok(!v.regressions.some((m) => m.metric === 'true_score'));
  const lines = verdictLines(v);
  assert.equal(lines.length, 2);
  assert.match(lines[1], /^TRUTH WORSE: true_score \(sandbox grader\) 0\.48 → 0\.41/);
  // without ground truth there is no truth line
  assert.equal(runVerdict([score(0, 0.5), score(1, 0.6)])!.truth, undefined);
});
