import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PipelineEvent } from '../../src/events.js';
import { loggingSink } from '../../src/run/event-log.js';
import { openStore } from '../../src/store/run-store.js';

const dir = mkdtempSync(join(tmpdir(), 'rlaif-event-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const base = { time: '2025-02-01T12:00:00.000Z', runId: 'r1' };
const EVENTS: PipelineEvent[] = [
  { ...base, type: 'round-start', round: 1, policy: 'builtin:tiny' },
  { ...base, type: 'stage-start', round: 1, stage: 0, kind: 'generate', total: 2 },
  {
    ...base,
    type: 'stage-progress',
    round: 1,
    stage: 0,
    kind: 'generate',
    done: 1,
    total: 2,
    unit: 'prompts',
  },
  { ...base, type: 'candidate', round: 1, promptId: 'p', index: 0, text: 'hi', tokens: 1 },
  { ...base, type: 'judgement', round: 1, judge: 'self', promptId: 'p', score: 3, text: '3' },
  {
    ...base,
    type: 'train-step',
    round: 1,
    step: 1,
    totalSteps: 2,
    loss: 0.69,
    margin: 0,
    accuracy: 0.5,
    gradNorm: 1,
    learningRate: 1e-4,
  },
  { ...base, type: 'warning', round: 1, message: 'judge output unparsable' },
  { ...base, type: 'run-end', status: 'finished', seconds: 3 },
];

function newRun(path: string) {
  const store = openStore(path);
  store.createRun({ id: 'r1', name: 't', pipelinePath: 'p.yaml', pipelineYaml: 'name: t\n' });
  return store;
}

describe('the runner’s event log sink', () => {
  test('forwards every event and logs all but the ticks', () => {
    const store = newRun(':memory:');
    const seen: PipelineEvent[] = [];
    const sink = loggingSink(store, (e) => seen.push(e));
    for (const e of EVENTS) sink(e);
    assert.deepEqual(seen, EVENTS);
    assert.deepEqual(
      store.listEvents().map((e) => e.type),
      ['round-start', 'stage-start', 'warning', 'run-end'],
    );
    store.close();
    sink(EVENTS[0]); // after close: forwarded, not logged, no throw
    assert.equal(seen.length, EVENTS.length + 1);
  });

  test('a store that refuses the log: one warning, and the events still reach the sink', () => {
    const path = join(dir, 'ro.sqlite');
    newRun(path).close();
    const store = openStore(path, { readonly: true });
    const seen: PipelineEvent[] = [];
    const sink = loggingSink(store, (e) => seen.push(e));
    for (const e of EVENTS) sink(e);
    const warnings = seen.filter((e) => e.type === 'warning');
    assert.equal(warnings.length, 2);
    assert.match(warnings[0].type === 'warning' ? warnings[0].message : '', /^event log stopped: /);
    assert.deepEqual(
      seen.filter((e) => !(e.type === 'warning' && e.message.startsWith('event log'))),
      EVENTS,
    );
    store.close();
  });
});
