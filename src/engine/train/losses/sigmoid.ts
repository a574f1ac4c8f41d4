// `sigmoid`: DPO (Rafailov et al. 2023, "Direct Preference Optimization: Your Language Model is
// Secretly a Reward Model", eq. 7), with label smoothing ε the conservative DPO of Mitchell
// (2023, "A note on DPO with noisy preferences & relationship to IPO", cDPO eq. 3):
//
//   h = (log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x))
//   L = mean over pairs of  −(1 − ε)·log σ(β·h) − ε·log σ(−β·h)
//
// Source: TRL DPOTrainer.dpo_loss, `loss_type == "sigmoid"` (trl/trainer/dpo_trainer.py).
// Log-probs are sums over response tokens.
//
// Soft labels (a judge's confidence p_i = P(y_w ≻ y_l) per pair): cDPO with a per-pair
// ε_i = 1 − p_i (Mitchell 2023's ε, set per pair), i.e. the binary cross-entropy of the
// Bradley–Terry preference σ(β·h_i) against the soft target p_i:
//
//   L = mean over pairs of  −p_i·log σ(β·h_i) − (1 − p_i)·log σ(−β·h_i)
import type { V } from '../../graph/builder.js';
import { PairTerms, logSigmoid, meanAll } from './common.js';

export function buildSigmoidLoss(t: PairTerms): V {
  const { b, opts } = t;
  return b.scope('sigmoid', () => {
    const z = b.mul(t.margin('sigmoid'), b.constF(opts.beta));
    if (t.logps.label) return meanAll(b, softLogistic(t, z, t.logps.label));
    return meanAll(b, smoothedLogistic(t, z, opts.labelSmoothing));
  });
}

/** −p·log σ(z) − (1 − p)·log σ(−z), per element, with p a per-pair input. */
function softLogistic(t: PairTerms, z: V, p: V): V {
  const { b } = t;
  const pos = b.neg(logSigmoid(b, z));
  const neg = b.neg(logSigmoid(b, b.neg(z)));
  return b.add(b.mul(pos, p), b.mul(neg, b.sub(b.constF(1), p)));
}

/** −(1 − ε)·log σ(z) − ε·log σ(−z), per element (the ε term is omitted when ε = 0). */
export function smoothedLogistic(t: PairTerms, z: V, eps: number): V {
  const { b } = t;
  const pos = b.neg(logSigmoid(b, z));
  if (eps === 0) return pos;
  const neg = b.neg(logSigmoid(b, b.neg(z)));
  return b.add(b.mul(pos, b.constF(1 - eps)), b.mul(neg, b.constF(eps)));
}
