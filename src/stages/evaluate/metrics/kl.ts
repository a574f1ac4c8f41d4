// `kl`: an estimate of KL(M_r || M_0) per token on the policy's own probe answers, the "k1"
// estimator of Schulman (2020, "Approximating KL Divergence", joschu.net/blog/kl-approx.html):
//
//   KL(p || q) = E_{y ~ p}[ log p(y) − log q(y) ]
//   kl = (1/N) Σ_i (log p_r(y_i | x_i) − log p_0(y_i | x_i)) / max(1, |y_i|)
//
// y_i: M_r's answer to probe x_i (one per probe); log p: the answer's summed token log-probs under
// each model (plain softmax); |y_i|: its token count as M_r scored it.
//
// Honestly: k1 is unbiased only when each y_i is a sample from p_r. The probe answers are decoded
// at the evaluate stage's temperature, greedy by default, so they are not samples from M_r and the
// estimate can come out negative, which a KL cannot; one answer per probe also makes it noisy.
// Issue 13 replaces this estimator; until then it stays as is, so runs remain comparable.
import { mean } from './mean.js';
import type { ScoredAnswer } from './logprob-shift.js';

/** `underR[i]` and `under0[i]`: answer i scored by M_r and by M_0. */
export const klEstimate = (
  underR: readonly ScoredAnswer[],
  under0: readonly ScoredAnswer[],
): number => mean(underR.map((u, i) => (u.logps - under0[i].logps) / Math.max(1, u.tokens)));
