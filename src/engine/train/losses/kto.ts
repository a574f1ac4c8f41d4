// `kto`: Kahneman–Tversky Optimisation on unpaired rows (Ethayarajh et al. 2024, "KTO: Model
// Alignment as Prospect Theoretic Optimization", eq. 8):
//
//   r_i  = log π(y_i|x_i) − log π_ref(y_i|x_i)                        (sums over tokens)
//   z0   = max(0, mean_j (log π(y'_j|x_j) − log π_ref(y'_j|x_j)))     detached; y'_j is a
//          completion from another row (mismatched pair), the KL estimate
//   L_i  = λ_D · (1 − σ(β·(r_i − z0)))   for desirable rows
//          λ_U · (1 − σ(β·(z0 − r_i)))   for undesirable rows
//   L    = mean over all rows of L_i
//
// Source: TRL KTOTrainer.kto_loss (`loss_type == "kto"`): `kl = (policy_KL_logps −
// reference_KL_logps).mean().detach()`, `.clamp(min=0)`, `losses = cat(desirable_weight·chosen,
// undesirable_weight·rejected).nanmean()`. Rows are masked by `desirable` ∈ {0, 1} instead of
// being split, which gives the same mean.
import type { GraphBuilder, V } from '../../graph/builder.js';
import { clampMin, meanAll, stopGradient, sumAll } from './common.js';
import type { KtoLogps, LossOptions, LossResult } from './types.js';

export function buildKtoLoss(b: GraphBuilder, logps: KtoLogps, opts: LossOptions): LossResult {
  return b.scope('kto', () => {
    const beta = b.constF(opts.beta);
    const one = b.constF(1);
    const desirable = logps.desirable;
    const undesirable = b.sub(one, desirable);

    const kl = stopGradient(b, clampMin(b, meanAll(b, b.sub(logps.policyKl, logps.refKl)), 0));
    const r = b.sub(logps.policy, logps.ref);
    const chosenLoss = b.sub(one, b.sigmoid(b.mul(b.sub(r, kl), beta)));
    const rejectedLoss = b.sub(one, b.sigmoid(b.mul(b.sub(kl, r), beta)));
    const perRow = b.add(
      b.mul(b.mul(desirable, chosenLoss), b.constF(opts.desirableWeight)),
      b.mul(b.mul(undesirable, rejectedLoss), b.constF(opts.undesirableWeight)),
    );
    const loss = meanAll(b, perRow);

    // Metrics (TRL logs sums and counts and divides at logging time; we give both).
    const rewards = b.mul(r, beta);
    const nChosen = sumAll(b, desirable);
    const nRejected = sumAll(b, undesirable);
    const maskedMean = (x: V, mask: V, n: V) => b.div(sumAll(b, b.mul(x, mask)), clampMin(b, n, 1));
    const rewardsChosen = maskedMean(rewards, desirable, nChosen);
    const rewardsRejected = maskedMean(rewards, undesirable, nRejected);
    return {
      loss,
      metrics: {
        kl,
        'rewards/chosen': rewardsChosen,
        'rewards/rejected': rewardsRejected,
        'rewards/margins': b.sub(rewardsChosen, rewardsRejected),
        'logps/chosen': maskedMean(logps.policy, desirable, nChosen),
        'logps/rejected': maskedMean(logps.policy, undesirable, nRejected),
        'rewards/chosen_sum': sumAll(b, b.mul(rewards, desirable)),
        'rewards/rejected_sum': sumAll(b, b.mul(rewards, undesirable)),
        'logps/chosen_sum': sumAll(b, b.mul(logps.policy, desirable)),
        'logps/rejected_sum': sumAll(b, b.mul(logps.policy, undesirable)),
        'count/chosen': nChosen,
        'count/rejected': nRejected,
      },
    };
  });
}
