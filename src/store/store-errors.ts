// Turns what better-sqlite3 and the file system throw into PipelineErrors with a hint, so a full
// disk or a read-only folder reads as an instruction, never as a native stack trace. The
// original error stays attached as `cause` for --debug.

import { PipelineError, isPipelineError } from '../core/errors.js';

/** SQLite's extended result code, e.g. SQLITE_CONSTRAINT_FOREIGNKEY (better-sqlite3's SqliteError). */
function sqliteCode(e: unknown): string | undefined {
  if (e instanceof Error && e.name === 'SqliteError') {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function errnoCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined;
}

function make(code: string, message: string, hint: string, cause: unknown): PipelineError {
  return new PipelineError({ code, message, hint }, { cause });
}

const RESUME = 'the stored work is intact: re-run the same command to resume where it stopped';

/**
 * Maps an error raised while `op` ran against the database at `path`. PipelineErrors pass
 * through unchanged (including ones a transaction body threw on purpose).
 */
export function storeError(e: unknown, path: string, op: string): PipelineError {
  if (isPipelineError(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const sc = sqliteCode(e);
  if (sc !== undefined) return sqliteError(e, sc, msg, path, op);
  // better-sqlite3 throws these when a JS value cannot be bound (a boolean, an object, too few
  // parameters): the caller passed the wrong shape, which TypeScript casts can hide.
  if (e instanceof TypeError || e instanceof RangeError)
    return make(
      'E_STORE_VALUE',
      `${path}: ${op} failed: ${msg}`,
      'a value of the wrong JavaScript type reached the store (numbers, strings and null are stored; JSON fields take plain data); this is a bug in the caller',
      e,
    );
  return make(
    'E_STORE',
    `${path}: ${op} failed: ${msg}`,
    'this is unexpected; re-run with --debug and report it',
    e,
  );
}

/** Maps a better-sqlite3 SqliteError by its extended result code `sc`. */
function sqliteError(e: unknown, sc: string, msg: string, path: string, op: string): PipelineError {
  const where = `${path}: ${op} failed`;
  if (sc === 'SQLITE_CONSTRAINT_FOREIGNKEY')
    return make(
      'E_STORE_CONSTRAINT',
      `${where}: a referenced row does not exist (${msg})`,
      'store the prompt, candidate, checkpoint, text, round and stage a row points at before the row itself',
      e,
    );
  if (sc.startsWith('SQLITE_CONSTRAINT'))
    return make(
      'E_STORE_CONSTRAINT',
      `${where}: ${msg} [${sc}]`,
      'the value does not fit the run database schema (see src/store/migrations.ts); this is a bug in the step that wrote it',
      e,
    );
  if (sc === 'SQLITE_FULL')
    return make(
      'E_STORE_WRITE',
      `${where}: the disk (or the database size limit) is full`,
      `free space on the volume that holds ${path}; ${RESUME}`,
      e,
    );
  if (sc.startsWith('SQLITE_READONLY'))
    return make(
      'E_STORE_WRITE',
      `${where}: the run database is read-only (${msg})`,
      'it was opened read-only, or the file or its folder cannot be written: check permissions and that the volume is not mounted read-only',
      e,
    );
  if (sc.startsWith('SQLITE_IOERR'))
    return make(
      'E_STORE_WRITE',
      `${where}: I/O error (${msg}) [${sc}]`,
      `check the disk holding ${path} (space, permissions, a removed or network volume); ${RESUME}`,
      e,
    );
  if (sc.startsWith('SQLITE_BUSY') || sc.startsWith('SQLITE_LOCKED'))
    return make(
      'E_STORE_BUSY',
      `${where}: the run database stayed locked by another connection (${msg})`,
      'another process is writing this run (is a second `pipeline run` resuming it?); wait for it to finish or stop it',
      e,
    );
  if (sc === 'SQLITE_CANTOPEN')
    return make(
      'E_STORE_OPEN',
      `${path}: cannot open the run database (${msg})`,
      'check that the folder exists and can be written, and that the path is not a folder',
      e,
    );
  if (sc === 'SQLITE_NOTADB' || sc.startsWith('SQLITE_CORRUPT'))
    return make(
      'E_STORE_CORRUPT',
      `${path}: ${msg} [${sc}]`,
      'this file is not an intact SQLite database; if it is a run database, restore it from a backup or start a new run',
      e,
    );
  return make(
    'E_STORE',
    `${where}: ${msg} [${sc}]`,
    'this is unexpected; re-run with --debug and report it',
    e,
  );
}

/** Maps a file-system error from preparing the folder of a run database. */
export function dirError(e: unknown, dir: string, path: string): PipelineError {
  const code = errnoCode(e);
  const msg = e instanceof Error ? e.message : String(e);
  let hint: string;
  switch (code) {
    case 'ENOTDIR':
    case 'EEXIST':
      hint = `a part of ${dir} is an existing file, not a folder: choose another runs folder or move the file`;
      break;
    case 'EACCES':
    case 'EPERM':
      hint = `you may not create or write ${dir}: fix its permissions or choose another runs folder`;
      break;
    case 'EROFS':
      hint = `${dir} is on a read-only file system: choose a runs folder on a writable disk`;
      break;
    case 'ENOSPC':
      hint = `the disk holding ${dir} is full: free some space`;
      break;
    default:
      hint = `check that ${dir} can be created and written`;
  }
  return make(
    'E_STORE_OPEN',
    `${path}: cannot create the folder of the run database (${msg})`,
    hint,
    e,
  );
}
