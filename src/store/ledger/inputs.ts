// The files a run read, pinned by content hash at its start, and every change a resume was told
// to accept (issue 13: an edited prompt file used to mix two prompt sets into one run silently).

import { prepareAll, type StoreClass } from '../store-base.js';

export interface InputFileRow {
  /** Absolute path of the file as the pipeline resolved it. */
  path: string;
  /** The pipeline key that names it, e.g. `stages[1].rubric`, or `model.path: config.json`. */
  ref: string;
  contentHash: string;
  pinnedAt: string;
}

export interface InputChangeRow {
  path: string;
  oldHash: string;
  newHash: string;
  acceptedBy: string;
  acceptedAt: string;
}

const SQL = {
  pin: `INSERT INTO input_files (run_id, path, ref, content_hash, pinned_at)
    VALUES (@runId, @path, @ref, @contentHash, @now) ON CONFLICT (run_id, path) DO NOTHING`,
  list: `SELECT path, ref, content_hash AS contentHash, pinned_at AS pinnedAt
    FROM input_files WHERE run_id = ? ORDER BY path`,
  repin: `UPDATE input_files SET content_hash = @newHash WHERE run_id = @runId AND path = @path`,
  addChange: `INSERT INTO input_changes (run_id, path, old_hash, new_hash, accepted_by, accepted_at)
    VALUES (@runId, @path, @oldHash, @newHash, @by, @now)`,
  changes: `SELECT path, old_hash AS oldHash, new_hash AS newHash, accepted_by AS acceptedBy,
      accepted_at AS acceptedAt
    FROM input_changes WHERE run_id = ? ORDER BY id`,
};

export function withInputs<B extends StoreClass>(Base: B) {
  abstract class Inputs extends Base {
    readonly #s = prepareAll(this.db, SQL);

    /** Pins the files not pinned yet (a run from before pinning gets its files pinned now). */
    pinInputs(files: readonly { path: string; ref: string; contentHash: string }[]): number {
      return this.guard('pinning the run inputs', () =>
        this.tx(() =>
          files.reduce(
            (n, f) => n + this.#s.pin.run({ ...f, runId: this.runId, now: this.ts() }).changes,
            0,
          ),
        ),
      );
    }

    pinnedInputs(): InputFileRow[] {
      return this.guard(
        'listing the pinned inputs',
        () => this.#s.list.all(this.runId) as InputFileRow[],
      );
    }

    /** Records that `by` accepted a changed file, and pins its new content. */
    acceptChangedInput(c: { path: string; oldHash: string; newHash: string; by: string }): void {
      this.guard(`accepting the changed ${c.path}`, () =>
        this.tx(() => {
          const p = { ...c, runId: this.runId, now: this.ts() };
          this.#s.addChange.run(p);
          this.#s.repin.run(p);
        }),
      );
    }

    inputChanges(): InputChangeRow[] {
      return this.guard(
        'listing accepted input changes',
        () => this.#s.changes.all(this.runId) as InputChangeRow[],
      );
    }
  }
  return Inputs;
}
