import type { JudgeStageSpec } from '../../spec/schema.js';
import type { RunContext } from '../context.js';
import type { MetricLog } from './metric-log.js';
import { positionBias, type SlotVerdict } from './metrics/position-bias.js';

/**
 * Meta-Rewarding's meta-judge in round r ≥ 1, from the round's stored battles (judge stage
 * meta_judge):
 *   - `meta_judge_position_bias`: over the judgement pairs shown in both orders, the share whose
 *     two verdicts name the same slot (metrics/position-bias.ts; detail: first_slot_rate);
 *   - `meta_judge_agreement`: the share whose two orders name the same judgement (with log-prob
 *     verdicts there are no ties, so it is 1 − the bias; kept apart for gates and the report);
 *   - `meta_judge_win_rate`: over the round's trained judge pairs, the chosen judgement's mean
 *     probability of winning its battles (how decided the meta-judge was about what it trains).
 */
export function recordMetaJudgeStats(
  ctx: RunContext,
  log: MetricLog,
  round: number,
  judgeStage: JudgeStageSpec | undefined,
): void {
  if (round === 0 || !judgeStage?.meta_judge) return;
  const rows = ctx.store.metaJudgementsForRound(round);
  const verdict = new Map(rows.map((m) => [`${m.judgementAId}|${m.judgementBId}`, m.verdict]));
  const pairs: [SlotVerdict, SlotVerdict][] = [];
  for (const m of rows) {
    if (m.judgementAId > m.judgementBId) continue; // each unordered pair once
    const back = verdict.get(`${m.judgementBId}|${m.judgementAId}`);
    if (back) pairs.push([m.verdict, back]);
  }
  const bias = positionBias(pairs);
  if (bias.comparisons) {
    log.record('meta_judge_position_bias', bias.bias, { ...bias });
    log.record('meta_judge_agreement', bias.consistent / bias.comparisons, { ...bias });
  }
  const trained = ctx.store.judgePairsForRound(round).filter((p) => p.dropped === null);
  const probs = trained.map((p) => p.detail?.chosen_win_prob).filter((x) => typeof x === 'number');
  if (probs.length)
    log.record('meta_judge_win_rate', probs.reduce((s, x) => s + x, 0) / probs.length, {
      pairs: probs.length,
    });
}
