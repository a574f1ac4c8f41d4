import type { JudgeStageSpec } from '../../spec/schema.js';
import type { JudgementRow } from '../../store/types.js';
import { candidateScores } from '../candidate-scores.js';
import type { RunContext } from '../context.js';
import type { MetricLog } from './metric-log.js';
import { mutualAgreement } from './metrics/judge-agreement.js';
import { positionBias, type SlotVerdict } from './metrics/position-bias.js';

/**
 * What the round's judge stage did, from its stored judgements (round r ≥ 1; the judges of the
 * round-start policy), for any pipeline, ground truth or not:
 *   - `position_bias` of each pairwise judge, pooled (metrics/position-bias.ts), when the stage
 *     is pairwise;
 *   - `inter_judge_agreement` when the stage mixes several judges: for every two of them, the
 *     mutual agreement (metrics/judge-agreement.ts) of their per-candidate scores over the
 *     candidate pairs of each prompt, pooled over prompts, then averaged over judge pairs (each
 *     pair's value is in the detail).
 */
export function recordRoundJudgeStats(
  ctx: RunContext,
  log: MetricLog,
  round: number,
  judgeStage: JudgeStageSpec | undefined,
): void {
  if (round === 0 || !judgeStage) return;
  const groups = ctx.store
    .promptsForRound(round)
    .filter((p) => p.source !== 'probe')
    .map((p) => ctx.store.candidatesForPrompt(round, p.id))
    .filter((cands) => cands.length >= 2);
  if (judgeStage.mode === 'pairwise') {
    const judgements = groups.flat().flatMap((c) => ctx.store.judgementsForCandidate(c.id));
    const bias = positionBias(swappedVerdicts(judgements, round, judgeStage.judges));
    if (bias.comparisons) log.record('position_bias', bias.bias, { ...bias });
  }
  if (judgeStage.judges.length < 2) return;
  const byPair: Record<string, number> = {};
  for (let x = 0; x < judgeStage.judges.length; x++)
    for (let y = x + 1; y < judgeStage.judges.length; y++) {
      const [jx, jy] = [judgeStage.judges[x], judgeStage.judges[y]];
      const total = { agree: 0, ties: 0, pairs: 0 };
      for (const cands of groups) {
        const scores = candidateScores(ctx.store, cands, [jx, jy]);
        const of = (j: string) => scores.map((s) => s.perJudge[j] ?? null);
        const a = mutualAgreement(of(jx), of(jy));
        total.agree += a.agree;
        total.ties += a.ties;
        total.pairs += a.pairs;
      }
      if (total.pairs) byPair[`${jx}~${jy}`] = (total.agree + total.ties / 2) / total.pairs;
    }
  const values = Object.values(byPair);
  if (values.length)
    log.record('inter_judge_agreement', values.reduce((s, v) => s + v, 0) / values.length, {
      pairs: byPair,
    });
}

/** Each (judge, sample, a, b) judged in both orders: [verdict with a first, with b first]. */
function swappedVerdicts(
  judgements: readonly JudgementRow[],
  round: number,
  judges: readonly string[],
): [SlotVerdict, SlotVerdict][] {
  const key = (j: JudgementRow, a: string, b: string) => `${j.judgeId}|${j.sampleIdx}|${a}|${b}`;
  const byKey = new Map<string, JudgementRow>();
  for (const j of judgements)
    if (
      j.mode === 'pairwise' &&
      j.round === round &&
      judges.includes(j.judgeId) &&
      j.otherCandidateId
    )
      byKey.set(key(j, j.candidateId, j.otherCandidateId), j);
  const out: [SlotVerdict, SlotVerdict][] = [];
  for (const j of byKey.values()) {
    const [a, b] = [j.candidateId, j.otherCandidateId!];
    if (a > b) continue; // each unordered pair once, from its (a < b) order
    const back = byKey.get(key(j, b, a));
    if (back) out.push([j.verdict, back.verdict]);
  }
  return out;
}
