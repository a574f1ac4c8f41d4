// Row and input shapes of the run database, camelCased, with JSON columns parsed.

import type { ChatMessage } from '../engine/index.js';

export type { ChatMessage };

export type RunStatus = 'running' | 'finished' | 'failed' | 'interrupted';
/** Status of a round or of one stage within a round. */
export type StepStatus = 'pending' | 'running' | 'done' | 'interrupted' | 'failed';
export type TextKind = 'constitution' | 'rubric' | 'template' | 'prompt_file';
export type PromptSource = 'seed' | 'self_instruct' | 'probe';
export type CandidateOrigin = 'sample' | 'revision';
export type JudgeMode = 'generate' | 'logprobs' | 'pairwise' | 'rule';
export type Verdict = 'A' | 'B' | 'tie';
export type CheckpointKind = 'base' | 'adapter' | 'merged';

/** An error as stored in `runs.error` / `stage_runs.error` (a PipelineError's JSON). */
export interface StoredError {
  code?: string;
  message: string;
  hint?: string;
}

/** Tables whose rows are keyed by (run_id, input_hash). */
export type LedgerTable =
  'prompts' | 'candidates' | 'judgements' | 'pairs' | 'pair_discards' | 'checkpoints';

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
  rounds: number;
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

// ---- stage outputs -------------------------------------------------------------------------------

/** What every stage output carries besides its own fields. */
export interface StageOutput {
  round: number;
  /** Index of the stage in the pipeline file that wrote the row; must have been started. */
  stageIndex?: number | null;
  /** Idempotency key: hash of everything that determines the row (see inputHash()). */
  inputHash: string;
}

export interface NewPrompt extends StageOutput {
  source: PromptSource;
  messages: ChatMessage[];
  /** The prompt file it came from, as stored by putText(kind 'prompt_file'). */
  fileHash?: string | null;
  meta?: Record<string, unknown> | null;
}

export interface PromptRow {
  id: string;
  runId: string;
  round: number;
  stageIndex: number | null;
  source: PromptSource;
  messages: ChatMessage[];
  fileHash: string | null;
  meta: Record<string, unknown> | null;
  inputHash: string;
  createdAt: string;
}

/** Sampling settings as the pipeline file names them; extra keys (greedy, stop) are kept. */
export interface SamplingRecord {
  temperature: number;
  top_p: number;
  top_k: number;
  max_new_tokens: number;
  [key: string]: unknown;
}

export interface NewCandidate extends StageOutput {
  promptId: string;
  /** Position among the prompt's candidates (revisions may reuse the original's idx). */
  idx: number;
  text: string;
  tokenIds?: ArrayLike<number> | null;
  logprobsSum?: number | null;
  finishReason?: string | null;
  sampling: SamplingRecord;
  seed?: number | null;
  /** The checkpoint that generated it (null for external generators). */
  checkpointId?: string | null;
  /** Default 'sample'; a 'revision' must name parentCandidateId. */
  origin?: CandidateOrigin;
  parentCandidateId?: string | null;
  /** E.g. the critique a revision answered. */
  meta?: Record<string, unknown> | null;
}

export interface CandidateRow {
  id: string;
  runId: string;
  round: number;
  stageIndex: number | null;
  promptId: string;
  idx: number;
  text: string;
  tokenIds: number[] | null;
  logprobsSum: number | null;
  finishReason: string | null;
  sampling: SamplingRecord;
  seed: number | null;
  checkpointId: string | null;
  origin: CandidateOrigin;
  parentCandidateId: string | null;
  meta: Record<string, unknown> | null;
  inputHash: string;
  createdAt: string;
}

export interface NewJudgement extends StageOutput {
  /** 'self' or the pipeline's judge name. */
  judgeId: string;
  /** The checkpoint that judged, when it is a stored one (a self-judge is the round's policy). */
  judgeCheckpointId?: string | null;
  mode: JudgeMode;
  /** Shown as (A) in pairwise mode. */
  candidateId: string;
  /** Shown as (B); required in pairwise mode only. */
  otherCandidateId?: string | null;
  principleId?: string | null;
  /** The rendered rubric/template text (required except in rule mode). */
  rubricHash?: string | null;
  constitutionHash?: string | null;
  renderedPrompt?: string | null;
  rawOutput?: string | null;
  score?: number | null;
  verdict?: Verdict | null;
  parseError?: string | null;
  /** Which of the K samples (generate mode); default 0. */
  sampleIdx?: number;
  /** E.g. the score-token probabilities of a log-prob judge. */
  detail?: Record<string, unknown> | null;
}

export interface JudgementRow {
  id: string;
  runId: string;
  round: number;
  stageIndex: number | null;
  judgeId: string;
  judgeCheckpointId: string | null;
  mode: JudgeMode;
  candidateId: string;
  otherCandidateId: string | null;
  principleId: string | null;
  rubricHash: string | null;
  constitutionHash: string | null;
  renderedPrompt: string | null;
  rawOutput: string | null;
  score: number | null;
  verdict: Verdict | null;
  parseError: string | null;
  sampleIdx: number;
  detail: Record<string, unknown> | null;
  inputHash: string;
  createdAt: string;
}

export interface NewPair extends StageOutput {
  promptId: string;
  chosenCandidateId: string;
  rejectedCandidateId: string;
  chosenScore?: number | null;
  rejectedScore?: number | null;
  strategy: string;
  /** P(chosen preferred), in [0, 1]. */
  softLabel?: number | null;
}

export interface PairRow {
  id: string;
  runId: string;
  round: number;
  stageIndex: number | null;
  promptId: string;
  chosenCandidateId: string;
  rejectedCandidateId: string;
  chosenScore: number | null;
  rejectedScore: number | null;
  strategy: string;
  softLabel: number | null;
  inputHash: string;
  createdAt: string;
}

export interface NewPairDiscard extends Omit<StageOutput, 'inputHash'> {
  promptId: string;
  reason: string;
  detail?: Record<string, unknown> | null;
  /** Default: inputHash(round, stageIndex, promptId, reason), so a resumed stage counts once. */
  inputHash?: string;
}

export interface PairDiscardRow {
  id: string;
  runId: string;
  round: number;
  stageIndex: number | null;
  promptId: string;
  reason: string;
  detail: Record<string, unknown> | null;
  inputHash: string;
  createdAt: string;
}

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

export interface NewEvent {
  type: string;
  round?: number | null;
  stageIndex?: number | null;
  data?: unknown;
}

export interface EventRow {
  id: number;
  runId: string;
  round: number | null;
  stageIndex: number | null;
  at: string;
  type: string;
  data: unknown;
}

// ---- provenance ----------------------------------------------------------------------------------

export interface CandidateTrace {
  candidate: CandidateRow;
  /** The checkpoint that generated it. */
  checkpoint: CheckpointRow | null;
  /** Every judgement of it, as (A) or as (B); pairwise ones appear under both candidates. */
  judgements: JudgementRow[];
  /** For a revision: the original candidate it revised, traced the same way. */
  revisedFrom: CandidateTrace | null;
}

/** Everything a preference pair came from, in one object. */
export interface PairTrace {
  pair: PairRow;
  run: RunRow;
  round: RoundRow | null;
  prompt: PromptRow;
  chosen: CandidateTrace;
  rejected: CandidateTrace;
  /** Rubric and constitution texts the judgements above reference, by hash. */
  texts: Record<string, TextRow>;
  /** Every checkpoint referenced above (generators, judges, the round's policy and reference) and their ancestors, by id. */
  checkpoints: Record<string, CheckpointRow>;
}
