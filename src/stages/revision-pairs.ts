import type { PairStageSpec } from '../spec/schema.js';
import { inputHash } from '../store/hash.js';
import { candidateScores } from './candidate-scores.js';
import type { RunContext } from './context.js';
import { emitPairProgress } from './pair-progress.js';
import { judgeMix } from './judge-mix.js';
import type { StageInput, StageResult } from './stage.js';

/**
 * `pair: { strategy: revision }`: each critique-stage revision (chosen) against the answer it
 * revised (rejected), as the open Constitutional AI replications build their preference data
 * from the SL-CAI phase (Bai et al. 2022 §3; Hugging Face's constitutional-ai recipe pairs the
 * revision over the original the same way). No judge is needed; when a judge stage ran before,
 * its scores are stored on the pair for the record. The principle and the critique stay on the
 * revision candidate (its meta), which the pair points at: `pipeline show --pair` traces them.
 * A prompt without a revision is discarded as `no-revision`.
 */
export function pairRevisions(
  ctx: RunContext,
  { spec, round, index: stageIndex, prompts, judgeStage }: StageInput<PairStageSpec>,
): StageResult {
  const counts: Record<string, number> = { pairs: 0 };
  let noRevision = 0;
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
    const revisions = cands.filter((c) => c.origin === 'revision' && c.parentCandidateId);
    for (const revision of revisions) {
      const original = cands.find((c) => c.id === revision.parentCandidateId)!;
      ctx.store.addPair({
        round,
        stageIndex,
        inputHash: inputHash(
          'pair',
          round,
          stageIndex,
          revision.inputHash,
          original.inputHash,
          spec,
        ),
        promptId: p.id,
        chosenCandidateId: revision.id,
        rejectedCandidateId: original.id,
        chosenScore: scores.get(revision.id) ?? null,
        rejectedScore: scores.get(original.id) ?? null,
        strategy: 'revision',
        softLabel: null,
      });
      counts.pairs++;
    }
    if (revisions.length === 0) {
      ctx.store.addPairDiscard({
        round,
        stageIndex,
        promptId: p.id,
        reason: 'no-revision',
        detail: { candidates: cands.length },
        inputHash: inputHash('discard', round, stageIndex, p.inputHash),
      });
      noRevision++;
    }
    emitPairProgress(ctx, round, stageIndex, i + 1, prompts.length);
  });
  const discarded: Record<string, number> = noRevision ? { 'no-revision': noRevision } : {};
  if (noRevision) counts['discarded:no-revision'] = noRevision;
  ctx.emit({ type: 'pairs', round, kept: counts.pairs, discarded });
  return { counts };
}
