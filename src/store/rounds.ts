// The run's spine below the run itself: its rounds (which policy and reference checkpoints each
// started with, and how far it got) and the stage runs within them (status, attempts, counts),
// which is what `resume` reads to skip finished work.

import { fail } from '../core/errors.js';
import { parseJson, prepareAll, toStoredError, type Raw, type StoreClass } from './store-base.js';
import type {
  RoundPatch,
  RoundRow,
  StageFinish,
  StageRow,
  StepStatus,
  StoredError,
} from './run-types.js';

const ROUND_COLS = `run_id AS runId, round, policy_checkpoint_id AS policyCheckpointId,
  reference_checkpoint_id AS referenceCheckpointId, status, started_at AS startedAt,
  finished_at AS finishedAt`;
const STAGE_COLS = `run_id AS runId, round, stage_index AS stageIndex, kind, status, attempts,
  started_at AS startedAt, finished_at AS finishedAt, counts, error`;

const SQL = {
  getRound: `SELECT ${ROUND_COLS} FROM rounds WHERE run_id = ? AND round = ?`,
  listRounds: `SELECT ${ROUND_COLS} FROM rounds WHERE run_id = ? ORDER BY round`,
  upsertRound: `INSERT INTO rounds (run_id, round, policy_checkpoint_id, reference_checkpoint_id,
      status, started_at, finished_at)
    VALUES (@runId, @round, @policyCheckpointId, @referenceCheckpointId, @status, @startedAt,
      @finishedAt)
    ON CONFLICT (run_id, round) DO UPDATE SET
      policy_checkpoint_id = excluded.policy_checkpoint_id,
      reference_checkpoint_id = excluded.reference_checkpoint_id,
      status = excluded.status, started_at = excluded.started_at,
      finished_at = excluded.finished_at`,

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

const FINISHED: ReadonlySet<string> = new Set(['done', 'failed', 'interrupted']);

function mapStage(r: Raw): StageRow {
  return {
    ...(r as unknown as StageRow),
    counts: parseJson<Record<string, number>>(r.counts),
    error: parseJson<StoredError>(r.error),
  };
}

export function withRounds<B extends StoreClass>(Base: B) {
  abstract class Rounds extends Base {
    readonly #s = prepareAll(this.db, SQL);

    /** A round of any run in the file (the provenance trace follows a pair's own run). */
    protected roundOf(runId: string, round: number): RoundRow | undefined {
      return this.#s.getRound.get(runId, round) as RoundRow | undefined;
    }

    /**
     * Creates or updates round `round`. A round's policy and reference checkpoints are part of its
     * provenance: once set, changing them fails with E_STORE_CONFLICT. Status 'running' stamps
     * started_at (once); done/failed/interrupted stamp finished_at.
     */
    upsertRound(round: number, patch: RoundPatch = {}): RoundRow {
      return this.guard(`updating round ${round}`, () =>
        this.tx(() => {
          const runId = this.runId;
          const old = this.#s.getRound.get(runId, round) as RoundRow | undefined;
          for (const key of ['policyCheckpointId', 'referenceCheckpointId'] as const) {
            const was = old?.[key];
            const now = patch[key];
            if (was != null && now !== undefined && now !== was)
              fail(
                'E_STORE_CONFLICT',
                `round ${round} already has ${key === 'policyCheckpointId' ? 'policy' : 'reference'} checkpoint ${was}; refusing to change it to ${now}`,
                'a round keeps the checkpoints it started with; start a new run to change the model or reference',
              );
          }
          const status: StepStatus = patch.status ?? old?.status ?? 'pending';
          const ts = this.ts();
          let startedAt = old?.startedAt ?? null;
          if (status === 'running' && startedAt === null) startedAt = ts;
          let finishedAt = old?.finishedAt ?? null;
          if (patch.status !== undefined) finishedAt = FINISHED.has(status) ? ts : null;
          this.#s.upsertRound.run({
            runId,
            round,
            policyCheckpointId: patch.policyCheckpointId ?? old?.policyCheckpointId ?? null,
            referenceCheckpointId:
              patch.referenceCheckpointId ?? old?.referenceCheckpointId ?? null,
            status,
            startedAt,
            finishedAt,
          });
          return this.#s.getRound.get(runId, round) as RoundRow;
        }),
      );
    }

    getRound(round: number): RoundRow | undefined {
      return this.guard(`reading round ${round}`, () => {
        return this.#s.getRound.get(this.runId, round) as RoundRow | undefined;
      });
    }

    listRounds(): RoundRow[] {
      return this.guard('listing rounds', () => this.#s.listRounds.all(this.runId) as RoundRow[]);
    }

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
  return Rounds;
}
