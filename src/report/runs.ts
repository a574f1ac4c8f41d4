// The rows of `pipeline runs`: one per run folder, broken folders included with their error.

import { basename } from 'node:path';
import { listRunDirs } from '../store/run-dirs.js';
import type { RunStatus, StoredError } from '../store/types.js';
import { durationMs } from './format.js';

export interface RunsListingRow {
  /** The run's folder. */
  dir: string;
  /** The run id, or the folder name when the database could not be read. */
  id: string;
  name: string | null;
  status: RunStatus | null;
  rounds: number | null;
  roundsDone: number | null;
  pairs: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** finished - started; for a run still running, now - started (see `running`). */
  durationMs: number | null;
  running: boolean;
  error: StoredError | null;
}

/** Every run under `root`, oldest folder name first; `now` is the clock for running runs. */
export function runsListing(root: string, now: Date = new Date()): RunsListingRow[] {
  return listRunDirs(root).map((e): RunsListingRow => {
    const r = e.run;
    if (!r)
      return {
        dir: e.dir,
        id: basename(e.dir),
        name: null,
        status: null,
        rounds: null,
        roundsDone: null,
        pairs: null,
        startedAt: null,
        finishedAt: null,
        durationMs: null,
        running: false,
        error: e.error,
      };
    const running = r.status === 'running';
    return {
      dir: e.dir,
      id: r.id,
      name: r.name,
      status: r.status,
      rounds: r.rounds,
      roundsDone: r.roundsDone,
      pairs: r.pairs,
      startedAt: r.createdAt,
      finishedAt: r.finishedAt,
      durationMs: durationMs(r.createdAt, running ? now.toISOString() : r.finishedAt),
      running,
      error: r.error,
    };
  });
}
