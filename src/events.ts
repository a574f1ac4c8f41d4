// The runner's typed events: the only thing the UI (Ink view, plain lines, NDJSON) sees of a run.
// Every event is a plain JSON object so it can be written as one NDJSON line as is.

import type { StageKind } from './spec/stage-kinds.js';

export type { StageKind };
export type StageStatus = 'running' | 'done' | 'skipped' | 'interrupted' | 'failed';

interface Base {
  /** ISO time the event was emitted. */
  time: string;
  runId: string;
}

export type PipelineEvent = Base &
  (
    | {
        type: 'run-start';
        name: string;
        rounds: number;
        stages: StageKind[];
        resumed: boolean;
        dir: string;
      }
    | { type: 'round-start'; round: number; policy: string }
    | { type: 'stage-start'; round: number; stage: number; kind: StageKind; total: number }
    /** `done` of `total` units (prompts, candidates, judgements, steps...) finished so far. */
    | {
        type: 'stage-progress';
        round: number;
        stage: number;
        kind: StageKind;
        done: number;
        total: number;
        unit: string;
      }
    | {
        type: 'stage-end';
        round: number;
        stage: number;
        kind: StageKind;
        status: StageStatus;
        seconds: number;
        counts: Record<string, number>;
      }
    | {
        type: 'candidate';
        round: number;
        promptId: string;
        index: number;
        text: string;
        tokens: number;
      }
    | {
        type: 'judgement';
        round: number;
        judge: string;
        promptId: string;
        score?: number;
        verdict?: string;
        parseError?: string;
        text: string;
      }
    | { type: 'pairs'; round: number; kept: number; discarded: Record<string, number> }
    | {
        type: 'train-step';
        round: number;
        step: number;
        totalSteps: number;
        loss: number;
        margin: number;
        accuracy: number;
        gradNorm: number;
        learningRate: number;
        /** An rl stage's step: the batch's mean reward and the step's KL and entropy (no margin or accuracy). */
        rl?: { reward: number; kl: number | null; entropy: number };
      }
    | { type: 'eval-metric'; round: number; metric: string; value: number }
    | {
        type: 'gate';
        round: number;
        metric: string;
        value: number;
        threshold: number;
        op: string;
        action: 'stop' | 'warn';
      }
    /** A stop gate fired: the run ends after this stage, stored as 'stopped' (store gate_stops). */
    | {
        type: 'gate-stop';
        round: number;
        stage: number;
        /** The gate's position in the evaluate stage's `gates` list. */
        gate: number;
        metric: string;
        op: string;
        threshold: number;
        value: number;
      }
    | { type: 'warning'; round?: number; message: string }
    | { type: 'round-end'; round: number; seconds: number; checkpoint?: string }
    | {
        type: 'run-end';
        status: 'finished' | 'interrupted' | 'failed' | 'stopped-by-gate' | 'awaiting-audit';
        seconds: number;
        error?: string;
        /** What the rounds did to the objective; absent when fewer than two rounds were evaluated. */
        verdict?: RunVerdict;
      }
  );

/** A metric that moved the wrong way between the verdict's two rounds. */
export interface MetricRegression {
  metric: string;
  from: number;
  to: number;
  /** (to − from) / |from|, signed so that positive is worse; null when `from` is 0. */
  worse: number | null;
}

/**
 * The run's outcome in one word (src/run/verdict.ts): the objective the judges optimize (the
 * anchor judge's `mean_score` on the probes) in round `fromRound` (0, the initial model) and in
 * the last evaluated round, and the biggest regressions among the other metrics.
 */
export interface RunVerdict {
  metric: string;
  /** The anchor judge that gave the scores, when stored. */
  judge: string | null;
  fromRound: number;
  toRound: number;
  from: number;
  to: number;
  word: 'improved' | 'unchanged' | 'worse';
  /** |to − from| below this is `unchanged` (in score units). */
  threshold: number;
  regressions: MetricRegression[];
  /** The same for `true_score` (ground_truth: sandbox): what really happened, beside the judge. */
  truth?: Omit<RunVerdict, 'regressions' | 'truth' | 'judge'>;
}

export type PipelineEventType = PipelineEvent['type'];

/** Where events go: the UI and reporters implement this; the runner never imports them. */
export type EventSink = (e: PipelineEvent) => void;
