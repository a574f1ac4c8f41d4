import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openStore } from '../../src/store/run-store.js';
import { seededStore, tempDir, throwsCode } from './fixtures.js';

const tmp = tempDir();
after(() => tmp.cleanup());

const T0 = '2025-02-01T12:00:00.000Z';

describe('the event log', () => {
  test('appendEvent: type, round and stage get columns, the emission time is `at`, the rest is the payload', () => {
    const { store } = seededStore(join(tmp.dir, 'append.sqlite'));
    const id = store.appendEvent({
      type: 'stage-end',
      time: T0,
      runId: 'run-1',
      round: 0,
      stage: 2,
      kind: 'pair',
      status: 'done',
      seconds: 1.25,
      counts: { pairs: 2, discards: 1 },
    });
    store.appendEvent({ type: 'run-end', time: '2025-02-01T12:00:05.000Z', runId: 'run-1' });
    const [e, end] = store.listEvents();
    assert.deepEqual(e, {
      id,
      runId: 'run-1',
      round: 0,
      stageIndex: 2,
      at: T0,
      type: 'stage-end',
      // the run id is the store's, not repeated in the payload
      data: { kind: 'pair', status: 'done', seconds: 1.25, counts: { pairs: 2, discards: 1 } },
    });
    assert.deepEqual([end.round, end.stageIndex, end.data], [null, null, null]);
    assert.equal(store.countEvents(), 2);
    // the generic addEvent and the tail reader see the same table
    const n = store.addEvent({ type: 'note', data: { x: 1 } });
    assert.deepEqual(
      store.eventsSince(id).map((r) => r.id),
      [end.id, n],
    );
    store.close();
  });

  test('listEvents: oldest first, by type, and only the newest few', () => {
    const { store } = seededStore(join(tmp.dir, 'list.sqlite'));
    const types = ['run-start', 'round-start', 'warning', 'stage-start', 'gate', 'round-end'];
    types.forEach((type, i) =>
      store.appendEvent({ type, time: `2025-02-01T12:00:0${i}.000Z`, round: 1 }),
    );
    assert.deepEqual(
      store.listEvents().map((e) => e.type),
      types,
    );
    assert.deepEqual(
      store.listEvents({ last: 2 }).map((e) => e.type),
      ['gate', 'round-end'],
    );
    assert.deepEqual(
      store.listEvents({ types: ['gate', 'warning'] }).map((e) => e.type),
      ['warning', 'gate'],
    );
    assert.deepEqual(
      store.listEvents({ types: ['run-start', 'warning', 'gate'], last: 2 }).map((e) => e.type),
      ['warning', 'gate'],
    );
    assert.deepEqual(store.listEvents({ types: [] }), []);
    assert.deepEqual(store.listEvents({ last: 0 }), []);
    store.close();
  });

  test('events belong to the selected run; a read-only store reads them, a closed one refuses', () => {
    const path = join(tmp.dir, 'runs.sqlite');
    const { store } = seededStore(path);
    store.appendEvent({ type: 'run-start', time: T0 });
    store.createRun({
      id: 'run-2',
      name: 'other',
      pipelinePath: 'p.yaml',
      pipelineYaml: 'name: other\n',
    });
    assert.equal(store.countEvents(), 0);
    assert.deepEqual(store.listEvents(), []);
    store.close();
    throwsCode(() => store.appendEvent({ type: 'late', time: T0 }), 'E_STORE_CLOSED');

    const reader = openStore(path, { readonly: true });
    reader.useRun('run-1');
    assert.deepEqual(
      reader.listEvents().map((e) => [e.type, e.at]),
      [['run-start', T0]],
    );
    throwsCode(() => reader.appendEvent({ type: 'x', time: T0 }), 'E_STORE_WRITE');
    reader.close();
  });

  test('a payload JSON cannot hold is refused with E_STORE_VALUE', () => {
    const { store } = seededStore(join(tmp.dir, 'bad.sqlite'));
    throwsCode(() => store.appendEvent({ type: 'x', time: T0, big: 1n }), 'E_STORE_VALUE');
    assert.equal(store.countEvents(), 0);
    store.close();
  });
});
