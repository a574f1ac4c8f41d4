// `logprob_shift`: how the policy's likelihood of fixed, known-good reference answers moved since
// round 0 (the `reference` field of probe prompts).
//
//   ℓ_r = (1/N) Σ_i log p_r(y*_i | x_i) / max(1, |y*_i|)      y*_i: probe i's reference answer
//   logprob_shift = ℓ_r − ℓ_0                                  (nats per token)
//
// log p is the sum of the answer's token log-probs (plain softmax), |y*| its token count. DPO-style
// training can push down the likelihood of good answers it never saw, even of the chosen ones
// (Pal et al. 2024, "Smaug: Fixing Failure Modes of Preference Optimisation with DPO-Positive";
// Razin et al. 2024, "Unintentional Unalignment: Likelihood Displacement in Direct Preference
// Optimization"); a falling ℓ_r shows it.
import { mean } from './mean.js';

/** A completion scored by an engine: summed log-prob and token count. */
export interface ScoredAnswer {
  logps: number;
  tokens: number;
}

/** ℓ: mean over answers of log-prob per token. */
export const perTokenLogprob = (scored: readonly ScoredAnswer[]): number =>
  mean(scored.map((x) => x.logps / Math.max(1, x.tokens)));

export const logprobShift = (now: number, atRound0: number): number => now - atRound0;
