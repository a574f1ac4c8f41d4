import type { PairStageSpec } from '../spec/schema.js';
import type { CandidateRow } from '../store/types.js';
import { candidateScores } from './candidate-scores.js';
import type { RunContext } from './context.js';
import { judgeMix } from './judge-mix.js';
import { PairWriter } from './pair-writer.js';
import type { StageInput, StageResult } from './stage.js';

/**
 * `pair: { strategy: revision }`: each critique-stage revision (chosen) against the answer it
 * revised (rejected), as the open Constitutional AI replications build their preference data
 * from the SL-CAI phase (Bai et al. 2022 §3; Hugging Face's constitutional-ai recipe pairs the
 * revision over the original the same way). No judge is needed; when a judge stage ran before,
 * its scores are stored on the pair for the record. The principle and the critique stay on the
 * revision candidate (its meta), which the pair points at: a pair's trace (`pipeline show`,
 * RunStore.tracePair) holds them. A prompt without a revision is discarded as `no-revision`.
 */
export function pairRevisions(
  ctx: RunContext,
  { spec, round, index: stageIndex, prompts, judgeStage }: StageInput<PairStageSpec>,
): StageResult {
  const out = new PairWriter(ctx, spec, round, stageIndex, prompts.length);
  const mix = judgeStage ? judgeMix(ctx, judgeStage) : undefined;
  prompts.forEach((p, i) => {
    const cands = ctx.store.candidatesForPrompt(round, p.id);
    const scores = new Map(
      judgeStage
        ? candidateScores(ctx.store, cands, judgeStage.judges, judgeStage.combine, mix).map((s) => [
            s.candidate.id,
            s.score,
          ])
        : [],
    );
    const side = (candidate: CandidateRow) => ({
      candidate,
      score: scores.get(candidate.id) ?? null,
    });
    const revisions = cands.filter((c) => c.origin === 'revision' && c.parentCandidateId);
    for (const revision of revisions) {
      const original = cands.find((c) => c.id === revision.parentCandidateId)!;
      out.pair(p, side(revision), side(original), null);
    }
    if (revisions.length === 0) out.discard(p, 'no-revision', { candidates: cands.length });
    out.progress(i + 1);
  });
  return out.finish();
}
