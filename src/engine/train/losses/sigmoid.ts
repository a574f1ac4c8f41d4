// `sigmoid`: DPO (Rafailov et al. 2023, "Direct Preference Optimization: Your Language Model is
// Secretly a Reward Model", eq. 7), with label smoothing ε the conservative DPO of Mitchell
// (2023, "A note on DPO with noisy preferences & relationship to IPO", cDPO eq. 3):
//
//   h = (log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x))
//   L = mean over pairs of  −(1 − ε)·log σ(β·h) − ε·log σ(−β·h)
//
// Source: TRL DPOTrainer.dpo_loss, `loss_type == "sigmoid"` (trl/trainer/dpo_trainer.py).
// Log-probs are sums over response tokens.
import type { V } from '../../graph/builder.js';
import { PairTerms, logSigmoid, meanAll } from './common.js';

export function buildSigmoidLoss(t: PairTerms): V {
  const { b, opts } = t;
  return b.scope('sigmoid', () => {
    const z = b.mul(t.margin('sigmoid'), b.constF(opts.beta));
    return meanAll(b, smoothedLogistic(t, z, opts.labelSmoothing));
  });
}

/** −(1 − ε)·log σ(z) − ε·log σ(−z), per element (the ε term is omitted when ε = 0). */
export function smoothedLogistic(t: PairTerms, z: V, eps: number): V {
  const { b } = t;
  const pos = b.neg(logSigmoid(b, z));
  if (eps === 0) return pos;
  const neg = b.neg(logSigmoid(b, b.neg(z)));
  return b.add(b.mul(pos, b.constF(1 - eps)), b.mul(neg, b.constF(eps)));
}
