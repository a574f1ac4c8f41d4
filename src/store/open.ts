// Opening a run database: folders, permissions, pragmas (WAL, foreign keys, busy timeout), the
// schema migration or, read-only, the version check; and what to tell the user when it fails.

import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { PipelineError, fail } from '../core/errors.js';
import { SCHEMA_VERSION, checkIdentity, migrate } from './migrations.js';
import { onReadOnlyMedia, openOnReadOnlyMedia } from './read-only-media.js';
import { dirError, storeError } from './store-errors.js';

export interface OpenStoreOptions {
  /** Open an existing run database for reading only (reports, listings, a run in progress). */
  readonly?: boolean;
  /** How long a statement waits for another connection's lock before E_STORE_BUSY (default 5000). */
  busyTimeoutMs?: number;
  /** Clock for the stored timestamps (tests). */
  now?: () => Date;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

export function openFailure(e: unknown, path: string, readonly: boolean): PipelineError {
  const pe = storeError(e, path, 'opening the run database');
  // At open time a read-only or unwritable file means "cannot open for writing", whatever
  // SQLite called it; callers branch on E_STORE_OPEN.
  if (pe.code === 'E_STORE_WRITE' || pe.code === 'E_STORE') {
    const hint = readonly ? pe.hint : `${pe.hint}; to only read the run, open it read-only`;
    return new PipelineError({ code: 'E_STORE_OPEN', message: pe.message, hint }, { cause: e });
  }
  return pe;
}

/** Refuses, before SQLite is asked, what SQLite would refuse late or silently. */
function checkPath(path: string, readonly: boolean): void {
  if (readonly && !existsSync(path))
    fail(
      'E_STORE_OPEN',
      `${path}: no run database here`,
      'check the run id and the runs folder; runs/<run-id>/run.sqlite is created by `pipeline run`',
    );
  if (!readonly) {
    const dir = dirname(path);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw dirError(e, dir, path);
    }
  }
  if (existsSync(path) && statSync(path).isDirectory())
    fail(
      'E_STORE_OPEN',
      `${path}: is a folder, not a run database file`,
      'pass the path of the run.sqlite file inside the run folder',
    );
  // SQLite silently falls back to read-only for a file it may not write, so without this check
  // the first failure would come rounds later, at the first write.
  if (!readonly && existsSync(path)) {
    for (const target of [path, dirname(path)]) {
      try {
        accessSync(target, constants.W_OK);
      } catch (e) {
        throw new PipelineError(
          {
            code: 'E_STORE_OPEN',
            message: `${path}: cannot open the run database for writing: ${target} is not writable`,
            hint: 'fix the permissions of the file and its folder (SQLite writes -wal/-shm files next to it), or open the run read-only to inspect it',
          },
          { cause: e },
        );
      }
    }
  }
}

/** Read-only: the file must already hold this build's schema. Read-write: WAL, then migrate. */
function prepareConnection(db: Database.Database, path: string, readonly: boolean): void {
  if (readonly) {
    const version = checkIdentity(db, path, SCHEMA_VERSION);
    if (version < SCHEMA_VERSION)
      fail(
        'E_STORE_VERSION',
        version === 0
          ? `${path}: empty database, not a run database`
          : `${path}: run database has schema version ${version}; this build reads version ${SCHEMA_VERSION}`,
        version === 0
          ? 'pass the run.sqlite of an existing run'
          : 'open it once read-write (e.g. resume the run) to migrate it; migration only adds to it',
      );
    return;
  }
  // WAL lets reports and the UI read a run while it is being written, and a crash never leaves a
  // half-written transaction behind.
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal' && path !== ':memory:')
    fail(
      'E_STORE_OPEN',
      `${path}: SQLite could not switch the run database to WAL mode (got '${String(mode)}')`,
      'keep runs/ on a local disk: network file systems do not support WAL',
    );
  // In WAL mode NORMAL only risks losing the last commits on power loss, never corruption, and a
  // lost commit is recomputed on resume.
  db.pragma('synchronous = NORMAL');
  migrate(db, path);
}

/** The connection to the run database at `path` (or ':memory:'), ready for a RunStore. */
export function openDatabase(
  path: string,
  readonly: boolean,
  busyTimeoutMs: number,
): Database.Database {
  if (path !== ':memory:') checkPath(path, readonly);
  let db: Database.Database;
  try {
    db =
      readonly && path !== ':memory:' && onReadOnlyMedia(path)
        ? openOnReadOnlyMedia(path, busyTimeoutMs)
        : new Database(path, { readonly, fileMustExist: readonly, timeout: busyTimeoutMs });
  } catch (e) {
    throw openFailure(e, path, readonly);
  }
  try {
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    prepareConnection(db, path, readonly);
  } catch (e) {
    db.close();
    throw openFailure(e, path, readonly);
  }
  return db;
}
