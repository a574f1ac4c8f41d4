// `pipeline run --resume <id> --from-round N`: the rounds from N on are redone on the last intact
// checkpoint. Nothing is deleted: the reset is a row (who, when, why, what it set aside), the
// checkpoints trained from round N on are marked discarded (the runner no longer builds on them,
// and candidates/pairs made by them drop out of the round's working set), and the stages that
// must run again are marked pending.

import { prepareAll, type StoreClass } from '../store-base.js';

export interface RoundReset {
  fromRound: number;
  /** Stage index in round `fromRound` from which stages run again (its first train stage). */
  fromStage: number;
  by: string;
  /** The checkpoints set aside, with why (missing, altered, or trained on one of them). */
  discards: readonly { checkpointId: string; reason: string }[];
}

/** A stored reset, as `pipeline show` and the report list it. */
export interface RoundResetRow {
  fromRound: number;
  resetBy: string;
  resetAt: string;
  /** How many checkpoints it set aside. */
  discards: number;
}

const SQL = {
  resets: `SELECT from_round AS fromRound, reset_by AS resetBy, reset_at AS resetAt,
      json_array_length(detail, '$.discards') AS discards
    FROM round_resets WHERE run_id = ? ORDER BY id`,
  addReset: `INSERT INTO round_resets (run_id, from_round, reset_by, reset_at, detail)
    VALUES (@runId, @fromRound, @by, @now, @detail)`,
  discard: `INSERT INTO checkpoint_discards (checkpoint_id, run_id, reset_id, reason)
    VALUES (@checkpointId, @runId, @resetId, @reason)
    ON CONFLICT (checkpoint_id) DO UPDATE SET reset_id = excluded.reset_id, reason = excluded.reason`,
  pendStages: `UPDATE stage_runs SET status = 'pending'
    WHERE run_id = @runId AND ((round = @fromRound AND stage_index >= @fromStage) OR round > @fromRound)`,
  pendRounds: `UPDATE rounds SET status = 'pending', finished_at = NULL
    WHERE run_id = @runId AND round >= @fromRound`,
  discarded: `SELECT checkpoint_id AS id FROM checkpoint_discards WHERE run_id = ?`,
  restore: `DELETE FROM checkpoint_discards WHERE checkpoint_id = ?`,
};

export function withResets<B extends StoreClass>(Base: B) {
  abstract class Resets extends Base {
    readonly #s = prepareAll(this.db, SQL);

    /** Records the reset and applies it in one transaction; returns the stages marked pending. */
    resetRounds(r: RoundReset): number {
      return this.guard(`resetting the run from round ${r.fromRound}`, () =>
        this.tx(() => {
          const p = { ...r, runId: this.runId, now: this.ts() };
          const detail = this.json({ fromStage: r.fromStage, discards: r.discards }, 'detail');
          const resetId = this.#s.addReset.run({ ...p, detail }).lastInsertRowid;
          for (const d of r.discards) this.#s.discard.run({ ...d, runId: this.runId, resetId });
          this.#s.pendRounds.run(p);
          return this.#s.pendStages.run(p).changes;
        }),
      );
    }

    roundResets(): RoundResetRow[] {
      return this.guard(
        'listing round resets',
        () => this.#s.resets.all(this.runId) as RoundResetRow[],
      );
    }

    discardedCheckpoints(): Set<string> {
      return this.guard('listing discarded checkpoints', () => {
        const rows = this.#s.discarded.all(this.runId) as { id: string }[];
        return new Set(rows.map((r) => r.id));
      });
    }

    /**
     * A retrained checkpoint with the very same content has the same id as the discarded one:
     * it is intact again. (The reset row still lists it.)
     */
    restoreCheckpoint(id: string): boolean {
      return this.guard(`restoring checkpoint ${id}`, () => this.#s.restore.run(id).changes > 0);
    }
  }
  return Resets;
}
