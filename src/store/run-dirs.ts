// The runs folder: one run per directory, runs/<run-id>/run.sqlite. Listing opens each database
// read-only, so it works while a run is being written (WAL) and never migrates or locks anything;
// one unreadable run becomes an entry with an error instead of failing the whole listing.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fail, isPipelineError } from '../core/errors.js';
import { openStore } from './run-store.js';
import type { RunCounts, RunRow, StoredError } from './types.js';

/** The database file inside a run's folder. */
export const RUN_DB_FILE = 'run.sqlite';

// A run id names a folder: keep it to characters that are safe on every file system and in URLs.
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function assertRunId(id: string): void {
  if (!RUN_ID.test(id))
    fail(
      'E_STORE_RUN_ID',
      `invalid run id '${id}'`,
      'use letters, digits, dot, dash and underscore (starting with a letter or digit), at most 128 characters',
    );
}

/** runs/<run-id>/run.sqlite under `root`. */
export function runDbPath(root: string, runId: string): string {
  assertRunId(runId);
  return join(root, runId, RUN_DB_FILE);
}

export type RunSummary = Omit<RunRow, 'pipelineYaml'> & RunCounts;

export interface RunDirEntry {
  /** The run's folder. */
  dir: string;
  dbPath: string;
  /** Null when the database could not be read (see error) or holds no run yet. */
  run: RunSummary | null;
  error: StoredError | null;
}

/**
 * Every run under `root` (folders holding run.sqlite), sorted by folder name; [] when `root`
 * does not exist yet.
 */
export function listRunDirs(root: string): RunDirEntry[] {
  let names: string[];
  try {
    names = readdirSync(root).sort();
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') return [];
    fail(
      'E_STORE_OPEN',
      `cannot list the runs folder ${root}: ${e instanceof Error ? e.message : String(e)}`,
      code === 'ENOTDIR'
        ? `${root} is a file; pass the folder that holds the run folders`
        : `check that ${root} is a readable folder`,
    );
  }
  const out: RunDirEntry[] = [];
  for (const name of names) {
    const dir = join(root, name);
    const dbPath = join(dir, RUN_DB_FILE);
    try {
      if (!statSync(dbPath).isFile()) continue;
    } catch {
      continue;
    }
    let store;
    try {
      store = openStore(dbPath, { readonly: true });
      const runs = store.listRuns();
      if (runs.length === 0)
        out.push({
          dir,
          dbPath,
          run: null,
          error: { code: 'E_STORE_NO_RUN', message: `${dbPath}: no run recorded yet` },
        });
      for (const run of runs) {
        const { pipelineYaml: _yaml, ...rest } = run;
        out.push({ dir, dbPath, run: { ...rest, ...store.runCounts(run.id) }, error: null });
      }
    } catch (e) {
      const error: StoredError = isPipelineError(e)
        ? { code: e.code, message: e.message, hint: e.hint }
        : { message: e instanceof Error ? e.message : String(e) };
      out.push({ dir, dbPath, run: null, error });
    } finally {
      store?.close();
    }
  }
  return out;
}
