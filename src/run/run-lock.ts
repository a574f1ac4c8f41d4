// One run, one writer: runs/<id>/.lock, created with O_EXCL, holds {pid, host, started}.
//
// Two processes resuming one run would both retrain into the same round-N/policy/ and count
// every attempt twice. SQLite's own locking serialises statements, not runs, so the run folder
// carries a lock of its own. A lock left by a process that died (kill -9, power loss) is stale:
// on this host `kill(pid, 0)` failing with ESRCH proves it, and the lock is taken over with a
// notice. A lock from another host cannot be checked from here, so it is refused with a hint.
//
// Two processes taking over one stale lock in the same instant can both succeed (unlink, then
// create, is not one step); a live holder is always refused.

import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PipelineError } from '../core/errors.js';

export const LOCK_FILE = '.lock';

export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the holder took the lock. */
  started: string;
}

export interface RunLock {
  /** Remove the lock if it is still ours; safe to call more than once. */
  release: () => void;
}

/**
 * Take the run folder's lock or throw E_RUN_LOCKED naming the holder; `notice` hears about a
 * stale lock taken over.
 */
export function acquireRunLock(runDir: string, notice: (message: string) => void): RunLock {
  const path = join(runDir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  for (let tries = 0; ; tries++) {
    if (tryCreate(path, me)) break;
    const holder = readHolder(path);
    if (holder === 'gone') continue; // released between our two looks: try again
    if (tries > 0 || !isStale(holder)) throw lockedError(runDir, path, holder);
    notice(
      `taking over the stale lock of run folder ${runDir}: ${describe(holder)} is no longer running`,
    );
    unlinkQuietly(path);
  }
  const release = () => {
    process.off('exit', release);
    const now = readHolder(path);
    if (now !== 'gone' && now !== null && now.pid === me.pid && now.started === me.started)
      unlinkQuietly(path);
  };
  // process.exit() (a second Ctrl-C) skips `finally` blocks but still runs exit handlers
  process.on('exit', release);
  return { release };
}

function tryCreate(path: string, me: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if ((e as { code?: string }).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, `${JSON.stringify(me)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The holder, null when the file is unreadable (being written, or not ours), 'gone' if absent. */
function readHolder(path: string): LockHolder | null | 'gone' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return (e as { code?: string }).code === 'ENOENT' ? 'gone' : null;
  }
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.started === 'string')
      return { pid: v.pid, host: v.host, started: v.started };
  } catch {
    // half-written by a holder that is starting right now: treated as held
  }
  return null;
}

/** Dead on this host: signal 0 checks existence without touching the process. */
function isStale(holder: LockHolder | null): holder is LockHolder {
  if (holder === null || holder.host !== hostname()) return false;
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (e) {
    return (e as { code?: string }).code === 'ESRCH';
  }
}

function describe(h: LockHolder): string {
  return `pid ${h.pid} on ${h.host} (since ${h.started})`;
}

function lockedError(runDir: string, path: string, holder: LockHolder | null): PipelineError {
  const who = holder ? describe(holder) : 'another process (its lock file is unreadable)';
  const elsewhere = holder !== null && holder.host !== hostname();
  return new PipelineError({
    code: 'E_RUN_LOCKED',
    message: `run folder ${runDir} is in use by ${who}; one run has one writer`,
    hint: elsewhere
      ? `wait for it to finish; if that process is surely gone, delete ${path} and resume again`
      : `wait for it to finish or stop it (Ctrl-C), then resume; delete ${path} only if no such process runs`,
  });
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
