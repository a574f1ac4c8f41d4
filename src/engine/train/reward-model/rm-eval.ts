// Held-out evaluation of a reward model, with the numbers TRL's RewardTrainer.evaluate logs:
// eval_loss (the training loss, margin and centering included) and eval_accuracy, eval_margin,
// eval_min_reward, eval_mean_reward, eval_max_reward, over all pairs at once.
import type { RewardModelScorer } from './rm-scorer.js';
import type { RewardPairIds } from './rm-rows.js';

/** log σ(x) without overflow for any x. */
const logSigmoid = (x: number): number =>
  x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));

export async function evaluateRewardModel(
  scorer: RewardModelScorer,
  pairs: RewardPairIds[],
  centerRewardsCoefficient?: number,
): Promise<Record<string, number>> {
  const { chosen, rejected } = await scorer.scorePairs(pairs);
  const n = pairs.length;
  const mean = (f: (i: number) => number) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += f(i);
    return s / n;
  };
  let loss = -mean((i) => logSigmoid(chosen[i] - rejected[i] - (pairs[i].margin ?? 0)));
  if (centerRewardsCoefficient !== undefined)
    loss += centerRewardsCoefficient * mean((i) => (chosen[i] + rejected[i]) ** 2);
  const all = [...chosen, ...rejected];
  return {
    eval_loss: loss,
    eval_accuracy: mean((i) => (chosen[i] > rejected[i] ? 1 : 0)),
    eval_margin: mean((i) => chosen[i] - rejected[i]),
    eval_min_reward: Math.min(...all),
    eval_mean_reward: all.reduce((a, x) => a + x, 0) / all.length,
    eval_max_reward: Math.max(...all),
    eval_pairs: n,
  };
}
