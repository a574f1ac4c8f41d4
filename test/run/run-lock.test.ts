// One run, one writer: a second resume of a run whose holder is alive is refused, naming the
// holder; a stale lock (dead pid on this host) is taken over with a notice; the lock goes away
// on every way out of the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPipelineError } from '../../src/core/errors.js';
import type { PipelineEvent } from '../../src/events.js';
import { runPipeline } from '../../src/run/runner.js';
import { acquireRunLock, LOCK_FILE } from '../../src/run/run-lock.js';
import { openStore } from '../../src/store/run-store.js';
import { fromRoot } from '../helpers/paths.js';

const SMOKE = fromRoot('pipelines/smoke.yaml');

/** A root holding run `id` with a database (as a crashed run leaves it), and no lock. */
function storedRun(id: string): { root: string; runDir: string } {
  const root = mkdtempSync(join(tmpdir(), 'rlaif-lock-'));
  const runDir = join(root, id);
  mkdirSync(runDir);
  const store = openStore(join(runDir, 'run.sqlite'));
  // a different pipeline text: a resume that gets past the lock stops at E_RESUME_CHANGED
  store.createRun({ id, name: 'smoke', pipelinePath: SMOKE, pipelineYaml: 'x', seed: 1 });
  store.setRunStatus('failed');
  store.close();
  return { root, runDir };
}

/** A pid that surely belonged to a process of this host that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(r.stdout);
}

test('a second writer is refused with the holder named; after release the lock is free', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-lock-'));
  const first = acquireRunLock(dir, () => assert.fail('no notice for a live holder'));
  assert.throws(
    () => acquireRunLock(dir, () => {}),
    (e: unknown) =>
      isPipelineError(e) &&
      e.code === 'E_RUN_LOCKED' &&
      e.message.includes(`pid ${process.pid} on ${hostname()} (since `),
  );
  first.release();
  assert.ok(!existsSync(join(dir, LOCK_FILE)));
  acquireRunLock(dir, () => {}).release();
});

test('a stale lock (dead pid on this host) is taken over with a notice', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-lock-'));
  const pid = deadPid();
  const stale = { pid, host: hostname(), started: '2026-01-01T00:00:00.000Z' };
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify(stale));
  const notices: string[] = [];
  const lock = acquireRunLock(dir, (m) => notices.push(m));
  assert.equal(notices.length, 1);
  assert.match(notices[0], new RegExp(`stale lock .*pid ${pid} on .* is no longer running`));
  const held = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number };
  assert.equal(held.pid, process.pid);
  lock.release();
});

test('a lock held by another host is not guessed stale', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-lock-'));
  const other = { pid: deadPid(), host: `not-${hostname()}`, started: '2026-01-01T00:00:00Z' };
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify(other));
  assert.throws(
    () => acquireRunLock(dir, () => {}),
    (e: unknown) =>
      isPipelineError(e) && e.code === 'E_RUN_LOCKED' && e.message.includes(other.host),
  );
});

test('pipeline run --resume while another writer holds the run is refused; nothing changes', async () => {
  const { root, runDir } = storedRun('held');
  const holder = acquireRunLock(runDir, () => {});
  try {
    await assert.rejects(
      runPipeline({ file: SMOKE, root, resume: 'held' }),
      (e: unknown) =>
        isPipelineError(e) &&
        e.code === 'E_RUN_LOCKED' &&
        e.message.includes(`run folder ${runDir} is in use by pid ${process.pid}`),
    );
  } finally {
    holder.release();
  }
  const store = openStore(join(runDir, 'run.sqlite'), { readonly: true });
  try {
    assert.equal(store.getRun()!.status, 'failed', 'the refused resume wrote nothing');
  } finally {
    store.close();
  }
});

test('a resume takes over a stale lock with a warning event and releases it when it fails', async () => {
  const { root, runDir } = storedRun('stale');
  const stale = { pid: deadPid(), host: hostname(), started: '2026-01-01T00:00:00.000Z' };
  writeFileSync(join(runDir, LOCK_FILE), JSON.stringify(stale));
  const events: PipelineEvent[] = [];
  await assert.rejects(
    runPipeline({ file: SMOKE, root, resume: 'stale', sink: (e) => events.push(e) }),
    (e: unknown) => isPipelineError(e) && e.code === 'E_RESUME_CHANGED',
  );
  const warnings = events.filter((e) => e.type === 'warning');
  assert.equal(warnings.length, 1);
  assert.match(JSON.stringify(warnings[0]), /taking over the stale lock/);
  assert.ok(!existsSync(join(runDir, LOCK_FILE)), 'released on the failure path');
});
