// `sigmoid_norm`: length-normalised DPO, the DPO loss on per-token average log-ratios, as used for
// Tülu 3 / OLMo (Lambert et al. 2024, "Tülu 3: Pushing Frontiers in Open Language Model
// Post-Training", sec. 5.1.2 eq. 6; the normalisation comes from SimPO, Meng et al. 2024, eq. 4):
//
//   h̄ = (log π(y_w|x) − log π_ref(y_w|x)) / |y_w| − (log π(y_l|x) − log π_ref(y_l|x)) / |y_l|
//   L = mean over pairs of  −log σ(β·h̄)
//
// Source: TRL DPOTrainer, `loss_type == "sigmoid_norm"` (added in TRL PR #5406, 2026): no label
// smoothing in that branch, |y| clamped to ≥ 1.
import type { V } from '../../graph/builder.js';
import { PairTerms, logSigmoid, meanAll } from './common.js';

export function buildSigmoidNormLoss(t: PairTerms): V {
  const { b, opts } = t;
  return b.scope('sigmoid_norm', () => {
    const z = b.mul(t.normMargin('sigmoid_norm'), b.constF(opts.beta));
    return meanAll(b, b.neg(logSigmoid(b, z)));
  });
}
