import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inputHash } from '../../src/store/hash.js';
import { openStore } from '../../src/store/run-store.js';
import { seededStore, tempDir, throwsCode } from './fixtures.js';

const tmp = tempDir();
after(tmp.cleanup);
let n = 0;
const fresh = () => join(tmp.dir, `o${++n}`, 'run.sqlite');

describe('opening failures are PipelineErrors with a hint', () => {
  test('creates missing parent folders', () => {
    const path = join(tmp.dir, 'deep', 'runs', 'abc', 'run.sqlite');
    openStore(path).close();
    openStore(path, { readonly: true }).close();
  });

  test('a runs folder that cannot be created (a file in the way) gives E_STORE_OPEN', () => {
    const file = join(tmp.dir, 'not-a-folder');
    writeFileSync(file, 'x');
    const e = throwsCode(
      () => openStore(join(file, 'run-1', 'run.sqlite')),
      'E_STORE_OPEN',
      /cannot create the folder/,
    );
    assert.match(e.hint ?? '', /is an existing file/);
    assert.equal((e.cause as { code?: string }).code, 'ENOTDIR');
    throwsCode(() => openStore(join(file, 'run.sqlite')), 'E_STORE_OPEN');
  });

  test('an unwritable folder gives E_STORE_OPEN (skipped as root: chmod does not bind root)', (t) => {
    if (process.getuid?.() === 0) {
      t.skip('running as root');
      return;
    }
    const dir = join(tmp.dir, 'locked');
    mkdirSync(dir);
    chmodSync(dir, 0o555);
    try {
      throwsCode(() => openStore(join(dir, 'run-1', 'run.sqlite')), 'E_STORE_OPEN');
    } finally {
      chmodSync(dir, 0o755);
    }
    // an existing run whose file may not be written: refused up front, readable read-only
    const path = join(dir, 'run-2', 'run.sqlite');
    seededStore(path).store.close();
    chmodSync(path, 0o444);
    throwsCode(() => openStore(path), 'E_STORE_OPEN', /not writable/);
    openStore(path, { readonly: true }).close();
  });

  test('a folder path gives E_STORE_OPEN', () => {
    const dir = join(tmp.dir, 'a-folder');
    mkdirSync(dir);
    throwsCode(() => openStore(dir), 'E_STORE_OPEN', /is a folder/);
  });

  test('read-only open of a missing database gives E_STORE_OPEN', () => {
    throwsCode(() => openStore(fresh(), { readonly: true }), 'E_STORE_OPEN', /no run database/);
  });

  test('writing through a read-only store gives E_STORE_WRITE', () => {
    const path = fresh();
    seededStore(path).store.close();
    const ro = openStore(path, { readonly: true });
    assert.equal(ro.runId, 'run-1');
    const e = throwsCode(() => ro.putText('rubric', null, 'x'), 'E_STORE_WRITE', /read-only/);
    assert.match(e.hint ?? '', /read-only/);
    throwsCode(() => ro.upsertRound(3), 'E_STORE_WRITE');
    ro.close();
  });

  test('a full disk gives E_STORE_WRITE, keeps what was stored, and recovers', () => {
    const path = fresh();
    const { store } = seededStore(path);
    const pages = store.db.pragma('page_count', { simple: true }) as number;
    // max_page_count makes SQLite report SQLITE_FULL exactly as a full disk does
    store.db.pragma(`max_page_count = ${pages + 2}`);
    const big = 'x'.repeat(64 * 1024);
    const e = throwsCode(
      () =>
        store.transaction(() => {
          for (let i = 0; i < 8; i++) store.putText('prompt_file', `f${i}`, big + i);
        }),
      'E_STORE_WRITE',
      /full/,
    );
    assert.match(e.hint ?? '', /free space/);
    assert.equal(store.getText(inputHash('none')), undefined);
    assert.equal(store.listRounds().length, 1);
    store.db.pragma('max_page_count = 1073741823');
    store.putText('prompt_file', 'f0', big);
    store.close();
  });

  test('a writer blocked past busy_timeout gives E_STORE_BUSY', () => {
    const path = fresh();
    const { store: a } = seededStore(path);
    const b = openStore(path, { busyTimeoutMs: 50 });
    a.transaction(() => {
      a.addEvent({ type: 'holding the write lock' });
      const e = throwsCode(() => b.addEvent({ type: 'second writer' }), 'E_STORE_BUSY');
      assert.match(e.hint ?? '', /another process/);
    });
    assert.equal(b.eventsSince().length, 1);
    a.close();
    b.close();
  });
});
