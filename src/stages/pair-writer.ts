import type { PairStageSpec } from '../spec/schema.js';
import { inputHash } from '../store/hash.js';
import type { CandidateRow, PromptRow } from '../store/types.js';
import type { RunContext } from './context.js';
import type { StageResult } from './stage.js';

/** A candidate with the combined score it was paired by (null: no judge scored it). */
export interface PairSide {
  candidate: CandidateRow;
  score: number | null;
}

/**
 * What every pairing strategy writes, the same way: pairs and discards under one key scheme (so a
 * resumed stage stores each once), a progress event per prompt, and the stage's counts and
 * `pairs` event at the end.
 */
export class PairWriter {
  private kept = 0;
  private readonly discarded: Record<string, number> = {};

  constructor(
    private readonly ctx: RunContext,
    private readonly spec: PairStageSpec,
    private readonly round: number,
    private readonly stageIndex: number,
    private readonly total: number,
  ) {}

  pair(prompt: PromptRow, chosen: PairSide, rejected: PairSide, softLabel: number | null): void {
    const { round, stageIndex, spec } = this;
    this.ctx.store.addPair({
      round,
      stageIndex,
      inputHash: inputHash(
        'pair',
        round,
        stageIndex,
        chosen.candidate.inputHash,
        rejected.candidate.inputHash,
        spec,
      ),
      promptId: prompt.id,
      chosenCandidateId: chosen.candidate.id,
      rejectedCandidateId: rejected.candidate.id,
      chosenScore: chosen.score,
      rejectedScore: rejected.score,
      strategy: spec.strategy,
      softLabel,
    });
    this.kept++;
  }

  discard(prompt: PromptRow, reason: string, detail: Record<string, unknown>): void {
    const { round, stageIndex } = this;
    this.ctx.store.addPairDiscard({
      round,
      stageIndex,
      promptId: prompt.id,
      reason,
      detail,
      inputHash: inputHash('discard', round, stageIndex, prompt.inputHash),
    });
    this.discarded[reason] = (this.discarded[reason] ?? 0) + 1;
  }

  /** After `done` of the stage's prompts. */
  progress(done: number): void {
    this.ctx.emit({
      type: 'stage-progress',
      round: this.round,
      stage: this.stageIndex,
      kind: 'pair',
      done,
      total: this.total,
      unit: 'prompts',
    });
  }

  finish(): StageResult {
    const counts: Record<string, number> = { pairs: this.kept };
    for (const [k, v] of Object.entries(this.discarded)) counts[`discarded:${k}`] = v;
    this.ctx.emit({ type: 'pairs', round: this.round, kept: this.kept, discarded: this.discarded });
    return { counts };
  }
}
