// `apo_zero`: Anchored Preference Optimisation, APO-zero (D'Oosterlinck et al. 2024, "Anchored
// Preference Optimization and Contrastive Revisions", eq. 7): push the chosen likelihood up and
// the rejected one down, each against the reference, for when chosen outputs are better than the
// model's own:
//
//   L = mean over pairs of  (1 − σ(β·(log π(y_w|x) − log π_ref(y_w|x))))
//                          + σ(β·(log π(y_l|x) − log π_ref(y_l|x)))
//
// Source: TRL DPOTrainer, `loss_type == "apo_zero"`.
import type { V } from '../../graph/builder.js';
import { PairTerms, meanAll } from './common.js';

export function buildApoZeroLoss(t: PairTerms): V {
  const { b, opts } = t;
  return b.scope('apo_zero', () => {
    const beta = b.constF(opts.beta);
    const chosen = b.sub(b.constF(1), b.sigmoid(b.mul(t.chosenLogratio('apo_zero'), beta)));
    const rejected = b.sigmoid(b.mul(t.rejectedLogratio('apo_zero'), beta));
    return meanAll(b, b.add(chosen, rejected));
  });
}
