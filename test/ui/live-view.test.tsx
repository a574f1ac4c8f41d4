import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { render as inkRender } from 'ink';
import { render, cleanup } from 'ink-testing-library';
import type { PipelineEvent } from '../../src/events.js';
import { LiveView, STOPPING_TEXT, clipText, startLiveView } from '../../src/ui/live-view.js';
import { createViewStore } from '../../src/ui/view-store.js';
import { T0, oneRoundScript } from './script.js';

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

afterEach(() => cleanup());

function mount(opts: { onStop?: () => void; onInterrupt?: () => void; color?: boolean } = {}) {
  const store = createViewStore({ throttleMs: 0 });
  const app = render(
    <LiveView store={store} now={() => T0 + 75_000} color={opts.color ?? false} {...opts} />,
  );
  const push = async (events: PipelineEvent[]) => {
    for (const e of events) store.push(e);
    store.flush();
    await tick();
  };
  return { store, app, push, frame: () => app.lastFrame() ?? '' };
}

const script = oneRoundScript();
const upTo = (pred: (e: PipelineEvent) => boolean) => script.slice(0, script.findIndex(pred) + 1);
const midJudge = upTo((e) => e.type === 'stage-progress' && e.kind === 'judge' && e.done === 4);
const afterTrain = upTo((e) => e.type === 'stage-end' && e.kind === 'train');

test('before any event it waits for the runner', async () => {
  const { frame } = mount();
  await tick();
  assert.match(frame(), /waiting for the runner/);
});

test('mid-run: header, stages with progress bars, rate and ETA, latest candidate and judgement', async () => {
  const { push, frame } = mount();
  await push(midJudge);
  const f = frame();
  assert.match(f, /self-reward {2}round 1\/2 {2}1:15 {2}running/);
  for (const kind of ['generate', 'judge', 'pair', 'train', 'evaluate'])
    assert.ok(f.includes(kind), kind);
  assert.match(f, /✔ generate +█+ 8\/8 candidates {2}1\.0\/s {2}in 8\.0s/);
  assert.match(f, /▸ judge +█+░+ 4\/8 judgements {2}1\.0\/s {2}ETA 4\.0s/);
  assert.match(f, /· pair/);
  assert.match(f, /candidate p4 #1 · 18 tok +“answer number 8 with two lines”/);
  assert.match(f, /judgement self on p2 · score 4 +“Reasoning\.\.\. Score: 4”/);
  assert.match(f, /warnings \(1\)/);
  assert.match(f, /⚠ judge self could not parse an answer \(p2\): no "Score:" line/);
  assert.match(f, /q stop after this batch · d show details/);
});

test('after training: loss and margin sparklines, pairs kept and discarded with reasons', async () => {
  const { push, frame } = mount();
  await push(afterTrain);
  const f = frame();
  assert.match(f, /train round 1 step 20\/20/);
  const loss = f.split('\n').find((l) => l.includes('loss '))!;
  const margin = f.split('\n').find((l) => l.includes('margin '))!;
  assert.match(loss, /█[▁▂▃▄▅▆▇█]*▁ 0\.3 \(from 0\.68\)/, 'loss falls');
  assert.match(margin, /▁[▁▂▃▄▅▆▇█]*█ 1/, 'margin rises');
  assert.match(f, /pairs round 1: kept 2 · discarded 2 \(tie 1, below_margin 1\)/);
});

test('the end of the run: metrics, the gate warning and the outcome', async () => {
  const { push, frame } = mount();
  await push(script);
  const f = frame();
  assert.match(f, /eval round 1: win_rate 0\.625 · mean_score 3\.5/);
  assert.match(f, /gate hit in round 1: kl 0\.4 > 0\.3 \(warn\)/);
  assert.match(f, /✔ finished in 30s/);
  assert.match(f, /self-reward {2}round 1\/2 {2}30s {2}finished/, 'the clock stops at the end');
  assert.ok(!f.includes('q stop'), 'no key hints once the run is over');
});

test('d toggles details: full candidate text, all warnings, stage counts, accuracy', async () => {
  const { push, frame, app } = mount();
  await push(afterTrain);
  assert.ok(!frame().includes('acc    '));
  assert.ok(!/^with two lines$/m.test(frame()));
  app.stdin.write('d');
  await tick();
  const f = frame();
  assert.match(f, /^answer number 8$/m);
  assert.match(f, /^with two lines$/m, 'the full text keeps its line breaks');
  assert.match(f, /acc {4}[▁▂▃▄▅▆▇█]+/);
  assert.match(f, /\[candidates 8\]/);
  assert.match(f, /d hide details/);
  app.stdin.write('d');
  await tick();
  assert.ok(!/^with two lines$/m.test(frame()));
});

test('details show every warning, the compact view the last three', async () => {
  const { push, frame, app } = mount();
  const c = script[0];
  const warnings = Array.from(
    { length: 6 },
    (_, i) => ({ ...c, type: 'warning', message: `warn-${i}` }) as PipelineEvent,
  );
  await push([script[0], ...warnings]);
  assert.ok(!frame().includes('warn-2'));
  assert.ok(frame().includes('warn-5'));
  assert.match(frame(), /warnings \(6\) · 3 more with d/);
  app.stdin.write('d');
  await tick();
  for (let i = 0; i < 6; i++) assert.ok(frame().includes(`warn-${i}`));
});

test('q calls onStop once and shows that the run is stopping', async () => {
  let stops = 0;
  const { push, frame, app } = mount({ onStop: () => stops++ });
  await push(midJudge);
  app.stdin.write('q');
  await tick();
  assert.equal(stops, 1);
  assert.ok(frame().includes(STOPPING_TEXT));
  assert.match(frame(), /round 1\/2 {2}1:15 {2}stopping/);
  app.stdin.write('q');
  await tick();
  assert.equal(stops, 1, 'a second q does not ask again');
  await push(script.slice(-1).map((e) => ({ ...e, status: 'interrupted' }) as PipelineEvent));
  assert.ok(!frame().includes(STOPPING_TEXT));
  assert.match(frame(), /■ stopped in 30s/);
});

test('Ctrl+C is forwarded to onInterrupt', async () => {
  let interrupts = 0;
  const { push, app } = mount({ onInterrupt: () => interrupts++ });
  await push(midJudge);
  app.stdin.write('\x03');
  await tick();
  assert.equal(interrupts, 1);
});

test('with color off, frames carry no escape codes', async () => {
  const { push, app } = mount({ color: false });
  await push(script);
  for (const f of app.frames) assert.ok(!f.includes('\x1b['), JSON.stringify(f.slice(0, 80)));
});

// A stand-in terminal for startLiveView: Ink needs columns, write, and a raw-mode stdin.
class FakeStdout extends EventEmitter {
  columns = 100;
  rows = 40;
  // Not a TTY: cli-cursor would otherwise hide the real terminal's cursor and restore it at exit.
  isTTY = false;
  writes: string[] = [];
  write = (s: string, cb?: () => void) => {
    this.writes.push(s);
    cb?.();
    return true;
  };
}
class FakeStdin extends EventEmitter {
  isTTY = true;
  private data: string | null = null;
  setEncoding() {}
  setRawMode() {}
  ref() {}
  unref() {}
  resume() {}
  pause() {}
  read = () => {
    const d = this.data;
    this.data = null;
    return d;
  };
  type(s: string) {
    this.data = s;
    this.emit('readable');
  }
}

test('startLiveView: a flood of events never blocks, renders are throttled, done() draws the end', async () => {
  const stdout = new FakeStdout();
  const stdin = new FakeStdin();
  let stops = 0;
  const view = startLiveView({
    onStop: () => stops++,
    onInterrupt: () => undefined,
    env: { NO_COLOR: '1' },
    stdout: stdout as unknown as NodeJS.WriteStream,
    stderr: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    throttleMs: 100,
  });
  try {
    const [start, roundStart] = script;
    view.sink(start);
    view.sink(roundStart);
    view.sink({
      ...start,
      type: 'stage-start',
      round: 1,
      stage: 3,
      kind: 'train',
      total: 20_000,
    } as PipelineEvent);
    const t = performance.now();
    for (let step = 1; step <= 20_000; step++)
      view.sink({
        ...start,
        type: 'train-step',
        round: 1,
        step,
        totalSteps: 20_000,
        loss: 1 / step,
        margin: step,
        accuracy: 0.5,
        gradNorm: 1,
        learningRate: 1e-5,
      } as PipelineEvent);
    const floodMs = performance.now() - t;
    const writesAfterFlood = stdout.writes.length;
    assert.ok(writesAfterFlood < 20, `${writesAfterFlood} writes while 20000 events arrived`);
    await tick(150);
    stdin.type('q');
    await tick();
    assert.equal(stops, 1);
    view.sink(script[script.length - 1]);
    await view.done();
    await view.done();
    const out = stdout.writes.join('');
    assert.match(out, /step 20000\/20000/);
    assert.match(out, /finished in 30s/);
    // eslint-disable-next-line no-control-regex -- looking for SGR (color/style) escapes is the point
    assert.ok(!/\x1b\[[0-9;]*m/.test(out), 'NO_COLOR: no SGR codes');
    // Only a sanity bound: the point is that the sink returns without rendering per event.
    assert.ok(floodMs < 10_000, `${floodMs} ms`);
  } finally {
    await view.done();
  }
  const before = stdout.writes.length;
  view.sink(script[0]);
  await tick(150);
  assert.equal(stdout.writes.length, before, 'events after done() are ignored');
});

test('on a short terminal the frame fits: less important sections give way', async () => {
  const stdout = new FakeStdout();
  stdout.rows = 18;
  const store = createViewStore({ throttleMs: 0 });
  const stdin = new FakeStdin();
  const app = inkRender(<LiveView store={store} color={false} now={() => T0} />, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    debug: true,
    patchConsole: false,
  });
  try {
    for (const e of afterTrain) store.push(e);
    store.flush();
    await tick();
    let frame = stdout.writes[stdout.writes.length - 1];
    let lines = frame.replace(/\n$/, '').split('\n');
    assert.ok(lines.length <= 17, `${lines.length} lines:\n${frame}`);
    assert.match(frame, /self-reward/);
    assert.match(frame, /▸ train|✔ train/);
    assert.match(frame, /warnings \(2\)/, 'warnings outrank the rest');
    assert.match(frame, /loss +[▁▂▃▄▅▆▇█]+/);
    assert.ok(!frame.includes('candidate '), 'the latest candidate gives way');
    assert.ok(!frame.includes('pairs round'), 'pairs give way');
    // Details: full texts take only the rows that are left.
    stdin.type('d');
    await tick();
    frame = stdout.writes[stdout.writes.length - 1];
    lines = frame.replace(/\n$/, '').split('\n');
    assert.ok(lines.length <= 17, `${lines.length} lines:\n${frame}`);
  } finally {
    app.unmount();
  }
});

test('clipText cuts by rows of the given width', () => {
  assert.deepEqual(clipText('a\nb\nc', 10, 5), { text: 'a\nb\nc', lines: 3 });
  assert.deepEqual(clipText('a\nb\nc', 10, 2), { text: 'a\n…', lines: 2 });
  assert.deepEqual(clipText('x'.repeat(25), 10, 2), { text: 'x'.repeat(19) + '…', lines: 2 });
  assert.deepEqual(clipText('abc', 10, 0), { text: '', lines: 0 });
});
