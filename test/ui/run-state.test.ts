import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelineEvent } from '../../src/events.js';
import {
  FULL_TEXT_CHARS,
  PREVIEW_CHARS,
  RATE_SAMPLES,
  SERIES_MAX,
  WARNINGS_MAX,
  appendSeries,
  currentRoundView,
  currentStageView,
  elapsedSeconds,
  emptySeries,
  findRound,
  initialRunState,
  latestMetricsRound,
  reduceRunState,
  roundsDone,
  seriesValues,
  totalPairs,
  type RunState,
} from '../../src/ui/run-state.js';
import { STAGES, T0, clock, oneRoundScript } from './script.js';

const fold = (events: PipelineEvent[], from: RunState = initialRunState()) =>
  events.reduce(reduceRunState, from);

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

function started(): { c: ReturnType<typeof clock>; s: RunState } {
  const c = clock();
  const s = fold([
    c.ev({
      type: 'run-start',
      name: 'demo',
      rounds: 3,
      stages: [...STAGES],
      resumed: true,
      dir: 'runs/d',
    }),
    c.ev({ type: 'round-start', round: 1, policy: 'M0' }),
  ]);
  return { c, s };
}

test('the initial state is pending and empty', () => {
  const s = initialRunState();
  assert.equal(s.status, 'pending');
  assert.deepEqual(s.rounds, []);
  assert.equal(elapsedSeconds(s, T0), null);
  assert.equal(currentRoundView(s), null);
});

test('run-start and round-start lay out the rounds and pending stages', () => {
  const { s } = started();
  assert.equal(s.status, 'running');
  assert.equal(s.name, 'demo');
  assert.equal(s.runId, 'run-1');
  assert.equal(s.totalRounds, 3);
  assert.equal(s.resumed, true);
  assert.equal(s.dir, 'runs/d');
  assert.equal(s.startedAt, T0);
  assert.equal(s.currentRound, 1);
  const r = currentRoundView(s)!;
  assert.equal(r.status, 'running');
  assert.equal(r.policy, 'M0');
  assert.deepEqual(
    r.stages.map((st) => [st.kind, st.status]),
    STAGES.map((k) => [k, 'pending']),
  );
});

test('stage progress gives done/total, unit, items/s and ETA from event times', () => {
  const { c, s: s0 } = started();
  let s = reduceRunState(
    s0,
    c.ev({ type: 'stage-start', round: 1, stage: 0, kind: 'generate', total: 100 }),
  );
  assert.equal(currentStageView(s)!.status, 'running');
  assert.equal(currentStageView(s)!.eta, null);
  s = reduceRunState(
    s,
    c.at(2000).ev({
      type: 'stage-progress',
      round: 1,
      stage: 0,
      kind: 'generate',
      done: 10,
      total: 100,
      unit: 'candidates',
    }),
  );
  let st = currentStageView(s)!;
  assert.equal(st.done, 10);
  assert.equal(st.total, 100);
  assert.equal(st.unit, 'candidates');
  assert.equal(st.rate, 5);
  assert.equal(st.eta, 18);
  s = reduceRunState(
    s,
    c.at(4000).ev({
      type: 'stage-progress',
      round: 1,
      stage: 0,
      kind: 'generate',
      done: 40,
      total: 100,
      unit: 'candidates',
    }),
  );
  st = currentStageView(s)!;
  assert.equal(st.rate, 10); // 40 items over 4 s, over the whole (short) window
  assert.equal(st.eta, 6);
  s = reduceRunState(
    s,
    c.at(5000).ev({
      type: 'stage-end',
      round: 1,
      stage: 0,
      kind: 'generate',
      status: 'done',
      seconds: 5,
      counts: { candidates: 100 },
    }),
  );
  st = currentStageView(s)!;
  assert.equal(st.status, 'done');
  assert.equal(st.done, 100, 'a finished stage is full even without a last progress event');
  assert.equal(st.rate, 20, 'whole-stage average');
  assert.equal(st.eta, null);
  assert.equal(st.seconds, 5);
  assert.deepEqual(st.counts, { candidates: 100 });
});

test('the rate follows the recent window, not the whole stage', () => {
  const { c, s: s0 } = started();
  let s = reduceRunState(
    s0,
    c.ev({ type: 'stage-start', round: 1, stage: 1, kind: 'judge', total: 10_000 }),
  );
  let done = 0;
  // 60 s at 1 item/s, then 60 s at 10 items/s: the window (30 samples, ~1 s apart) sees only the latter.
  for (let sec = 1; sec <= 120; sec++) {
    done += sec <= 60 ? 1 : 10;
    s = reduceRunState(
      s,
      c.at(sec * 1000).ev({
        type: 'stage-progress',
        round: 1,
        stage: 1,
        kind: 'judge',
        done,
        total: 10_000,
        unit: 'judgements',
      }),
    );
  }
  const st = currentStageView(s)!;
  assert.ok(st.samples.length <= RATE_SAMPLES);
  assert.equal(st.rate, 10);
  assert.equal(st.eta, (10_000 - done) / 10);
});

test('a flood of progress events keeps the sample window bounded', () => {
  const { c, s: s0 } = started();
  let s = reduceRunState(
    s0,
    c.ev({ type: 'stage-start', round: 1, stage: 0, kind: 'generate', total: 100_000 }),
  );
  for (let i = 1; i <= 20_000; i++)
    s = reduceRunState(
      s,
      c.at(i / 2).ev({
        type: 'stage-progress',
        round: 1,
        stage: 0,
        kind: 'generate',
        done: i,
        total: 100_000,
        unit: 'candidates',
      }),
    );
  const st = currentStageView(s)!;
  assert.ok(st.samples.length <= RATE_SAMPLES, `${st.samples.length} samples`);
  assert.ok(Math.abs(st.rate! - 2000) < 1, `rate ${st.rate}`);
  assert.equal(st.done, 20_000);
});

test('a progress count that goes backwards restarts the rate window', () => {
  const { c, s: s0 } = started();
  let s = reduceRunState(
    s0,
    c.ev({ type: 'stage-start', round: 1, stage: 0, kind: 'generate', total: 10 }),
  );
  const p = (ms: number, done: number) =>
    (s = reduceRunState(
      s,
      c.at(ms).ev({
        type: 'stage-progress',
        round: 1,
        stage: 0,
        kind: 'generate',
        done,
        total: 10,
        unit: 'x',
      }),
    ));
  p(1000, 5);
  p(2000, 2);
  assert.equal(currentStageView(s)!.samples.length, 1);
  p(4000, 6);
  assert.equal(currentStageView(s)!.rate, 2);
});

test('stages and rounds the run-start did not announce still get rows', () => {
  const c = clock();
  const s = fold([
    c.ev({
      type: 'run-start',
      name: 'x',
      rounds: 1,
      stages: ['generate'],
      resumed: false,
      dir: 'd',
    }),
    c.ev({ type: 'stage-start', round: 1, stage: 2, kind: 'train', total: 3 }),
    c.ev({ type: 'eval-metric', round: 0, metric: 'mean_score', value: 2 }),
  ]);
  assert.deepEqual(
    s.rounds.map((r) => r.round),
    [0, 1],
  );
  const r1 = findRound(s, 1)!;
  assert.deepEqual(
    r1.stages.map((st) => st.kind),
    ['generate', 'train', 'train'],
  );
  assert.equal(r1.stages[2].status, 'running');
  assert.equal(s.currentRound, 1);
  assert.equal(s.currentStage, 2);
});

test('candidates keep a one-line preview and a clipped full text', () => {
  const { c, s: s0 } = started();
  const long = 'word '.repeat(2000);
  let s = reduceRunState(
    s0,
    c.ev({ type: 'candidate', round: 1, promptId: 'p1', index: 3, text: 'a\n\n  b\tc', tokens: 5 }),
  );
  assert.equal(s.latestCandidate!.preview, 'a b c');
  assert.equal(s.latestCandidate!.text, 'a\n\n  b\tc');
  assert.equal(s.latestCandidate!.index, 3);
  assert.equal(s.latestCandidate!.truncated, false);
  s = reduceRunState(
    s,
    c.ev({ type: 'candidate', round: 1, promptId: 'p2', index: 0, text: long, tokens: 2000 }),
  );
  assert.equal(s.latestCandidate!.promptId, 'p2');
  assert.equal(s.latestCandidate!.preview.length, PREVIEW_CHARS);
  assert.ok(s.latestCandidate!.preview.endsWith('…'));
  assert.equal(s.latestCandidate!.text.length, FULL_TEXT_CHARS);
  assert.equal(s.latestCandidate!.truncated, true);
  assert.equal(currentRoundView(s)!.candidates, 2);
});

test('judgements: scores, verdicts, and parse failures folded into one warning per judge', () => {
  const { c, s: s0 } = started();
  const s = fold(
    [
      c.ev({
        type: 'judgement',
        round: 1,
        judge: 'self',
        promptId: 'p1',
        score: 4,
        text: 'Score: 4',
      }),
      c.ev({
        type: 'judgement',
        round: 1,
        judge: 'self',
        promptId: 'p2',
        parseError: 'no score',
        text: '??',
      }),
      c.ev({
        type: 'judgement',
        round: 1,
        judge: 'self',
        promptId: 'p3',
        parseError: 'score 9 out of range',
        text: '9',
      }),
      c.ev({
        type: 'judgement',
        round: 1,
        judge: 'anchor',
        promptId: 'p3',
        verdict: 'A',
        text: '(A)',
      }),
    ],
    s0,
  );
  const r = currentRoundView(s)!;
  assert.equal(r.judgements, 4);
  assert.equal(r.parseFailures, 2);
  assert.equal(s.latestJudgement!.judge, 'anchor');
  assert.equal(s.latestJudgement!.verdict, 'A');
  assert.equal(s.latestJudgement!.score, null);
  assert.equal(s.warnings.length, 1);
  const w = s.warnings[0];
  assert.equal(w.kind, 'parse');
  assert.equal(w.count, 2);
  assert.match(w.message, /judge self .*p3.*out of range/);
  assert.equal(s.warningCount, 2);
});

test('pairs are a per-round snapshot; totals add up over rounds', () => {
  const { c, s: s0 } = started();
  const s = fold(
    [
      c.ev({ type: 'pairs', round: 1, kept: 3, discarded: { tie: 1 } }),
      c.ev({ type: 'pairs', round: 1, kept: 5, discarded: { tie: 2, below_margin: 1 } }),
      c.ev({ type: 'round-end', round: 1, seconds: 10 }),
      c.ev({ type: 'round-start', round: 2, policy: 'M1' }),
      c.ev({ type: 'pairs', round: 2, kept: 4, discarded: { tie: 1, too_long: 3 } }),
    ],
    s0,
  );
  assert.deepEqual(findRound(s, 1)!.pairs, {
    kept: 5,
    discarded: { tie: 2, below_margin: 1 },
    discardedTotal: 3,
  });
  assert.deepEqual(totalPairs(s), {
    kept: 9,
    discarded: { tie: 3, below_margin: 1, too_long: 3 },
    discardedTotal: 7,
  });
  assert.equal(roundsDone(s), 1);
});

test('train steps build the loss, margin and accuracy series and drive the train stage', () => {
  const { c, s: s0 } = started();
  let s = reduceRunState(
    s0,
    c.ev({ type: 'stage-start', round: 1, stage: 3, kind: 'train', total: 4 }),
  );
  for (let step = 1; step <= 4; step++)
    s = reduceRunState(
      s,
      c.at(step * 1000).ev({
        type: 'train-step',
        round: 1,
        step,
        totalSteps: 4,
        loss: 1 / step,
        margin: step,
        accuracy: step / 4,
        gradNorm: 0.5,
        learningRate: 1e-5,
      }),
    );
  const tr = currentRoundView(s)!.train!;
  assert.equal(tr.step, 4);
  assert.equal(tr.totalSteps, 4);
  assert.deepEqual(seriesValues(tr.loss), [1, 1 / 2, 1 / 3, 1 / 4]);
  assert.deepEqual(seriesValues(tr.margin), [1, 2, 3, 4]);
  assert.deepEqual(seriesValues(tr.accuracy), [0.25, 0.5, 0.75, 1]);
  assert.equal(tr.loss.first, 1);
  assert.equal(tr.loss.last, 0.25);
  assert.equal(tr.gradNorm, 0.5);
  assert.equal(tr.learningRate, 1e-5);
  const st = currentStageView(s)!;
  assert.equal(st.done, 4);
  assert.equal(st.unit, 'steps');
  assert.equal(st.rate, 1);
  assert.equal(st.eta, 0);
});

test('long training series are averaged down, keeping the whole trend bounded', () => {
  let series = emptySeries();
  const n = 10_000;
  for (let i = 0; i < n; i++) series = appendSeries(series, i);
  const values = seriesValues(series);
  assert.ok(series.points.length < SERIES_MAX, `${series.points.length} points`);
  assert.ok(series.stride > 1);
  assert.equal(series.first, 0);
  assert.equal(series.last, n - 1);
  // Each point is the mean of its `stride` consecutive steps, so the first one is (stride-1)/2.
  assert.equal(values[0], (series.stride - 1) / 2);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  assert.ok(Math.abs(mean - (n - 1) / 2) < series.stride, `mean ${mean}`);
  for (let i = 1; i < values.length; i++) assert.ok(values[i] > values[i - 1]);
});

test('non-finite training values raise one NaN warning per round and leave a gap', () => {
  const { c, s: s0 } = started();
  const step = (n: number, loss: number) =>
    c.ev({
      type: 'train-step',
      round: 1,
      step: n,
      totalSteps: 3,
      loss,
      margin: 0,
      accuracy: 0.5,
      gradNorm: 1,
      learningRate: 1e-5,
    });
  const s = fold([step(1, 0.7), step(2, NaN), step(3, Infinity)], s0);
  const tr = currentRoundView(s)!.train!;
  assert.equal(tr.nonFiniteSteps, 2);
  const v = seriesValues(tr.loss);
  assert.equal(v[0], 0.7);
  assert.ok(Number.isNaN(v[1]));
  assert.equal(s.warnings.length, 1);
  assert.equal(s.warnings[0].kind, 'nan');
  assert.equal(s.warnings[0].count, 2);
  assert.match(s.warnings[0].message, /step 3/);
});

test('eval metrics are kept per round; the latest round with metrics is the final one', () => {
  const { c, s: s0 } = started();
  const s = fold(
    [
      c.ev({ type: 'eval-metric', round: 0, metric: 'mean_score', value: 2 }),
      c.ev({ type: 'eval-metric', round: 1, metric: 'mean_score', value: 3 }),
      c.ev({ type: 'eval-metric', round: 1, metric: 'win_rate', value: 0.6 }),
      c.ev({ type: 'eval-metric', round: 1, metric: 'win_rate', value: 0.7 }),
    ],
    s0,
  );
  assert.deepEqual(findRound(s, 0)!.metrics, { mean_score: 2 });
  assert.deepEqual(findRound(s, 1)!.metrics, { mean_score: 3, win_rate: 0.7 });
  assert.equal(latestMetricsRound(s)!.round, 1);
  assert.equal(roundsDone(s), 0, 'round 0 is the initial policy, not a finished round');
});

test('gates and warning events become warnings, folded by message and classified', () => {
  const { c, s: s0 } = started();
  const s = fold(
    [
      c.ev({
        type: 'gate',
        round: 1,
        metric: 'win_rate',
        value: 0.3,
        threshold: 0.4,
        op: '<',
        action: 'stop',
      }),
      c.ev({ type: 'warning', round: 1, message: 'NaN guard: skipped a batch' }),
      c.ev({ type: 'warning', round: 1, message: 'NaN guard: skipped a batch' }),
      c.ev({ type: 'warning', message: 'judge server slow' }),
      c.ev({ type: 'warning', message: 'could not parse 3 answers' }),
    ],
    s0,
  );
  assert.deepEqual(
    s.warnings.map((w) => [w.kind, w.count]),
    [
      ['gate', 1],
      ['nan', 2],
      ['warning', 1],
      ['parse', 1],
    ],
  );
  assert.match(s.warnings[0].message, /win_rate 0\.3 < 0\.4 \(stop\)/);
  assert.equal(s.gates.length, 1);
  assert.equal(s.gates[0].action, 'stop');
  assert.equal(s.warningCount, 5);
  assert.equal(s.warnings[2].round, null);
});

test('a repeated warning moves to the end; the list is capped but the count is not', () => {
  const { c, s: s0 } = started();
  let s = s0;
  for (let i = 0; i < WARNINGS_MAX + 10; i++)
    s = reduceRunState(s, c.ev({ type: 'warning', message: `w${i}` }));
  assert.equal(s.warnings.length, WARNINGS_MAX);
  assert.equal(s.warnings[0].message, 'w10');
  s = reduceRunState(s, c.ev({ type: 'warning', message: 'w20' }));
  assert.equal(s.warnings[s.warnings.length - 1].message, 'w20');
  assert.equal(s.warnings[s.warnings.length - 1].count, 2);
  assert.equal(s.warningCount, WARNINGS_MAX + 11);
});

test('a failed stage is a warning; run-end closes what the runner left open', () => {
  const { c, s: s0 } = started();
  const s = fold(
    [
      c.ev({ type: 'stage-start', round: 1, stage: 0, kind: 'generate', total: 4 }),
      c.ev({
        type: 'stage-end',
        round: 1,
        stage: 0,
        kind: 'generate',
        status: 'failed',
        seconds: 1.5,
        counts: {},
      }),
      c.ev({ type: 'stage-start', round: 1, stage: 1, kind: 'judge', total: 4 }),
      c.at(9000).ev({ type: 'run-end', status: 'interrupted', seconds: 9 }),
    ],
    s0,
  );
  assert.equal(s.status, 'interrupted');
  const r = currentRoundView(s)!;
  assert.equal(r.status, 'stopped');
  assert.equal(r.stages[0].status, 'failed');
  assert.equal(r.stages[1].status, 'interrupted');
  assert.equal(s.warnings[0].kind, 'stage');
  assert.match(s.warnings[0].message, /generate failed/);
  assert.equal(elapsedSeconds(s, T0 + 999_999), 9, 'an ended run stops its clock');
});

test('run-end with an error keeps it', () => {
  const { c, s: s0 } = started();
  const s = reduceRunState(
    s0,
    c.ev({ type: 'run-end', status: 'failed', seconds: 1, error: 'boom' }),
  );
  assert.equal(s.status, 'failed');
  assert.equal(s.error, 'boom');
});

test('elapsed time runs on the given clock while running', () => {
  const { s } = started();
  assert.equal(elapsedSeconds(s, T0 + 65_000), 65);
  assert.equal(elapsedSeconds(s), 0, 'without a clock: up to the last event');
});

test('an unparseable event time falls back to the last one', () => {
  const { c, s: s0 } = started();
  const s1 = reduceRunState(s0, c.at(5000).ev({ type: 'warning', message: 'a' }));
  const s2 = reduceRunState(s1, { ...c.ev({ type: 'warning', message: 'b' }), time: 'not a time' });
  assert.equal(s2.lastTime, T0 + 5000);
  assert.equal(s2.warnings[1].time, T0 + 5000);
});

test('the reducer is pure: frozen inputs, untouched originals, shared unchanged parts', () => {
  const events = oneRoundScript();
  let s = deepFreeze(initialRunState());
  for (const e of events) {
    const before = JSON.stringify(s);
    const next = reduceRunState(s, deepFreeze(e));
    assert.equal(JSON.stringify(s), before, `${e.type} changed its input`);
    assert.notEqual(next, s);
    s = deepFreeze(next);
  }
  // Folding twice gives the same state (no hidden clock or randomness).
  assert.deepEqual(fold(events), s);
  // A warning leaves the rounds array alone.
  const w = reduceRunState(s, clock().ev({ type: 'warning', message: 'x' }));
  assert.equal(w.rounds, s.rounds);
});

test('the scripted round folds into the expected summary', () => {
  const s = fold(oneRoundScript());
  assert.equal(s.status, 'finished');
  assert.equal(s.seconds, 30);
  assert.equal(s.eventCount, oneRoundScript().length);
  const r = findRound(s, 1)!;
  assert.equal(r.status, 'done');
  assert.equal(r.checkpoint, 'runs/x/round-1');
  assert.deepEqual(
    r.stages.map((st) => st.status),
    ['done', 'done', 'done', 'done', 'done'],
  );
  assert.equal(r.stages[0].rate, 1);
  assert.equal(r.candidates, 8);
  assert.equal(r.parseFailures, 2);
  assert.equal(r.train!.step, 20);
  assert.equal(r.stages[3].done, 20);
  assert.deepEqual(r.metrics, { win_rate: 0.625, mean_score: 3.5 });
  assert.deepEqual(
    s.warnings.map((w) => w.kind),
    ['parse', 'gate'],
  );
  assert.equal(roundsDone(s), 1);
  assert.equal(elapsedSeconds(s), 30);
});

test('a new round forgets the previous round’s candidate and judgement', () => {
  const { c, s: s0 } = started();
  const s = fold(
    [
      c.ev({ type: 'candidate', round: 1, promptId: 'p1', index: 0, text: 'x', tokens: 1 }),
      c.ev({
        type: 'judgement',
        round: 1,
        judge: 'self',
        promptId: 'p1',
        score: 1,
        text: 'Score: 1',
      }),
      c.ev({ type: 'round-start', round: 2, policy: 'M1' }),
    ],
    s0,
  );
  assert.equal(s.latestCandidate, null);
  assert.equal(s.latestJudgement, null);
  assert.equal(s.currentRound, 2);
  assert.equal(findRound(s, 1)!.candidates, 1, 'the old round keeps its counts');
});
