import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelineEvent } from '../../src/events.js';
import { createPlainReporter, formatSummary } from '../../src/ui/plain-reporter.js';
import { createNdjsonReporter } from '../../src/ui/ndjson-reporter.js';
import { chooseReporter, pickReporterKind } from '../../src/ui/choose-reporter.js';
import { isCi } from '../../src/ui/reporter.js';
import { initialRunState, reduceRunState } from '../../src/ui/run-state.js';
import { clock, oneRoundScript } from './script.js';

function plain(opts: Parameters<typeof createPlainReporter>[0] = {}) {
  let err = '';
  let out = '';
  const r = createPlainReporter({ err: (s) => (err += s), out: (s) => (out += s), ...opts });
  return { ...r, err: () => err, out: () => out };
}

test('plain: the scripted run gives the expected lines, with no escape codes', async () => {
  const r = plain();
  for (const e of oneRoundScript()) r.sink(e);
  await r.done();
  const err = r.err();
  const out = r.out();
  assert.ok(!err.includes('\x1b['), 'no escapes on stderr');
  assert.ok(!out.includes('\x1b['), 'no escapes on stdout');
  const lines = err.trimEnd().split('\n');
  const expected = [
    'run self-reward (run-1): 2 rounds of generate → judge → pair → train → evaluate',
    '  dir runs/x',
    'round 1/2 started (policy M0)',
    'round 1/2 generate: started, 8 to do',
    'round 1/2 generate: done in 8.0s (candidates 8)',
    'round 1/2 judge: started, 8 to do',
    'warning: round 1/2: judge self could not parse an answer (p2): no "Score:" line (further parse failures this round are only counted)',
    'round 1/2 judge: done in 8.0s (judgements 8, parse_failures 2)',
    'round 1/2 pairs: 2 kept, 2 discarded (tie 1, below_margin 1)',
    'round 1/2 train: step 1/20 loss 0.68 margin 0.05 acc 0.525 grad 1 lr 5.00e-6',
    'round 1/2 train: step 10/20 loss 0.5 margin 0.5 acc 0.75 grad 1 lr 5.00e-6',
    'round 1/2 train: step 20/20 loss 0.3 margin 1 acc 1 grad 1 lr 5.00e-6',
    'round 1/2 train: done in 10s (steps 20)',
    'gate: round 1/2 kl 0.4 > 0.3 → warn',
    'round 1/2 evaluate: done in 2.0s (probes 4)',
    'round 1/2 eval: win_rate 0.625, mean_score 3.5',
    'round 1/2 done in 29s (checkpoint runs/x/round-1)',
    'run finished in 30s',
  ];
  for (const l of expected) assert.ok(lines.includes(l), `missing line: ${l}\n--- got:\n${err}`);
  // Progress lines for the 8-item stages: every event crosses a new 10% step.
  assert.ok(
    lines.some((l) => /^round 1\/2 generate: 4\/8 candidates \(50%\), 1\.0\/s, ETA 4\.0s$/.test(l)),
    err,
  );
  assert.equal(lines.filter((l) => l.includes('could not parse')).length, 1);
  assert.equal(
    out,
    [
      'self-reward (run-1): finished in 30s, 1/2 rounds',
      'pairs: 2 kept, 2 discarded (tie 1, below_margin 1)',
      'round 1: pairs 2/4 kept; loss 0.68 → 0.3, margin 1, acc 1; win_rate 0.625, mean_score 3.5; parse_failures 2 of 8 judgements',
      'final metrics (round 1): win_rate 0.625, mean_score 3.5',
      'warnings: 3',
      '',
    ].join('\n'),
  );
});

test('plain: the summary goes to stdout at run-end, once', async () => {
  const r = plain();
  const events = oneRoundScript();
  for (const e of events.slice(0, -1)) r.sink(e);
  assert.equal(r.out(), '');
  r.sink(events[events.length - 1]);
  const once = r.out();
  assert.match(once, /^self-reward \(run-1\): finished/);
  await r.done();
  await r.done();
  assert.equal(r.out(), once);
});

test('plain: a run that never ends still gets a summary from done()', async () => {
  const r = plain();
  for (const e of oneRoundScript().slice(0, 10)) r.sink(e);
  await r.done();
  assert.match(r.out(), /^self-reward \(run-1\): ended without a run-end event, 0\/2 rounds/);
});

test('plain: no events, no summary', async () => {
  const r = plain();
  await r.done();
  assert.equal(r.out(), '');
  assert.equal(r.err(), '');
});

test('plain: progress lines at most every 2 s or every 10%', () => {
  const c = clock();
  const r = plain();
  r.sink(
    c.ev({
      type: 'run-start',
      name: 'x',
      rounds: 1,
      stages: ['generate'],
      resumed: false,
      dir: 'd',
    }),
  );
  r.sink(c.ev({ type: 'stage-start', round: 1, stage: 0, kind: 'generate', total: 1000 }));
  // 999 events within one second: only the 10% steps print.
  for (let i = 1; i < 1000; i++)
    r.sink(
      c.at(i).ev({
        type: 'stage-progress',
        round: 1,
        stage: 0,
        kind: 'generate',
        done: i,
        total: 1000,
        unit: 'candidates',
      }),
    );
  let progress = r
    .err()
    .split('\n')
    .filter((l) => l.includes('candidates ('));
  assert.equal(progress.length, 9, progress.join('\n'));
  assert.match(progress[0], /100\/1000 candidates \(10%\)/);
  // Slow progress inside one 10% step: a line every 2 s.
  const r2 = plain();
  r2.sink(c.at(0).ev({ type: 'stage-start', round: 1, stage: 0, kind: 'generate', total: 1000 }));
  for (let s = 1; s <= 20; s++)
    r2.sink(
      c.at(s * 500).ev({
        type: 'stage-progress',
        round: 1,
        stage: 0,
        kind: 'generate',
        done: s,
        total: 1000,
        unit: 'candidates',
      }),
    );
  progress = r2
    .err()
    .split('\n')
    .filter((l) => l.includes('candidates ('));
  assert.equal(progress.length, 5, progress.join('\n'));
});

test('plain: train steps every N, warnings once, NaN once per round', () => {
  const c = clock();
  const r = plain({ trainEvery: 5 });
  const step = (n: number, loss: number) =>
    c.ev({
      type: 'train-step',
      round: 2,
      step: n,
      totalSteps: 12,
      loss,
      margin: 0.1,
      accuracy: 0.5,
      gradNorm: 1,
      learningRate: 1e-5,
    });
  for (let n = 1; n <= 12; n++) r.sink(step(n, n > 6 ? NaN : 0.5));
  r.sink(c.ev({ type: 'warning', message: 'slow judge' }));
  r.sink(c.ev({ type: 'warning', message: 'slow judge' }));
  const lines = r.err().trimEnd().split('\n');
  assert.deepEqual(
    lines.filter((l) => l.includes('train: step')).map((l) => l.match(/step (\d+)/)![1]),
    ['1', '5', '10', '12'],
  );
  assert.equal(lines.filter((l) => l.includes('non-finite')).length, 1);
  assert.match(
    lines.find((l) => l.includes('non-finite'))!,
    /^warning: round 2: non-finite training values at step 7/,
  );
  assert.deepEqual(
    lines.filter((l) => l.includes('slow judge')),
    ['warning: slow judge'],
  );
  assert.ok(lines.some((l) => l.includes('loss NaN')));
});

test('plain: a gate stop in the summary; a failed run leaves its error to the CLI', () => {
  const c = clock();
  const r = plain();
  r.sink(
    c.ev({
      type: 'run-start',
      name: 'x',
      rounds: 3,
      stages: ['evaluate'],
      resumed: true,
      dir: 'd',
    }),
  );
  r.sink(
    c.ev({
      type: 'gate',
      round: 1,
      metric: 'win_rate',
      value: 0.2,
      threshold: 0.4,
      op: '<',
      action: 'stop',
    }),
  );
  r.sink(c.at(3000).ev({ type: 'run-end', status: 'stopped-by-gate', seconds: 3 }));
  assert.match(r.err(), /^run x \(run-1\) resumed: 3 rounds of evaluate$/m);
  assert.match(r.err(), /^gate: round 1\/3 win_rate 0\.2 < 0\.4 → stop$/m);
  assert.match(r.err(), /^run stopped-by-gate in 3\.0s$/m);
  assert.match(r.out(), /stopped by gate: round 1 win_rate 0\.2 < 0\.4/);
  let out = '';
  const r2 = createPlainReporter({ err: () => undefined, out: (s) => (out += s) });
  r2.sink(c.ev({ type: 'run-start', name: 'y', rounds: 1, stages: [], resumed: false, dir: 'd' }));
  r2.sink(c.ev({ type: 'run-end', status: 'failed', seconds: 1, error: 'model not found' }));
  // the error is printed once, by the CLI with its hint (report-error.ts): not in the summary
  assert.equal(out, 'y (run-1): failed in 1.0s, 0/1 rounds\n');
});

test('formatSummary is what the plain reporter prints, from the folded state alone', () => {
  const r = plain();
  const events = oneRoundScript();
  for (const e of events) r.sink(e);
  assert.equal(formatSummary(events.reduce(reduceRunState, initialRunState())), r.out());
});

test('ndjson: one event per line, each parses and round-trips', async () => {
  let out = '';
  const r = createNdjsonReporter({ out: (s) => (out += s) });
  const events = oneRoundScript();
  for (const e of events) r.sink(e);
  await r.done();
  assert.ok(out.endsWith('\n'));
  const lines = out.slice(0, -1).split('\n');
  assert.equal(lines.length, events.length);
  assert.deepEqual(
    lines.map((l) => JSON.parse(l) as PipelineEvent),
    events,
  );
  assert.ok(lines.every((l) => !l.includes('\n')));
});

test('ndjson: non-finite numbers become null', () => {
  let out = '';
  const r = createNdjsonReporter({ out: (s) => (out += s) });
  r.sink(
    clock().ev({
      type: 'train-step',
      round: 1,
      step: 1,
      totalSteps: 1,
      loss: NaN,
      margin: Infinity,
      accuracy: 0,
      gradNorm: 0,
      learningRate: 0,
    }),
  );
  const e = JSON.parse(out) as { loss: unknown; margin: unknown };
  assert.equal(e.loss, null);
  assert.equal(e.margin, null);
});

test('pickReporterKind: live only for a person at a terminal', () => {
  const tty = { stdout: true, stdin: true };
  assert.equal(pickReporterKind({ isTTY: tty, env: {} }), 'live');
  assert.equal(pickReporterKind({ isTTY: true, env: {} }), 'live');
  assert.equal(pickReporterKind({ json: true, isTTY: tty, env: {} }), 'ndjson');
  assert.equal(pickReporterKind({ json: true, isTTY: false, env: {} }), 'ndjson');
  assert.equal(pickReporterKind({ isTTY: tty, env: { CI: 'true' } }), 'plain');
  assert.equal(pickReporterKind({ isTTY: tty, env: { CI: '1' } }), 'plain');
  assert.equal(pickReporterKind({ isTTY: tty, env: { CI: 'false' } }), 'live');
  assert.equal(pickReporterKind({ isTTY: { stdout: true, stdin: false }, env: {} }), 'plain');
  assert.equal(pickReporterKind({ isTTY: { stdout: false, stdin: true }, env: {} }), 'plain');
  assert.equal(pickReporterKind({ isTTY: false, env: {} }), 'plain');
  assert.equal(pickReporterKind({ isTTY: tty, env: { TERM: 'dumb' } }), 'plain');
  assert.equal(isCi({ CI: '0' }), false);
});

test('chooseReporter returns the picked reporter', async () => {
  const p = chooseReporter({ isTTY: false, env: {} });
  assert.equal(p.kind, 'plain');
  await p.done();
  const j = chooseReporter({ json: true, env: {} });
  assert.equal(j.kind, 'ndjson');
  await j.done();
});
