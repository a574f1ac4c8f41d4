// `orpo`: Odds Ratio Preference Optimisation, reference-free (Hong, Lee & Thorne 2024, "ORPO:
// Monolithic Preference Optimization without Reference Model", eqs. 6–7):
//
//   ℓ_w = log π(y_w|x)/|y_w|,  ℓ_l = log π(y_l|x)/|y_l|     (per-token average log-probs)
//   log odds(y) = ℓ − log(1 − e^ℓ)
//   r = log odds(y_w) − log odds(y_l) = (ℓ_w − ℓ_l) − (log(1 − e^ℓ_w) − log(1 − e^ℓ_l))
//   L = NLL(y_w) − λ · mean over pairs of log σ(r)
//
// Source: TRL ORPOTrainer.odds_ratio_loss + get_batch_loss_metrics (`loss = policy_nll_loss −
// losses.mean()`, `losses = beta · logsigmoid(log_odds)`, λ = ORPOConfig.beta), NLL = token-level
// mean cross-entropy of the chosen responses (see sft.ts). TRL writes log(1 − e^ℓ) as
// `log1p(-exp(ℓ))`; we use a tanh form without cancellation near ℓ = 0 (common.ts log1mExp).
import type { V } from '../../graph/builder.js';
import { PairTerms, log1mExp, logSigmoid, meanAll } from './common.js';

export interface OrpoParts {
  loss: V;
  /** mean log σ(r) (TRL metric `log_odds_ratio`). */
  logOddsRatio: V;
  /** mean r (TRL metric `log_odds_chosen`). */
  logOddsChosen: V;
}

export function buildOrpoLoss(t: PairTerms): OrpoParts {
  const { b, opts } = t;
  return b.scope('orpo', () => {
    const lw = t.chosenAvg();
    const ll = t.rejectedAvg();
    const logOdds = b.sub(b.sub(lw, ll), b.sub(log1mExp(b, lw), log1mExp(b, ll)));
    const ratio = meanAll(b, logSigmoid(b, logOdds));
    const lambda = opts.orpoLambda ?? opts.beta;
    return {
      loss: b.sub(t.nll(), b.mul(ratio, b.constF(lambda))),
      logOddsRatio: ratio,
      logOddsChosen: meanAll(b, logOdds),
    };
  });
}
