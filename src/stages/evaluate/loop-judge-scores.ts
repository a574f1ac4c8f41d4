import { JUDGE_SCORE_PREFIX } from '../../spec/eval-metrics.js';
import type { JudgeStageSpec } from '../../spec/schema.js';
import { candidateScores, onUnitScale } from '../candidate-scores.js';
import type { RunContext } from '../context.js';
import { judgeMix } from '../judge-mix.js';
import type { MetricLog } from './metric-log.js';
import { mean } from './metrics/mean.js';

/**
 * `judge_score/<judge>` for each judge of the round's judge stage (round r ≥ 1, from its stored
 * judgements): the mean over the round's candidates of the judge's score put on 0–1 the way the
 * pair stage puts it (candidate-scores.ts, judge-mix.ts):
 *
 *   s̃_c = (s_c − lo_j) / (hi_j − lo_j),   judge_score/j = mean_c s̃_c
 *
 * where s_c is the judge's mean parsed score of candidate c (pointwise) or its win share
 * (pairwise). A judge whose scores creep up while the grader's do not is a reward hack in the
 * making; the detail keeps every s̃_c so the report can draw each judge's histogram per round.
 */
export function recordLoopJudgeScores(
  ctx: RunContext,
  log: MetricLog,
  round: number,
  judgeStage: JudgeStageSpec | undefined,
): void {
  if (round === 0 || !judgeStage) return;
  const mix = judgeMix(ctx, judgeStage);
  const scores: Record<string, number[]> = Object.fromEntries(
    judgeStage.judges.map((j) => [j, []]),
  );
  for (const p of ctx.store.promptsForRound(round)) {
    if (p.source === 'probe') continue;
    const cands = ctx.store.candidatesForPrompt(round, p.id);
    for (const s of candidateScores(ctx.store, cands, judgeStage.judges))
      for (const [j, v] of Object.entries(s.perJudge))
        scores[j]?.push(onUnitScale(v, mix.scales[j], j));
  }
  for (const [judge, s] of Object.entries(scores))
    if (s.length)
      log.record(`${JUDGE_SCORE_PREFIX}${judge}`, mean(s), {
        judge,
        scale: mix.scales[judge],
        candidates: s.length,
        scores: s,
      });
}
