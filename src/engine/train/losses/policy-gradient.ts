// The clipped policy-gradient loss of online RL: GRPO and its variants, RLOO and REINFORCE++ all
// train with it and differ only in their advantages (advantages.ts) and KL placement.
//
// Per completion token t of row i (PPO's clipped surrogate, Schulman et al. 2017, eq. 7, as TRL's
// GRPOTrainer._compute_loss writes it; DeepSeekMath, Shao et al. 2024, eq. 3):
//
//   w_i,t  = log π(o_t | q, o_<t) − log π_old(o_t | q, o_<t)           (token level)
//   w_i,t  = (1/|o_i|) Σ_t (log π − log π_old)                          (sequence level: GSPO,
//                                                                         Zheng et al. 2025, eq. 7)
//   ρ      = exp(w),  ρ̂ = clip(ρ, 1 − ε_low, 1 + ε_high)                (DAPO's asymmetric clip,
//                                                                         Yu et al. 2025, eq. 10)
//   ℓ_i,t  = −min(ρ · A_i,t, ρ̂ · A_i,t) + β · KL_i,t
//   KL_i,t = exp(ref − logπ) − (ref − logπ) − 1                        (k3, Schulman 2020; ≥ 0)
//   KL_i,t ← ρ · KL_i,t    with use_bias_correction_kl (TRL's default: the k3 estimate of KL
//                          under the sampling policy, importance-weighted; ρ is differentiated)
//
// Aggregation (TRL GRPOConfig.loss_type), with m the completion mask and |o_i| = Σ_t m_i,t:
//   grpo     (1/G) Σ_i (1/|o_i|) Σ_t ℓ_i,t m_i,t                         DeepSeekMath
//   bnpo     Σ_i,t ℓ m / Σ_i,t m                                        token mean of the batch
//   dr_grpo  Σ_i,t ℓ m / (G · max_completion_length)                    Liu et al. 2025 (Dr. GRPO)
//   dapo     Σ_i,t ℓ m / (completion tokens of the whole step)          Yu et al. 2025 (DAPO)
// RLOO (TRL RLOOTrainer._compute_loss): one ratio per completion of the SUMMED log-probs,
//   ρ_i = exp(Σ_t log π − Σ_t log π_old),  L = mean_i −min(ρ_i A_i, clip(ρ_i) A_i),
// and no KL term in the loss (its β shapes the reward instead, see advantages.ts).
// The log-probs are of logits divided by the sampling temperature (TRL's convention). π_old is
// the policy that sampled (its log-probs are an input: the policy itself, detached, when each
// batch gets one update). The reference enters only through β (β = 0: no reference pass).
import type { GraphBuilder, V } from '../../graph/builder.js';
import { clampMin, clipRegions, entropyOfLogp, stopGradient, sumAll } from './common.js';
import type { LossResult } from './types.js';

export type PgLossType = 'grpo' | 'bnpo' | 'dr_grpo' | 'dapo';
export const PG_LOSS_TYPES: readonly PgLossType[] = ['grpo', 'bnpo', 'dr_grpo', 'dapo'];

export interface PolicyGradientOptions {
  /** grpo: the token-level loss above (GRPO, REINFORCE++); rloo: RLOO's sequence-level loss. */
  form?: 'grpo' | 'rloo';
  lossType: PgLossType;
  /** KL coefficient β (GRPOConfig.beta); 0 drops the KL term and the reference. */
  beta: number;
  /** ε_low (GRPOConfig.epsilon). */
  epsilon: number;
  /** ε_high (GRPOConfig.epsilon_high; defaults to epsilon). */
  epsilonHigh: number;
  importanceSamplingLevel: 'token' | 'sequence';
  /** Multiply the k3 KL by the importance weight (TRL use_bias_correction_kl; default true there). */
  useBiasCorrectionKl: boolean;
  /** dr_grpo's constant normalizer (GRPOConfig.max_completion_length). */
  maxCompletionLength: number;
}

/** Per-token inputs, all over the N response tokens of the micro-batch (row-major). */
export interface PolicyGradientTokens {
  /** log π of each token, [N, 1] (carries the gradient). */
  logp: V;
  /** log softmax of each token's logits [N, vocab], for the entropy metric (no gradient). */
  dist: V;
  /** log π_old, [N]. */
  old: V;
  /** log π_ref, [N] (only read when β ≠ 0). */
  ref: V;
  /** Advantage of each token, [N] (a row's advantage repeated for GRPO/RLOO). */
  advantage: V;
  /** Row of each token, int64 [N]. */
  row: V;
  /** [R, N] membership × mask weights (train-graph.ts ResponseTokens.rowWeights). */
  rowWeights: V;
  /** dapo's normalizer for this micro-batch (a scalar input): see rl-graph.ts. */
  normalizer: V;
}

export function buildPolicyGradientLoss(
  b: GraphBuilder,
  t: PolicyGradientTokens,
  opts: PolicyGradientOptions,
): LossResult {
  return b.scope('policy_gradient', () => {
    const logp = b.squeeze(t.logp, [1]); // [N]
    const tokenWeight = b.op1('ReduceSum', [t.rowWeights, b.constI64([0])], { keepdims: 0 }); // [N]
    const counts = b.op1('ReduceSum', [t.rowWeights, b.constI64([1])], { keepdims: 0 }); // [R]
    const rowSum = (x: V) => b.squeeze(b.matMul(t.rowWeights, b.unsqueeze(x, [1])), [1]); // [R]
    const totalTokens = sumAll(b, tokenWeight);
    const tokenMean = (x: V) =>
      b.div(sumAll(b, b.mul(x, tokenWeight)), clampMin(b, totalTokens, 1));

    const logRatio = b.sub(logp, t.old); // [N]
    const rows = b.cast(b.shape(t.rowWeights, 0, 1), b.float); // [1]
    const scalar = (x: V) => b.squeeze(x, [0]);
    const rowMean = (x: V) => b.div(sumAll(b, x), scalar(rows)); // mean over the R rows
    const clip = (x: V) =>
      b.op1('Clip', [x, b.constF(1 - opts.epsilon), b.constF(1 + opts.epsilonHigh)]);
    // ρ and A where the clip is decided: per token, or per row (GSPO, RLOO)
    let coef: V;
    let adv: V;
    let perRow = false;
    if (opts.form === 'rloo') {
      coef = b.exp(rowSum(logRatio)); // [R]
      adv = b.div(rowSum(t.advantage), clampMin(b, counts, 1)); // [R]: the row's advantage
      perRow = true;
    } else if (opts.importanceSamplingLevel === 'sequence') {
      coef = b.exp(b.div(rowSum(logRatio), clampMin(b, counts, 1))); // [R]
      adv = b.div(rowSum(t.advantage), clampMin(b, counts, 1));
      perRow = true;
    } else {
      coef = b.exp(logRatio); // [N]
      adv = t.advantage;
    }
    const surrogate = b.op1('Min', [b.mul(coef, adv), b.mul(clip(coef), adv)]);

    let loss: V;
    let kl: V | undefined;
    if (opts.form === 'rloo') {
      loss = rowMean(b.neg(surrogate));
    } else {
      // back to tokens: a row's ρ and surrogate repeat over its tokens
      const tokenCoef = perRow ? b.gather(coef, t.row, 0) : coef; // [N]
      let perToken = b.neg(perRow ? b.gather(surrogate, t.row, 0) : surrogate); // [N]
      if (opts.beta !== 0) {
        const d = b.sub(t.ref, logp);
        kl = b.sub(b.sub(b.exp(d), d), b.constF(1)); // [N]
        if (opts.useBiasCorrectionKl) kl = b.mul(kl, tokenCoef);
        perToken = b.add(perToken, b.mul(kl, b.constF(opts.beta)));
      }
      switch (opts.lossType) {
        case 'grpo':
          loss = rowMean(b.div(rowSum(perToken), clampMin(b, counts, 1)));
          break;
        case 'bnpo':
          loss = tokenMean(perToken);
          break;
        case 'dr_grpo':
          loss = b.div(
            sumAll(b, b.mul(perToken, tokenWeight)),
            scalar(b.mul(rows, b.constF(opts.maxCompletionLength))),
          );
          break;
        case 'dapo':
          loss = b.div(sumAll(b, b.mul(perToken, tokenWeight)), t.normalizer);
          break;
      }
    }

    // Metrics (TRL's names): token means over the completion tokens, or over the rows when
    // the ratio is one per row (GSPO, RLOO count sequences).
    const metrics = b.scope('metrics', () => {
      const f = (x: V) => b.cast(x, b.float);
      const { low, high, region } = clipRegions(b, coef, adv, opts.epsilon, opts.epsilonHigh);
      const ratioMean = (x: V) => (perRow ? rowMean(x) : tokenMean(x));
      const m: Record<string, V> = {
        'clip_ratio/low_mean': ratioMean(f(low)),
        'clip_ratio/high_mean': ratioMean(f(high)),
        'clip_ratio/region_mean': ratioMean(f(region)),
        entropy: tokenMean(entropyOfLogp(b, t.dist)),
        'count/tokens': totalTokens,
      };
      if (kl) m.kl = tokenMean(stopGradient(b, kl));
      return m;
    });
    return { loss, metrics };
  });
}
