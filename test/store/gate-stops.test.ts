// The gate_stops table (migration 2): a run written before it still reads as it was, and a run
// with a stop reads 'stopped' while its status column keeps a value migration 1's CHECK allows.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, migrate } from '../../src/store/migrations.js';
import { openStore } from '../../src/store/run-store.js';
import { PIPELINE_YAML, tempDir, throwsCode } from './fixtures.js';

const tmp = tempDir();
after(tmp.cleanup);

test('a version-1 run database is migrated; its finished run stays finished until a gate stops one', () => {
  const path = join(tmp.dir, 'run.sqlite');
  const v1 = openStore(path); // folder and file
  v1.close();
  const raw = new Database(path);
  raw.exec(
    'DROP TABLE served_models; DROP TABLE rl_samples; DROP TABLE candidate_labels; DROP TABLE judge_pairs; DROP TABLE meta_judgements; DROP TABLE audit_labels; DROP TABLE audit_items; DROP TABLE checkpoint_discards; DROP TABLE round_resets; DROP TABLE input_changes; DROP TABLE input_files; DROP TABLE gate_stops; PRAGMA user_version = 1;',
  );
  assert.deepEqual(migrate(raw, path, MIGRATIONS.slice(0, 1)), { from: 1, to: 1 });
  raw.close();

  const store = openStore(path); // applies migration 2
  try {
    store.createRun({ id: 'r', name: 'test', pipelinePath: 'p.yaml', pipelineYaml: PIPELINE_YAML });
    store.setRunStatus('finished');
    assert.equal(store.getRun()!.status, 'finished');
    store.upsertRound(1, { status: 'done' });
    store.startStage(1, 4, 'evaluate');
    const stop = { round: 1, stageIndex: 4, gateIndex: 0, metric: 'kl', op: '>' as const };
    store.recordGateStops([{ ...stop, threshold: 0.5, value: 0.75 }]);
    store.recordGateStops([{ ...stop, threshold: 0.5, value: 0.75 }]); // a resumed stage: once
    assert.equal(store.getRun()!.status, 'stopped');
    assert.deepEqual(
      store.gateStops().map(({ createdAt: _t, ...g }) => g),
      [{ runId: 'r', ...stop, threshold: 0.5, value: 0.75, action: 'stop' }],
    );
    // the column keeps a value every older reader knows
    const col = store.db.prepare('SELECT status FROM runs').get() as { status: string };
    assert.equal(col.status, 'finished');
    // a stop names a stage that ran: the foreign key refuses one that did not
    throwsCode(
      () => store.recordGateStops([{ ...stop, stageIndex: 9, threshold: 0.5, value: 1 }]),
      'E_STORE_CONSTRAINT',
    );
  } finally {
    store.close();
  }
});
