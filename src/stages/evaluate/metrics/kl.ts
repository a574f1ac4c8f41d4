// `kl`: an estimate of KL(M_r || M_0) per token, Schulman's "k3" estimator (2020, "Approximating
// KL Divergence", http://joschu.net/blog/kl-approx.html), on answers SAMPLED from M_r:
//
//   KL(p || q) = E_{y ~ p}[ log p(y) − log q(y) ]
//   r_t   = q(y_t | x, y_<t) / p(y_t | x, y_<t)           p = M_r (the sampler), q = M_0
//   k3_t  = (r_t − 1) − log r_t                            ≥ 0 for every r_t > 0, since log r ≤ r − 1
//   kl    = (1/N) Σ_i (1/|y_i|) Σ_t k3_t                  y_i ~ M_r(· | x_i), temperature 1
//
// E_{y_t ~ p}[r_t − 1] = Σ q − 1 = 0, so E[k3_t] = E[−log r_t] = KL(p(·|prefix) || q(·|prefix)):
// k3 is unbiased for the per-token KL when y_t is a sample from p, like k1 = −log r, but every
// term is non-negative, so the estimate cannot come out below 0 (k1 on greedy answers gave
// `kl -0.0202`). The answers must be samples from M_r at temperature 1 (no top-p/top-k), or the
// expectation is over the wrong distribution; model-drift.ts draws them so.

import { mean } from './mean.js';

/** One sampled answer's per-token log-probs under the sampler p = M_r and under q = M_0. */
export interface TokenLogprobs {
  /** log p(y_t | x, y_<t) per token, under M_r. */
  p: readonly number[];
  /** log q(y_t | x, y_<t) per token, under M_0. */
  q: readonly number[];
}

/** k3 for one token: (r − 1) − log r with log r = log q − log p. Never negative. */
export function k3(logp: number, logq: number): number {
  const logr = logq - logp;
  // expm1 keeps (r − 1) exact near r = 1, where the two terms nearly cancel
  return Math.max(0, Math.expm1(logr) - logr);
}

/** kl: mean over answers of the mean k3 over the answer's tokens; NaN with no tokens at all. */
export function klEstimate(answers: readonly TokenLogprobs[]): number {
  const perAnswer = answers
    .filter((a) => a.p.length > 0)
    .map((a) => mean(a.p.map((lp, t) => k3(lp, a.q[t]))));
  return mean(perAnswer);
}
