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
        status: 'finished' | 'interrupted' | 'failed' | 'stopped-by-gate';
        seconds: number;
        error?: string;
      }
  );

export type PipelineEventType = PipelineEvent['type'];

/** Where events go: the UI and reporters implement this; the runner never imports them. */
export type EventSink = (e: PipelineEvent) => void;
