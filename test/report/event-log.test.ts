import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerShow } from '../../src/cli/commands/show.js';
import type { PipelineEvent } from '../../src/events.js';
import { describeEvent, eventLog } from '../../src/report/event-log.js';
import { openRun } from '../../src/report/open-run.js';
import { runOverview } from '../../src/report/show.js';
import { runDbPath } from '../../src/store/run-dirs.js';
import { openStore } from '../../src/store/run-store.js';
import { makeRunA, runCommand } from './fixtures.js';

const at = (s: number) => `2025-03-01T11:00:${String(s).padStart(2, '0')}.000Z`;
const runId = 'run-a';

/** A run's lifecycle as the runner emits it: round 1 generates, evaluates, warns and is stopped by a gate. */
const LOG: PipelineEvent[] = [
  {
    type: 'run-start',
    name: 'self-reward',
    rounds: 3,
    stages: ['generate', 'evaluate'],
    resumed: false,
    dir: 'runs/run-a',
  },
  { type: 'round-start', round: 1, policy: 'builtin:tiny' },
  { type: 'stage-start', round: 1, stage: 0, kind: 'generate', total: 3 },
  {
    type: 'stage-end',
    round: 1,
    stage: 0,
    kind: 'generate',
    status: 'done',
    seconds: 1.5,
    counts: { prompts: 3, candidates: 9 },
  },
  { type: 'warning', round: 1, message: 'judge output unparsable' },
  { type: 'pairs', round: 1, kept: 2, discarded: { tie: 1 } },
  { type: 'eval-metric', round: 1, metric: 'win_rate', value: 0.25 },
  {
    type: 'gate',
    round: 1,
    metric: 'win_rate',
    value: 0.25,
    threshold: 0.5,
    op: '<',
    action: 'stop',
  },
  { type: 'round-end', round: 1, seconds: 12 },
  { type: 'run-end', status: 'stopped-by-gate', seconds: 14 },
].map((e, i) => ({ ...e, time: at(i), runId }) as PipelineEvent);

let dir: string;
let root: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rlaif-events-'));
  root = join(dir, 'runs');
  makeRunA(root);
  makeRunA(root, 'run-quiet');
  const store = openStore(runDbPath(root, runId));
  for (const e of LOG) store.appendEvent(e);
  store.close();
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the event log in `pipeline show`', () => {
  test('describeEvent: one line per lifecycle event', () => {
    assert.deepEqual(LOG.map(describeEvent), [
      'run started: 3 rounds of generate, evaluate',
      'round 1 started with builtin:tiny',
      'stage 0 generate started (3 prompts)',
      'stage 0 generate done in 1.5s  prompts=3 candidates=9',
      'warning: judge output unparsable',
      'pairs kept 2, discarded tie=1',
      'metric win_rate = 0.250',
      'gate: win_rate 0.250 < 0.500 → stop',
      'round 1 done in 12.0s',
      'run stopped-by-gate after 14.0s',
    ]);
    const unknown = { type: 'future-kind', time: at(0), runId, x: 1 } as unknown as PipelineEvent;
    assert.equal(describeEvent(unknown), 'future-kind {"x":1}');
  });

  test('eventLog: the newest events, and every warning, gate and stop however old', () => {
    const store = openRun(root, runId);
    const log = eventLog(store, 2);
    store.close();
    assert.equal(log.total, LOG.length);
    assert.deepEqual(
      log.recent.map((e) => [e.type, e.at]),
      [
        ['round-end', at(8)],
        ['run-end', at(9)],
      ],
    );
    assert.deepEqual(
      log.notable.map((e) => e.type),
      ['warning', 'gate', 'run-end'],
    );
    assert.deepEqual(
      log.notable.map((e) => [e.round, e.stage]),
      [
        [1, null],
        [1, null],
        [null, null],
      ],
    );
  });

  test('the overview carries the log; a run that logged nothing says so', async () => {
    const store = openRun(root, runId);
    const o = runOverview(store, { events: 3, pairs: 0 });
    store.close();
    assert.deepEqual(
      o.events.recent.map((e) => e.type),
      ['gate', 'round-end', 'run-end'],
    );
    const { out } = await runCommand(registerShow, ['show', 'run-quiet', '--root', root]);
    assert.match(out, /\nevents: none logged\n$/);
  });

  test('show prints the last events and the warnings, gates and stops', async () => {
    const { out } = await runCommand(registerShow, [
      'show',
      runId,
      '--root',
      root,
      '--pairs',
      '0',
      '--events',
      '3',
    ]);
    const section = out.slice(out.indexOf('\nevents:'));
    assert.equal(
      section,
      [
        '',
        'events: the last 3 of 10',
        '  2025-03-01 11:00:07Z  gate: win_rate 0.250 < 0.500 → stop',
        '  2025-03-01 11:00:08Z  round 1 done in 12.0s',
        '  2025-03-01 11:00:09Z  run stopped-by-gate after 14.0s',
        '',
        'warnings, gates and stops: 3',
        '  2025-03-01 11:00:04Z  warning: judge output unparsable',
        '  2025-03-01 11:00:07Z  gate: win_rate 0.250 < 0.500 → stop',
        '  2025-03-01 11:00:09Z  run stopped-by-gate after 14.0s',
        '',
      ].join('\n'),
    );
  });
});
