import type { GateSpec, JudgeStageSpec, StageSpec } from '../spec/schema.js';
import type { PromptRow } from '../store/types.js';
import type { RunContext } from './context.js';

/** What the runner hands every stage: one shape for all kinds. */
export interface StageInput<S extends StageSpec = StageSpec> {
  /** This stage's entry in the pipeline file. */
  spec: S;
  round: number;
  /** Position in `stages:`; with `round` it keys the stage's rows in the store. */
  index: number;
  /** The round's prompts (seed sample + self-instruct); empty in round 0. */
  prompts: PromptRow[];
  /**
   * The judge stage whose scores this stage reads: the round's latest judge stage before this
   * one (round 0, which has no judge stage of its own, borrows the first judge stage).
   */
  judgeStage?: JudgeStageSpec;
}

/** A gate whose threshold the evaluated metric crossed. */
export interface GateHit {
  gate: GateSpec;
  value: number;
}

export interface StageResult {
  /** What the stage did, by name (prompts, generated, reused, parse_failures, ...). */
  counts: Record<string, number>;
  /** Gates that fired (evaluate stages); one with `action: stop` ends the run. */
  gateHits?: GateHit[];
  /**
   * The stage cannot finish until people act (an audit stage with `require_complete` and
   * unlabelled pairs): the run stops here, resumable, and this stage runs again on resume.
   */
  awaiting?: { pending: number };
}

/** A stage kind: `run` does (or, on resume, finishes) the stage's work for one round. */
export interface Stage<S extends StageSpec = StageSpec> {
  kind: S['kind'];
  run(ctx: RunContext, input: StageInput<S>): Promise<StageResult>;
}
