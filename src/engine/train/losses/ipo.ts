// `ipo`: Identity Preference Optimisation (Azar et al. 2023, "A General Theoretical Paradigm to
// Understand Learning from Human Preferences", eq. 17), with β playing the role of τ:
//
//   h̄ = (log π(y_w|x) − log π_ref(y_w|x)) / |y_w| − (log π(y_l|x) − log π_ref(y_l|x)) / |y_l|
//   L = mean over pairs of  (h̄ − 1/(2β))²
//
// Source: TRL DPOTrainer, `loss_type == "ipo"`: TRL averages the log-probs per token for IPO
// (older TRL divides all four log-probs by the completion length in `concatenated_forward`; newer
// TRL divides the log-ratios: the same number). |y| is clamped to ≥ 1.
import type { V } from '../../graph/builder.js';
import { PairTerms, meanAll } from './common.js';

export function buildIpoLoss(t: PairTerms): V {
  const { b, opts } = t;
  return b.scope('ipo', () => {
    const d = b.sub(t.normMargin('ipo'), b.constF(1 / (2 * opts.beta)));
    // d·d rather than Pow(d, 2): Pow's gradient w.r.t. its exponent involves log(d), NaN for d < 0.
    return meanAll(b, b.mul(d, d));
  });
}
