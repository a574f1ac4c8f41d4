import { PipelineError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { RunContext } from './context.js';
import type { PairStageSpec } from '../spec/schema.js';
import { candidateScores, type CandidateScore } from './candidate-scores.js';
import { judgeMix } from './judge-mix.js';
import { labelStage } from './label-candidates.js';
import { PairWriter } from './pair-writer.js';
import { pairRevisions } from './revision-pairs.js';
import type { Stage, StageInput, StageResult } from './stage.js';

export type Scored = CandidateScore & { score: number };

/**
 * Chosen/rejected pairs per prompt from the judges' scores, combined on one 0–1 scale
 * (judge-mix.ts), which `min_margin` and length control measure in. Strategies: `max-min` (best vs
 * worst), `max-random` (best vs a random lower one), `all-pairs-above-margin`; `revision`
 * (revision-pairs.ts) pairs critique revisions with their originals and reads no scores. Length control ρ
 * (Meta-Rewarding LMs): chosen = the shortest answer in the top band, rejected = the longest in
 * the bottom band, each band ρ·(max−min) wide. Every discarded prompt is stored with its reason.
 * `label` (label-candidates.ts) makes no pairs: it labels each candidate for KTO.
 */
async function runPairStage(
  ctx: RunContext,
  input: StageInput<PairStageSpec>,
): Promise<StageResult> {
  if (input.spec.strategy === 'revision') return pairRevisions(ctx, input);
  if (input.spec.strategy === 'label') return labelStage.run(ctx, input);
  const { spec, round, index: stageIndex, prompts, judgeStage } = input;
  // validation refuses a pair stage with no judge stage before it; this guards the contract
  if (!judgeStage)
    throw new PipelineError({
      code: 'E_PAIR_NO_JUDGE',
      message: `pair stage ${stageIndex} of round ${round} has no judge stage before it to read scores from`,
      hint: 'put a judge stage before the pair stage in stages:',
    });
  const out = new PairWriter(ctx, spec, round, stageIndex, prompts.length);
  const mix = judgeMix(ctx, judgeStage);
  prompts.forEach((p, i) => {
    const cands = ctx.store.candidatesForPrompt(round, p.id);
    const all = candidateScores(ctx.store, cands, judgeStage.judges, judgeStage.combine, mix);
    const scored = all.filter((s): s is Scored => s.score !== null);
    if (cands.length < 2) out.discard(p, 'fewer-than-2-candidates', { candidates: cands.length });
    else if (scored.length < 2)
      out.discard(p, 'unscored', { candidates: cands.length, scored: scored.length });
    else {
      const selected = choosePairs(spec, scored, new Rng(ctx.seedFor('pair', round, p.inputHash)));
      if ('reason' in selected) out.discard(p, selected.reason, selected.detail);
      else
        for (const [c, r] of selected.pairs) {
          const label = spec.soft_labels
            ? softLabel(c.score - r.score, spec.soft_label_temperature)
            : null;
          out.pair(p, c, r, label);
        }
    }
    out.progress(i + 1);
  });
  return out.finish();
}

export const pairStage: Stage<PairStageSpec> = { kind: 'pair', run: runPairStage };

/**
 * The judges' confidence that the chosen answer is better, from the score gap Δ ≥ 0 as a
 * Bradley–Terry probability with temperature T (the gap, in score units, that makes p = σ(1)):
 *
 *   p = σ(Δ / T) = 1 / (1 + exp(−Δ / T))
 */
export function softLabel(gap: number, temperature: number): number {
  return 1 / (1 + Math.exp(-gap / temperature));
}

/** Rounding room for the margin test: a gap of 0.5 points on a 0–5 rubric is 0.1 on the 0–1
 *  scale only up to float rounding (4.5/5 − 4/5 = 0.09999999999999998). */
const MARGIN_SLACK = 1e-9;

export function choosePairs(
  spec: Pick<PairStageSpec, 'strategy' | 'min_margin' | 'length_control'>,
  scored: Scored[],
  rng: { nextFloat(): number },
): { pairs: [Scored, Scored][] } | { reason: string; detail: Record<string, unknown> } {
  const scores = scored.map((s) => s.score);
  const max = Math.max(...scores);
  const min = Math.min(...scores);
  if (max === min) return { reason: 'tie', detail: { score: max } };
  const len = (s: Scored) => s.candidate.text.length;
  if (spec.strategy === 'all-pairs-above-margin') {
    const pairs: [Scored, Scored][] = [];
    for (const a of scored)
      for (const b of scored)
        if (a.score - b.score >= Math.max(spec.min_margin - MARGIN_SLACK, Number.EPSILON))
          pairs.push([a, b]);
    return pairs.length
      ? { pairs }
      : { reason: 'below-margin', detail: { max, min, min_margin: spec.min_margin } };
  }
  const band = spec.length_control * (max - min);
  const top = scored.filter((s) => s.score >= max - band);
  // shortest in the top band (ties: the higher score, then the earlier candidate)
  const chosen = top.reduce((a, b) =>
    len(b) < len(a) || (len(b) === len(a) && b.score > a.score) ? b : a,
  );
  let rejected: Scored;
  if (spec.strategy === 'max-random') {
    const lower = scored.filter((s) => s.score < chosen.score);
    rejected = lower[Math.floor(rng.nextFloat() * lower.length)];
  } else {
    const bottom = scored.filter((s) => s.score <= min + band);
    rejected = bottom.reduce((a, b) =>
      len(b) > len(a) || (len(b) === len(a) && b.score < a.score) ? b : a,
    );
  }
  if (
    !rejected ||
    chosen.score - rejected.score < spec.min_margin - MARGIN_SLACK ||
    chosen === rejected
  )
    return {
      reason: 'below-margin',
      detail: {
        chosen: chosen.score,
        rejected: rejected?.score ?? null,
        min_margin: spec.min_margin,
      },
    };
  return { pairs: [[chosen, rejected]] };
}
