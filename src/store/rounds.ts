// The run's spine below the run itself: its rounds (which policy and reference checkpoints each
// started with, and how far it got). The stage runs within them live in stage-runs.ts.

import { fail } from '../core/errors.js';
import { prepareAll, type StoreClass } from './store-base.js';
import type { RoundPatch, RoundRow, StepStatus } from './run-types.js';

const ROUND_COLS = `run_id AS runId, round, policy_checkpoint_id AS policyCheckpointId,
  reference_checkpoint_id AS referenceCheckpointId, status, started_at AS startedAt,
  finished_at AS finishedAt`;
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
};

const FINISHED: ReadonlySet<string> = new Set(['done', 'failed', 'interrupted']);

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
  }
  return Rounds;
}
