// Opening a stored run for reading, by id, under a runs folder.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../core/errors.js';
import { RUN_DB_FILE, runDbPath } from '../store/run-dirs.js';
import { openStore, type RunStore } from '../store/run-store.js';

/** Run ids under `root` (folders that hold a run database), without opening them. */
export function runIdsUnder(root: string): string[] {
  try {
    return readdirSync(root)
      .filter((n) => existsSync(join(root, n, RUN_DB_FILE)))
      .sort();
  } catch {
    return [];
  }
}

/**
 * Opens runs/<runId>/run.sqlite read-only (so it works while the run is still being written)
 * and selects the run. A folder that was renamed after the run started still opens when it
 * holds exactly one run. The caller closes the store. `write: true` opens it for writing (the
 * audit's labels), which also brings an older run database up to this build's schema.
 */
export function openRun(root: string, runId: string, opts: { write?: boolean } = {}): RunStore {
  const path = runDbPath(root, runId);
  if (!existsSync(path)) {
    const known = runIdsUnder(root);
    const shown = known.length > 8 ? [...known.slice(-8), '…'] : known;
    fail(
      'E_REPORT_NO_RUN',
      `no run '${runId}' under ${root} (no ${path})`,
      known.length > 0
        ? `runs under ${root}: ${shown.join(', ')} (list them with \`pipeline runs --root ${root}\`)`
        : `${root} holds no runs; pass the runs folder with --root, or start one with \`pipeline run <pipeline.yaml>\``,
    );
  }
  const store = openStore(path, { readonly: !opts.write });
  try {
    if (store.getRun(runId)) store.useRun(runId);
    else {
      const runs = store.listRuns();
      if (runs.length !== 1)
        fail(
          'E_REPORT_NO_RUN',
          `${path} does not hold run '${runId}' (it holds ${runs.length === 0 ? 'no run' : runs.map((r) => r.id).join(', ')})`,
          runs.length === 0
            ? 'the run was created but never started; start it again with `pipeline run`'
            : 'each run folder should hold one run; pass the id of the one you mean',
        );
      store.useRun(runs[0].id);
    }
    return store;
  } catch (e) {
    store.close();
    throw e;
  }
}

/** Runs `fn` on the opened run and closes it afterwards, also when `fn` throws. */
export async function withRun<T>(
  root: string,
  runId: string,
  fn: (store: RunStore) => T | Promise<T>,
): Promise<T> {
  const store = openRun(root, runId);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}
