// Reward-model training on preference pairs: the Bradley–Terry model (Bradley & Terry 1952,
// "Rank Analysis of Incomplete Block Designs") as used for RLHF reward models (Ouyang et al. 2022,
// "Training language models to follow instructions with human feedback", eq. 1), with the margin
// of Llama 2 (Touvron et al. 2023, eq. 2) and the centering term of Eisenstein et al. 2023
// ("Helping or Herding? Reward Model Ensembles Mitigate but do not Eliminate Reward Hacking", eq. 2):
//
//   r_c, r_r = r_θ(x, y_w), r_θ(x, y_l)          (one scalar per sequence: the score head)
//   L = mean over pairs of  −log σ(r_c − r_r − m)  +  η · mean over pairs of (r_c + r_r)²
//
// m is the pair's `margin` (0 without one), η TRL's `center_rewards_coefficient` (the term is left
// out when it is unset). Source: TRL RewardTrainer.compute_loss (trl/trainer/reward_trainer.py,
// TRL 1.13): `-logsigmoid(rewards_chosen - rewards_rejected - margin).mean()` plus
// `center_rewards_coefficient * torch.mean((rewards_chosen + rewards_rejected) ** 2)`.
//
// Metrics, TRL's names: accuracy = mean [r_c > r_r], margin = mean (r_c − r_r), and min_reward,
// mean_reward, max_reward over all 2P rewards of the batch.
import type { GraphBuilder, V } from '../../graph/builder.js';
import { greaterF, logSigmoid, meanAll } from './common.js';
import type { LossResult } from './types.js';

export interface RewardPair {
  /** r(x, y_w) of each pair, float [P]. */
  chosen: V;
  /** r(x, y_l), float [P]. */
  rejected: V;
  /** Per-pair margin m, float [P]; absent = 0. */
  margin?: V;
}

export interface RewardLossOptions {
  /** η of the centering term; undefined leaves the term out (TRL's None). */
  centerRewardsCoefficient?: number;
}

export function buildBradleyTerryLoss(
  b: GraphBuilder,
  r: RewardPair,
  opts: RewardLossOptions,
): LossResult {
  return b.scope('bradley_terry', () => {
    const diff = b.sub(r.chosen, r.rejected); // [P]
    const z = r.margin ? b.sub(diff, r.margin) : diff;
    let loss = b.neg(meanAll(b, logSigmoid(b, z)));
    const eta = opts.centerRewardsCoefficient;
    if (eta !== undefined) {
      const sum = b.add(r.chosen, r.rejected);
      loss = b.add(loss, b.mul(meanAll(b, b.mul(sum, sum)), b.constF(eta)));
    }
    const all = b.concat([r.chosen, r.rejected], 0); // [2P]
    return {
      loss,
      metrics: {
        accuracy: meanAll(b, greaterF(b, r.chosen, r.rejected)),
        margin: meanAll(b, diff),
        min_reward: b.op1('ReduceMin', [all], { keepdims: 0 }),
        mean_reward: meanAll(b, all),
        max_reward: b.op1('ReduceMax', [all], { keepdims: 0 }),
      },
    };
  });
}
