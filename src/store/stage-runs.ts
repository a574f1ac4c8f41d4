// The stage runs within a run's rounds (status, attempts, counts): what `resume` reads to skip
// finished work. A mixin beside withRounds (rounds.ts): a stage run's round must exist first.

import { fail } from '../core/errors.js';
import { parseJson, prepareAll, toStoredError, type Raw, type StoreClass } from './store-base.js';
import type { StageFinish, StageRow, StoredError } from './run-types.js';

const STAGE_COLS = `run_id AS runId, round, stage_index AS stageIndex, kind, status, attempts,
  started_at AS startedAt, finished_at AS finishedAt, counts, error`;

const SQL = {
  getStage: `SELECT ${STAGE_COLS} FROM stage_runs WHERE run_id = ? AND round = ? AND stage_index = ?`,
  stagesForRound: `SELECT ${STAGE_COLS} FROM stage_runs WHERE run_id = ? AND round = ?
    ORDER BY stage_index`,
  startStage: `INSERT INTO stage_runs (run_id, round, stage_index, kind, status, started_at)
    VALUES (@runId, @round, @stageIndex, @kind, 'running', @now)
    ON CONFLICT (run_id, round, stage_index) DO UPDATE SET
      status = 'running', attempts = attempts + 1, started_at = excluded.started_at,
      finished_at = NULL, counts = NULL, error = NULL`,
  finishStage: `UPDATE stage_runs SET status = @status, finished_at = @now, counts = @counts,
      error = @error
    WHERE run_id = @runId AND round = @round AND stage_index = @stageIndex`,
};

function mapStage(r: Raw): StageRow {
  return {
    ...(r as unknown as StageRow),
    counts: parseJson<Record<string, number>>(r.counts),
    error: parseJson<StoredError>(r.error),
  };
}

export function withStageRuns<B extends StoreClass>(Base: B) {
  abstract class StageRuns extends Base {
    readonly #s = prepareAll(this.db, SQL);

    /**
     * Marks stage `stageIndex` of `round` running (again, on resume: attempts counts them). The
     * round must exist. A stored stage of another kind means the pipeline's stages changed since
     * the run started: E_STORE_CONFLICT.
     */
    startStage(round: number, stageIndex: number, kind: string): StageRow {
      return this.guard(`starting stage ${stageIndex} of round ${round}`, () =>
        this.tx(() => {
          const runId = this.runId;
          const old = this.#s.getStage.get(runId, round, stageIndex) as Raw | undefined;
          if (old && old.kind !== kind)
            fail(
              'E_STORE_CONFLICT',
              `stage ${stageIndex} of round ${round} was a '${String(old.kind)}' stage in this run, now '${kind}'`,
              "the pipeline's stages changed since the run started; start a new run",
            );
          this.#s.startStage.run({ runId, round, stageIndex, kind, now: this.ts() });
          return mapStage(this.#s.getStage.get(runId, round, stageIndex) as Raw);
        }),
      );
    }

    finishStage(round: number, stageIndex: number, finish: StageFinish = {}): StageRow {
      return this.guard(`finishing stage ${stageIndex} of round ${round}`, () =>
        this.tx(() => {
          const runId = this.runId;
          const info = this.#s.finishStage.run({
            runId,
            round,
            stageIndex,
            status: finish.status ?? 'done',
            now: this.ts(),
            counts: this.json(finish.counts, 'counts'),
            error: this.json(toStoredError(finish.error), 'error'),
          });
          if (info.changes === 0)
            fail(
              'E_STORE_NOT_FOUND',
              `stage ${stageIndex} of round ${round} was never started`,
              'call startStage() before finishStage()',
            );
          return mapStage(this.#s.getStage.get(runId, round, stageIndex) as Raw);
        }),
      );
    }

    /** The stored state of a stage; resume skips stages whose status is 'done'. */
    getStage(round: number, stageIndex: number): StageRow | undefined {
      return this.guard(`reading stage ${stageIndex} of round ${round}`, () => {
        const r = this.#s.getStage.get(this.runId, round, stageIndex) as Raw | undefined;
        return r && mapStage(r);
      });
    }

    stagesForRound(round: number): StageRow[] {
      return this.guard(`listing stages of round ${round}`, () =>
        (this.#s.stagesForRound.all(this.runId, round) as Raw[]).map(mapStage),
      );
    }
  }
  return StageRuns;
}
