// What training produced and measured: the checkpoints (base model, adapters, merges) with their
// lineage, each optimiser step's metrics, and the evaluate stages' metrics per round.

import { inputHash } from '../hash.js';
import { parseJson, prepareAll, type Raw, type StoreClass } from '../store-base.js';

export type CheckpointKind = 'base' | 'adapter' | 'merged';

export interface NewCheckpoint {
  /** r for the policy M_r: the base model is round 0, round r's training writes round r + 1. */
  round: number;
  kind: CheckpointKind;
  path: string;
  contentHash?: string | null;
  /** Required for adapters and merged checkpoints: what they were trained from / merged into. */
  parentId?: string | null;
  /** Default: inputHash(round, kind, path, contentHash, parentId). */
  inputHash?: string;
}

export interface CheckpointRow {
  id: string;
  runId: string;
  round: number;
  kind: CheckpointKind;
  path: string;
  contentHash: string | null;
  parentId: string | null;
  inputHash: string;
  createdAt: string;
}

export interface NewTrainStep {
  round: number;
  step: number;
  stageIndex?: number | null;
  metrics: Record<string, unknown>;
}

export interface TrainStepRow {
  runId: string;
  round: number;
  step: number;
  stageIndex: number | null;
  metrics: Record<string, unknown>;
  createdAt: string;
}

export interface NewEvalMetric {
  round: number;
  metric: string;
  /** NaN is stored (and read back) as null. */
  value: number | null;
  stageIndex?: number | null;
  detail?: Record<string, unknown> | null;
}

export interface EvalMetricRow {
  runId: string;
  round: number;
  metric: string;
  stageIndex: number | null;
  value: number | null;
  detail: Record<string, unknown> | null;
  createdAt: string;
}

const CHECKPOINT_COLS = `id, run_id AS runId, round, kind, path, content_hash AS contentHash,
  parent_id AS parentId, input_hash AS inputHash, created_at AS createdAt`;
const TRAIN_COLS = `run_id AS runId, round, step, stage_index AS stageIndex, metrics,
  created_at AS createdAt`;
const EVAL_COLS = `run_id AS runId, round, metric, stage_index AS stageIndex, value, detail,
  created_at AS createdAt`;

const SQL = {
  insertCheckpoint: `INSERT INTO checkpoints (id, run_id, round, kind, path, content_hash,
      parent_id, input_hash, created_at)
    VALUES (@id, @runId, @round, @kind, @path, @contentHash, @parentId, @inputHash, @now)
    ON CONFLICT (run_id, input_hash) DO NOTHING`,
  getCheckpoint: `SELECT ${CHECKPOINT_COLS} FROM checkpoints WHERE id = ?`,
  listCheckpoints: `SELECT ${CHECKPOINT_COLS} FROM checkpoints WHERE run_id = ?
    ORDER BY round, rowid`,

  // A restarted training stage replays its steps; the latest attempt's metrics are the truth.
  upsertTrainStep: `INSERT INTO train_steps (run_id, round, step, stage_index, metrics, created_at)
    VALUES (@runId, @round, @step, @stageIndex, @metrics, @now)
    ON CONFLICT (run_id, round, step) DO UPDATE SET
      stage_index = excluded.stage_index, metrics = excluded.metrics,
      created_at = excluded.created_at`,
  trainStepsForRound: `SELECT ${TRAIN_COLS} FROM train_steps WHERE run_id = ? AND round = ?
    ORDER BY step`,
  clearTrainSteps: `DELETE FROM train_steps WHERE run_id = ? AND round = ?`,

  upsertEval: `INSERT INTO eval_metrics (run_id, round, metric, stage_index, value, detail,
      created_at)
    VALUES (@runId, @round, @metric, @stageIndex, @value, @detail, @now)
    ON CONFLICT (run_id, round, metric) DO UPDATE SET
      stage_index = excluded.stage_index, value = excluded.value, detail = excluded.detail,
      created_at = excluded.created_at`,
  evalMetrics: `SELECT ${EVAL_COLS} FROM eval_metrics WHERE run_id = ? ORDER BY round, metric`,
};

function mapTrainStep(r: Raw): TrainStepRow {
  return { ...(r as unknown as TrainStepRow), metrics: parseJson(r.metrics) ?? {} };
}

function mapEval(r: Raw): EvalMetricRow {
  return { ...(r as unknown as EvalMetricRow), detail: parseJson(r.detail) };
}

export function withTraining<B extends StoreClass>(Base: B) {
  abstract class Training extends Base {
    readonly #s = prepareAll(this.db, SQL);

    addCheckpoint(c: NewCheckpoint): string {
      return this.guard('adding a checkpoint', () =>
        this.ledgerInsert('checkpoints', this.#s.insertCheckpoint, {
          round: c.round,
          kind: c.kind,
          path: c.path,
          contentHash: c.contentHash ?? null,
          parentId: c.parentId ?? null,
          inputHash:
            c.inputHash ??
            inputHash(c.round, c.kind, c.path, c.contentHash ?? null, c.parentId ?? null),
        }),
      );
    }

    getCheckpoint(id: string): CheckpointRow | undefined {
      return this.guard('reading a checkpoint', () => {
        return this.#s.getCheckpoint.get(id) as CheckpointRow | undefined;
      });
    }

    listCheckpoints(): CheckpointRow[] {
      return this.guard('listing checkpoints', () => {
        return this.#s.listCheckpoints.all(this.runId) as CheckpointRow[];
      });
    }

    /** Records (or, when a restarted training replays the step, replaces) one step's metrics. */
    addTrainStep(t: NewTrainStep): void {
      this.guard(`adding train step ${t.step}`, () => {
        this.#s.upsertTrainStep.run({
          runId: this.runId,
          round: t.round,
          step: t.step,
          stageIndex: t.stageIndex ?? null,
          metrics: this.json(t.metrics, 'metrics'),
          now: this.ts(),
        });
      });
    }

    trainStepsForRound(round: number): TrainStepRow[] {
      return this.guard(`listing train steps of round ${round}`, () =>
        (this.#s.trainStepsForRound.all(this.runId, round) as Raw[]).map(mapTrainStep),
      );
    }

    /** For a training stage that restarts from step 0: forget the steps of the failed attempt. */
    clearTrainSteps(round: number): number {
      return this.guard(`clearing train steps of round ${round}`, () => {
        return this.#s.clearTrainSteps.run(this.runId, round).changes;
      });
    }

    /** Records (or replaces) metric `metric` of `round`. */
    putEvalMetric(m: NewEvalMetric): void {
      this.guard(`storing eval metric ${m.metric}`, () => {
        this.#s.upsertEval.run({
          runId: this.runId,
          round: m.round,
          metric: m.metric,
          stageIndex: m.stageIndex ?? null,
          value: m.value,
          detail: this.json(m.detail, 'detail'),
          now: this.ts(),
        });
      });
    }

    evalMetrics(runId: string = this.runId): EvalMetricRow[] {
      return this.guard('listing eval metrics', () =>
        (this.#s.evalMetrics.all(runId) as Raw[]).map(mapEval),
      );
    }
  }
  return Training;
}
