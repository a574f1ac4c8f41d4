// Shapes every part of the run database shares (statuses, stored errors, what a ledger row
// carries) and the rows of its spine: runs, rounds, stage runs and texts. camelCased, with JSON
// columns parsed. The ledger tables' shapes live beside their statements in ledger/.

/**
 * 'stopped': a gate stopped the run (stored as 'finished' plus its gate_stops rows, see
 * migration-gate-stops.ts).
 */
export type RunStatus = 'running' | 'finished' | 'stopped' | 'failed' | 'interrupted';
/** Status of a round or of one stage within a round. */
export type StepStatus = 'pending' | 'running' | 'done' | 'interrupted' | 'failed';
export type TextKind = 'constitution' | 'rubric' | 'template' | 'prompt_file';

/** An error as stored in `runs.error` / `stage_runs.error` (a PipelineError's JSON). */
export interface StoredError {
  code?: string;
  message: string;
  hint?: string;
}

/** Tables whose rows are keyed by (run_id, input_hash). */
export type LedgerTable =
  | 'prompts'
  | 'candidates'
  | 'judgements'
  | 'pairs'
  | 'pair_discards'
  | 'checkpoints'
  | 'audit_items'
  | 'meta_judgements'
  | 'judge_pairs'
  | 'candidate_labels'
  | 'rl_samples';

/** What every stage output carries besides its own fields. */
export interface StageOutput {
  round: number;
  /** Index of the stage in the pipeline file that wrote the row; must have been started. */
  stageIndex?: number | null;
  /** Idempotency key: hash of everything that determines the row (see inputHash()). */
  inputHash: string;
}

// ---- runs, rounds, stages ------------------------------------------------------------------------

export interface NewRun {
  /** Also the name of the run's folder (runs/<id>/run.sqlite). */
  id: string;
  name: string;
  pipelinePath: string;
  /** The pipeline file's exact text; its sha256 is stored as pipeline_hash. */
  pipelineYaml: string;
  seed?: number | null;
  toolVersion?: string | null;
}

export interface RunRow {
  id: string;
  name: string;
  pipelinePath: string;
  pipelineYaml: string;
  pipelineHash: string;
  seed: number | null;
  toolVersion: string | null;
  status: RunStatus;
  createdAt: string;
  finishedAt: string | null;
  error: StoredError | null;
}

export interface RunCounts {
  /** Trained rounds planned (the pipeline's `rounds`); round 0, the baseline, is not counted. */
  rounds: number;
  /** Trained rounds finished (round 0 not counted). */
  roundsDone: number;
  prompts: number;
  candidates: number;
  judgements: number;
  pairs: number;
  pairDiscards: number;
  checkpoints: number;
}

export interface RoundRow {
  runId: string;
  round: number;
  policyCheckpointId: string | null;
  referenceCheckpointId: string | null;
  status: StepStatus;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Fields to set on a round; omitted fields keep their stored value. */
export interface RoundPatch {
  policyCheckpointId?: string;
  referenceCheckpointId?: string;
  status?: StepStatus;
}

export interface StageRow {
  runId: string;
  round: number;
  stageIndex: number;
  kind: string;
  status: StepStatus;
  /** How many times the stage was started (1 + resumes). */
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  counts: Record<string, number> | null;
  error: StoredError | null;
}

export interface StageFinish {
  /** Default 'done'. */
  status?: 'done' | 'failed' | 'interrupted';
  counts?: Record<string, number>;
  error?: unknown;
}

// ---- texts -------------------------------------------------------------------------------------

export interface TextRow {
  hash: string;
  kind: TextKind;
  path: string | null;
  content: string;
  createdAt: string;
}
