import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, migrate } from '../../src/store/migrations.js';
import { openStore } from '../../src/store/run-store.js';
import { seededStore, tempDir, throwsCode } from './fixtures.js';

const tmp = tempDir();
after(tmp.cleanup);
let n = 0;
const fresh = () => join(tmp.dir, `m${++n}`, 'run.sqlite');

const TABLES = [
  'audit_items',
  'audit_labels',
  'candidate_labels',
  'candidates',
  'checkpoint_discards',
  'checkpoints',
  'eval_metrics',
  'events',
  'gate_stops',
  'input_changes',
  'input_files',
  'judge_pairs',
  'judgements',
  'meta_judgements',
  'pair_discards',
  'pairs',
  'prompts',
  'rl_samples',
  'round_resets',
  'rounds',
  'runs',
  'served_models',
  'stage_runs',
  'texts',
  'train_steps',
];

describe('migrations', () => {
  test('an empty file is migrated to the current version, with every table STRICT', () => {
    const path = fresh();
    const store = openStore(path);
    const db = store.db;
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(db.pragma('application_id', { simple: true }), APPLICATION_ID);
    const tables = db
      .prepare(
        "SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all() as { name: string; strict: number }[];
    assert.deepEqual(
      tables.map((t) => t.name),
      TABLES,
    );
    for (const t of tables) assert.equal(t.strict, 1, `${t.name} is not STRICT`);
    assert.deepEqual(db.pragma('foreign_key_check'), []);
    store.close();
  });

  test('connection settings: WAL, foreign keys, busy timeout, synchronous NORMAL', () => {
    const store = openStore(fresh(), { busyTimeoutMs: 1234 });
    assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(store.db.pragma('foreign_keys', { simple: true }), 1);
    assert.equal(store.db.pragma('busy_timeout', { simple: true }), 1234);
    assert.equal(store.db.pragma('synchronous', { simple: true }), 1);
    store.close();
  });

  test('reopening a current database changes nothing and keeps the data', () => {
    const path = fresh();
    const { store } = seededStore(path);
    store.close();
    const again = openStore(path);
    assert.equal(again.runId, 'run-1');
    assert.equal(again.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(again.listRounds().length, 1);
    again.close();
  });

  test('an older database gets the remaining migrations, all in one transaction', () => {
    const path = fresh();
    openStore(path).close(); // creates the folder
    const db = new Database(join(tmp.dir, `m${n}`, 'raw.sqlite'));
    const m = [
      'CREATE TABLE a (x INTEGER) STRICT; INSERT INTO a VALUES (1);',
      'CREATE TABLE b (y TEXT) STRICT;',
      'ALTER TABLE a ADD COLUMN z TEXT;',
    ];
    assert.deepEqual(migrate(db, 'raw', m.slice(0, 1)), { from: 0, to: 1 });
    assert.equal(db.pragma('user_version', { simple: true }), 1);
    assert.deepEqual(migrate(db, 'raw', m), { from: 1, to: 3 });
    assert.equal(db.pragma('user_version', { simple: true }), 3);
    assert.deepEqual(db.prepare('SELECT x, z FROM a').all(), [{ x: 1, z: null }]);
    assert.deepEqual(migrate(db, 'raw', m), { from: 3, to: 3 });

    // A failing migration rolls back the ones before it in the same upgrade.
    const broken = [...m, 'CREATE TABLE c (w TEXT) STRICT;', 'THIS IS NOT SQL;'];
    assert.throws(() => migrate(db, 'raw', broken));
    assert.equal(db.pragma('user_version', { simple: true }), 3);
    const c = db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'c'").get();
    assert.deepEqual(c, { n: 0 });
    db.close();
  });

  test('the real migrations apply from version 0 to the last', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    assert.deepEqual(migrate(db, ':memory:'), { from: 0, to: MIGRATIONS.length });
    assert.deepEqual(db.pragma('foreign_key_check'), []);
    db.close();
  });

  test('a database written by a newer build is refused and left untouched', () => {
    const path = fresh();
    openStore(path).close();
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    const e = throwsCode(() => openStore(path), 'E_STORE_VERSION', /newer/);
    assert.match(e.hint ?? '', /upgrade/);
    throwsCode(() => openStore(path, { readonly: true }), 'E_STORE_VERSION');
    const check = new Database(path, { readonly: true });
    assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION + 1);
    check.close();
  });

  test('tables without a schema version are never migrated over', () => {
    const path = fresh();
    openStore(path).close();
    const raw = new Database(path);
    raw.pragma('user_version = 0');
    raw.exec('DROP TABLE events');
    raw.close();
    throwsCode(() => openStore(path), 'E_STORE_OPEN', /not a rlaif-pipeline run database/);
  });

  test('an empty file opened read-only is not a run database', () => {
    const path = fresh();
    mkdirSync(dirname(path), { recursive: true });
    new Database(path).close();
    throwsCode(() => openStore(path, { readonly: true }), 'E_STORE_VERSION', /empty/);
  });

  test("another application's SQLite file is refused", () => {
    const path = fresh();
    openStore(path).close(); // folder
    const other = join(tmp.dir, `m${n}`, 'other.sqlite');
    const raw = new Database(other);
    raw.pragma('application_id = 42');
    raw.exec('CREATE TABLE t (x)');
    raw.close();
    throwsCode(() => openStore(other), 'E_STORE_OPEN', /application_id/);
    const plain = join(tmp.dir, `m${n}`, 'plain.sqlite');
    const raw2 = new Database(plain);
    raw2.exec('CREATE TABLE t (x)');
    raw2.close();
    throwsCode(() => openStore(plain), 'E_STORE_OPEN', /no schema version/);
  });

  test('a file that is not SQLite at all gives E_STORE_CORRUPT', () => {
    const path = fresh();
    openStore(path).close();
    const junk = join(tmp.dir, `m${n}`, 'junk.sqlite');
    writeFileSync(junk, 'this is not a database'.repeat(50));
    throwsCode(() => openStore(junk), 'E_STORE_CORRUPT');
    throwsCode(() => openStore(junk, { readonly: true }), 'E_STORE_CORRUPT');
  });
});
