// `robust`: Robust DPO, the unbiased estimate of the DPO loss under preference-label noise of rate
// ε (Chowdhury, Kini & Natarajan 2024, "Provably Robust DPO: Aligning Language Models with Noisy
// Feedback", eq. 10):
//
//   L = mean over pairs of  ( −(1 − ε)·log σ(β·h) + ε·log σ(−β·h) ) / (1 − 2ε)
//
// with h the DPO margin (see sigmoid.ts). Source: TRL DPOTrainer, `loss_type == "robust"`.
// Note the + sign of the ε term (cDPO, `sigmoid` with ε, has −). ε must be < 0.5.
import type { V } from '../../graph/builder.js';
import { PairTerms, logSigmoid, meanAll } from './common.js';

export function buildRobustLoss(t: PairTerms): V {
  const { b, opts } = t;
  const eps = opts.labelSmoothing;
  return b.scope('robust', () => {
    const z = b.mul(t.margin('robust'), b.constF(opts.beta));
    const clean = b.mul(b.neg(logSigmoid(b, z)), b.constF(1 - eps));
    const flipped = b.mul(logSigmoid(b, b.neg(z)), b.constF(eps));
    return meanAll(b, b.div(b.add(clean, flipped), b.constF(1 - 2 * eps)));
  });
}
