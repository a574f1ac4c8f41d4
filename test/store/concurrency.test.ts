import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { inputHash } from '../../src/store/hash.js';
import { openStore, type RunStore } from '../../src/store/run-store.js';
import { seededStore, tempDir } from './fixtures.js';

const tmp = tempDir();
after(tmp.cleanup);
let n = 0;
const fresh = () => join(tmp.dir, `c${++n}`, 'run.sqlite');

const counts = (s: RunStore) =>
  s.db
    .prepare(
      'SELECT (SELECT count(*) FROM prompts) AS prompts, (SELECT count(*) FROM candidates) AS candidates',
    )
    .get() as { prompts: number; candidates: number };

describe('WAL concurrency', () => {
  test('a writer commits while a reader holds a snapshot; the reader then sees it', () => {
    const path = fresh();
    const { store: writer } = seededStore(path, { busyTimeoutMs: 100 });
    const reader = openStore(path, { readonly: true });
    reader.transaction(() => {
      assert.equal(counts(reader).prompts, 0);
      // With a rollback journal this commit would wait for the reader's lock and fail BUSY.
      writer.addPrompt({
        round: 0,
        source: 'seed',
        messages: [{ role: 'user', content: 'new' }],
        inputHash: inputHash('new'),
      });
      assert.equal(counts(writer).prompts, 1);
      assert.equal(counts(reader).prompts, 0, 'the reader keeps its snapshot');
    });
    assert.equal(counts(reader).prompts, 1);
    reader.close();
    writer.close();
  });

  test('a reader polling while a worker thread writes never sees a half-written prompt', async () => {
    const path = fresh();
    seededStore(path).store.close();
    const prompts = 150;
    const perPrompt = 4;
    const reader = openStore(path, { readonly: true });
    const worker = new Worker(fileURLToPath(new URL('./writer-worker.js', import.meta.url)), {
      workerData: { path, prompts, perPrompt },
    });
    let finished = false;
    const done = new Promise<void>((resolve, reject) => {
      worker.on('error', reject);
      worker.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`worker exited ${code}`)),
      );
    }).finally(() => {
      finished = true;
    });
    let last = 0;
    let reads = 0;
    while (!finished) {
      const c = reader.transaction(() => counts(reader));
      assert.equal(c.candidates, c.prompts * perPrompt, 'a prompt is visible with all candidates');
      assert.ok(c.prompts >= last, 'counts never go backwards');
      last = c.prompts;
      reads++;
      await new Promise((r) => setImmediate(r));
    }
    await done;
    assert.ok(reads > 0);
    assert.deepEqual(counts(reader), { prompts, candidates: prompts * perPrompt });
    reader.close();
  });

  test('a process killed mid-transaction leaves only what it committed', () => {
    const path = fresh();
    seededStore(path).store.close();
    const child = fileURLToPath(new URL('./crash-child.js', import.meta.url));
    const r = spawnSync(process.execPath, [child, path], { encoding: 'utf8' });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    const store = openStore(path);
    assert.deepEqual(counts(store), { prompts: 1, candidates: 4 });
    assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
    assert.deepEqual(store.db.pragma('foreign_key_check'), []);
    // The resumed run redoes the lost work without duplicating what survived.
    const again = store.addPrompt({
      round: 0,
      source: 'seed',
      messages: [{ role: 'user', content: 'prompt 0' }],
      inputHash: inputHash('crash', 0),
    });
    assert.equal(counts(store).prompts, 1);
    assert.equal(store.candidatesForPrompt(0, again).length, 4);
    store.close();
  });
});
