import { PipelineError } from '../core/errors.js';
import type { PairStageSpec } from '../spec/schema.js';
import { inputHash } from '../store/hash.js';
import type { CandidateLabel, LabelDrop } from '../store/types.js';
import { candidateScores, type CandidateScore } from './candidate-scores.js';
import type { RunContext } from './context.js';
import { judgeMix } from './judge-mix.js';
import type { Stage, StageInput, StageResult } from './stage.js';

export interface Thresholds {
  /** score ≥ this → desirable */
  desirable: number;
  /** score ≤ this → undesirable; below `desirable` (validation checks it) */
  undesirable: number;
}

export type LabelVerdict =
  { label: CandidateLabel; dropped: null } | { label: null; dropped: LabelDrop };

/** Rounding room at the thresholds, as the pair stage's margin test has: a mean of judge samples
 *  lands on 0.8 only up to float rounding (2.4 / 3 = 0.7999999999999999). */
const THRESHOLD_SLACK = 1e-9;

/**
 * KTO's binary feedback from the judges' combined scores s ∈ [0, 1] of one prompt's candidates
 * (Ethayarajh et al. 2024 train on "desirable"/"undesirable" outputs; here the judge decides):
 *
 *   s ≥ desirable_threshold              → desirable   (TRL KTO row label true)
 *   s ≤ undesirable_threshold            → undesirable (label false)
 *   undesirable_threshold < s < desirable_threshold → dropped: 'band' (the judge is unsure)
 *   no score                             → dropped: 'unscored' (a failed parse is never guessed)
 *   ≥ 2 scored candidates, all equal     → each dropped: 'tie', as the pair stage drops ties:
 *                                          a judge that rates every answer alike did not judge them
 */
export function labelCandidates(scores: readonly CandidateScore[], t: Thresholds): LabelVerdict[] {
  const scored = scores.filter((s) => s.score !== null).map((s) => s.score!);
  const tie = scored.length >= 2 && scored.every((s) => s === scored[0]);
  return scores.map(({ score }): LabelVerdict => {
    if (score === null) return { label: null, dropped: 'unscored' };
    if (tie) return { label: null, dropped: 'tie' };
    if (score >= t.desirable - THRESHOLD_SLACK) return { label: 'desirable', dropped: null };
    if (score <= t.undesirable + THRESHOLD_SLACK) return { label: 'undesirable', dropped: null };
    return { label: null, dropped: 'band' };
  });
}

/** The thresholds of a label stage (validation requires both; this guards the contract). */
export function labelThresholds(spec: PairStageSpec, stageIndex: number): Thresholds {
  const { desirable_threshold: d, undesirable_threshold: u } = spec;
  if (d === undefined || u === undefined || !(u < d))
    throw new PipelineError({
      code: 'E_SPEC',
      message: `pair stage ${stageIndex}: strategy label needs undesirable_threshold < desirable_threshold`,
      hint: 'set both thresholds on the 0-1 score scale, e.g. desirable_threshold: 0.7, undesirable_threshold: 0.3',
    });
  return { desirable: d, undesirable: u };
}

/**
 * A pair stage with `strategy: label`: every candidate of the round's prompts gets a stored label
 * row (candidate_labels), desirable/undesirable or dropped with the reason; the counts say how
 * many of each. A train stage with `loss: kto` trains on the labelled ones.
 */
async function runLabelStage(
  ctx: RunContext,
  { spec, round, index: stageIndex, prompts, judgeStage }: StageInput<PairStageSpec>,
): Promise<StageResult> {
  if (!judgeStage)
    throw new PipelineError({
      code: 'E_PAIR_NO_JUDGE',
      message: `label stage ${stageIndex} of round ${round} has no judge stage before it to read scores from`,
      hint: 'put a judge stage before the pair stage in stages:',
    });
  const t = labelThresholds(spec, stageIndex);
  const mix = judgeMix(ctx, judgeStage);
  const counts: Record<string, number> = { desirable: 0, undesirable: 0 };
  prompts.forEach((p, i) => {
    const cands = ctx.store.candidatesForPrompt(round, p.id);
    const scores = candidateScores(ctx.store, cands, judgeStage.judges, judgeStage.combine, mix);
    labelCandidates(scores, t).forEach((v, k) => {
      const { candidate, score } = scores[k];
      ctx.store.addCandidateLabel({
        round,
        stageIndex,
        inputHash: inputHash('label', round, stageIndex, candidate.inputHash, spec),
        promptId: p.id,
        candidateId: candidate.id,
        score,
        ...v,
        desirableThreshold: t.desirable,
        undesirableThreshold: t.undesirable,
      });
      const key = v.label ?? `discarded:${v.dropped}`;
      counts[key] = (counts[key] ?? 0) + 1;
    });
    ctx.emit({
      type: 'stage-progress',
      round,
      stage: stageIndex,
      kind: 'pair',
      done: i + 1,
      total: prompts.length,
      unit: 'prompts',
    });
  });
  return { counts };
}

export const labelStage: Stage<PairStageSpec> = { kind: 'pair', run: runLabelStage };
