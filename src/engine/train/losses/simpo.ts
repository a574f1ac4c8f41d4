// `simpo`: Simple Preference Optimisation, reference-free (Meng, Xia & Chen 2024, "SimPO: Simple
// Preference Optimization with a Reference-Free Reward", eq. 6), with CPO's label smoothing ε:
//
//   Δ = log π(y_w|x)/|y_w| − log π(y_l|x)/|y_l|          (per-token average log-probs)
//   z = β·(Δ − γ/β)                                      (= β·Δ − γ)
//   L = mean over pairs of  −(1 − ε)·log σ(z) − ε·log σ(−z)
//
// Source: TRL CPOTrainer.cpo_loss, `loss_type == "simpo"` (trl/trainer/cpo_trainer.py): CPO averages
// log-probs per token for simpo, γ = `simpo_gamma`. CPOTrainer also adds `cpo_alpha`·NLL (default
// 1.0 there; the SimPO paper uses 0): here that is an explicit extra `sft` term with its weight.
import type { V } from '../../graph/builder.js';
import { PairTerms, meanAll } from './common.js';
import { smoothedLogistic } from './sigmoid.js';

export function buildSimpoLoss(t: PairTerms): V {
  const { b, opts } = t;
  return b.scope('simpo', () => {
    const delta = b.sub(t.chosenAvg(), t.rejectedAvg());
    const z = b.mul(b.sub(delta, b.constF(opts.simpoGamma / opts.beta)), b.constF(opts.beta));
    return meanAll(b, smoothedLogistic(t, z, opts.labelSmoothing));
  });
}
