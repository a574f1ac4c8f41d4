// The shapes of the run's view model: what the reducer (reduce.ts) folds events into and what the
// live view and the plain reporter read. Types only; the values live beside their jobs.

import type { PipelineEvent, RunVerdict, StageKind, StageStatus } from '../../events.js';

export type StageViewStatus = 'pending' | StageStatus;

export interface ProgressSample {
  /** Event time, ms since the epoch. */
  t: number;
  done: number;
}

export interface StageView {
  index: number;
  kind: StageKind;
  status: StageViewStatus;
  done: number;
  total: number;
  /** What `done` counts (prompts, candidates, steps...); '' until the first progress event. */
  unit: string;
  startedAt: number | null;
  /** Wall time from stage-end. */
  seconds: number | null;
  /** Items per second over the recent progress window (whole-stage average once ended). */
  rate: number | null;
  /** Seconds left at `rate`; null when unknown. */
  eta: number | null;
  counts: Record<string, number>;
  samples: readonly ProgressSample[];
}

/**
 * A bounded series: `points` each average `stride` raw values (non-finite ones skipped); the
 * values of an unfinished bucket wait in `pend*`. Use `seriesValues` to read it.
 */
export interface Series {
  points: readonly number[];
  stride: number;
  pendSum: number;
  /** Finite values in the pending bucket. */
  pendFinite: number;
  /** All values in the pending bucket. */
  pendCount: number;
  last: number | null;
  first: number | null;
}

export interface TrainView {
  /** pairs: DPO-family or KTO steps (margin, accuracy); rl: an rl stage's (reward, KL). */
  kind: 'pairs' | 'rl';
  step: number;
  totalSteps: number;
  loss: Series;
  /** The DPO margin, or the rl batch's mean reward. */
  margin: Series;
  /** The pairs' accuracy, or the rl step's KL to the reference. */
  accuracy: Series;
  gradNorm: number | null;
  learningRate: number | null;
  nonFiniteSteps: number;
}

export interface PairsView {
  kept: number;
  discarded: Record<string, number>;
  discardedTotal: number;
}

export type RoundStatus = 'pending' | 'running' | 'done' | 'stopped';

export interface RoundView {
  round: number;
  status: RoundStatus;
  policy: string | null;
  startedAt: number | null;
  seconds: number | null;
  checkpoint: string | null;
  stages: readonly StageView[];
  train: TrainView | null;
  pairs: PairsView | null;
  /** Eval metrics in arrival order. */
  metrics: Record<string, number>;
  candidates: number;
  judgements: number;
  parseFailures: number;
}

interface TextView {
  round: number;
  promptId: string;
  /** One line, at most PREVIEW_CHARS. */
  preview: string;
  /** At most FULL_TEXT_CHARS, original line breaks kept. */
  text: string;
  truncated: boolean;
}

export interface CandidateView extends TextView {
  index: number;
  tokens: number;
}

export interface JudgementView extends TextView {
  judge: string;
  score: number | null;
  verdict: string | null;
  parseError: string | null;
}

export type WarningKind = 'warning' | 'parse' | 'nan' | 'gate' | 'stage';

export interface WarningView {
  /** Occurrences with the same key are folded into one entry with a count. */
  key: string;
  kind: WarningKind;
  round: number | null;
  message: string;
  count: number;
  time: number;
}

/** A quality gate that fired: the `gate` event's fields. */
export type GateView = Omit<Extract<PipelineEvent, { type: 'gate' }>, 'type' | 'time' | 'runId'>;

/**
 * The run as the view shows it. Not the store's RunStatus (store/types.ts), which records only
 * what outlives the process: this one also has 'pending' (no run-start yet) and 'stopped-by-gate'.
 */
export type RunViewStatus =
  | 'pending'
  | 'running'
  | 'finished'
  | 'interrupted'
  | 'failed'
  | 'stopped-by-gate'
  | 'awaiting-audit';

export interface RunState {
  runId: string | null;
  name: string | null;
  dir: string | null;
  resumed: boolean;
  totalRounds: number;
  stageKinds: readonly StageKind[];
  status: RunViewStatus;
  startedAt: number | null;
  /** Time of the latest event: the run's own clock, so the state never reads Date.now(). */
  lastTime: number | null;
  /** From run-end. */
  seconds: number | null;
  error: string | null;
  /** From run-end: the objective round 0 → last round in one word, and the worst regressions. */
  verdict: RunVerdict | null;
  currentRound: number | null;
  currentStage: number | null;
  /** Sorted by round number; round 0 (the initial policy's evaluation) may appear. */
  rounds: readonly RoundView[];
  latestCandidate: CandidateView | null;
  latestJudgement: JudgementView | null;
  /** Oldest first, most recently updated last. */
  warnings: readonly WarningView[];
  /** All warning occurrences, including folded and dropped ones. */
  warningCount: number;
  gates: readonly GateView[];
  eventCount: number;
}

/** Folds one event of type K into the state; `t` is the event's time in ms (already checked). */
export type EventHandler<K extends PipelineEvent['type']> = (
  s: RunState,
  e: Extract<PipelineEvent, { type: K }>,
  t: number,
) => RunState;

/** One handler per event type in K. */
export type EventHandlers<K extends PipelineEvent['type']> = { [P in K]: EventHandler<P> };
