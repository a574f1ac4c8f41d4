// Opening a finished run that lies on read-only media (a read-only mount, an archive, a folder
// this user may not write). SQLite opens a WAL database, even read-only, only when its -wal and
// -shm files exist or can be created beside it (https://sqlite.org/wal.html#readonly); on such
// media they cannot, and the open fails with SQLITE_CANTOPEN. The `immutable=1` URI parameter
// would lift that, but better-sqlite3 is built without URI filenames (SQLITE_USE_URI=0), so the
// database is read into memory instead: a finished run's -wal is empty (the last connection's
// close checkpoints it), so the main file alone holds every row.

import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { fail } from '../core/errors.js';

/** True when SQLite could not create the -wal/-shm files beside `path`. */
export function onReadOnlyMedia(path: string): boolean {
  try {
    accessSync(dirname(path), constants.W_OK);
    return false;
  } catch {
    return true;
  }
}

/**
 * A read-only connection to the run database at `path` whose folder cannot be written. With
 * -wal and -shm both present SQLite reads them in place; with a non-empty -wal but no -shm the
 * last commits cannot be read, which is refused rather than shown without them.
 */
export function openOnReadOnlyMedia(path: string, timeout: number): Database.Database {
  const wal = `${path}-wal`;
  if (existsSync(wal) && existsSync(`${path}-shm`))
    return new Database(path, { readonly: true, fileMustExist: true, timeout });
  if (existsSync(wal) && statSync(wal).size > 0)
    fail(
      'E_STORE_OPEN',
      `${path}: the run's last writes are still in ${wal} (the run did not close cleanly), and ` +
        `${dirname(path)} cannot be written, so SQLite cannot read them there`,
      'copy the run folder to a writable disk and open it there; the first open merges the log',
    );
  const bytes = readFileSync(path);
  // Header bytes 18-19 are the file format's write/read versions: 2 means WAL, which an
  // in-memory database cannot use; 1 (rollback journal) reads the same pages.
  if (bytes.length >= 20 && bytes[18] === 2 && bytes[19] === 2) bytes[18] = bytes[19] = 1;
  return new Database(bytes, { readonly: true, timeout });
}
