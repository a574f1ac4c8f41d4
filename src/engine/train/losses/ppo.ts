// PPO's loss for RLHF: the clipped policy surrogate plus the clipped value loss of a critic, as
// TRL's PPOTrainer (trl/trainer/ppo_trainer.py, the PPOv2 trainer of TRL 0.11–0.2x, removed by 1.x)
// computes them per micro-batch, over the completion tokens t with mask m (Schulman et al. 2017,
// eq. 7 and 9; the value clip of Ziegler et al. 2019 / OpenAI's summarize-from-feedback):
//
//   ρ_t    = exp(log π(o_t) − log π_old(o_t))
//   pg     = mean_m max(−A_t · ρ_t, −A_t · clip(ρ_t, 1 − ε, 1 + ε))            ε = cliprange
//   V̂_t    = clip(V_t, V_old,t − c, V_old,t + c)                               c = cliprange_value
//   vf     = ½ · mean_m max((V_t − R_t)², (V̂_t − R_t)²)                        R = returns
//   loss   = pg + vf_coef · vf
//
// where mean_m is the masked mean over the micro-batch's completion tokens. The advantages A and
// returns R come from GAE over the KL-shaped rewards (advantages.ts ppoAdvantages); π_old and V_old
// are the policy and critic that sampled. Metrics (TRL's names): policy/approxkl = ½ · mean(Δ²),
// policy/clipfrac, val/clipfrac, val/ratio, value_loss (vf), pg_loss, entropy.
import type { GraphBuilder, V } from '../../graph/builder.js';
import { clampMin, clipRegions, entropyOfLogp, stopGradient, sumAll } from './common.js';
import type { LossResult } from './types.js';

export interface PpoLossOptions {
  /** ε of the policy clip (PPOConfig.cliprange, 0.2). */
  cliprange: number;
  /** c of the value clip (PPOConfig.cliprange_value, 0.2). */
  cliprangeValue: number;
  /** Weight of the value loss (PPOConfig.vf_coef, 0.1). */
  vfCoef: number;
}

/** Per-token inputs over the N completion tokens of the micro-batch (row-major). */
export interface PpoTokens {
  /** log π of each token, [N, 1] (carries the gradient). */
  logp: V;
  /** log softmax of each token's logits [N, vocab], for the entropy metric (no gradient). */
  dist: V;
  /** log π_old, [N]. */
  old: V;
  /** GAE advantage (whitened), [N]. */
  advantage: V;
  /** V of each token's state from the value head, [N] (carries the gradient). */
  values: V;
  /** V_old, [N]. */
  oldValues: V;
  /** GAE returns A + V_old (before whitening A), [N]. */
  returns: V;
  /** [R, N] membership × mask weights (train-graph.ts ResponseTokens.rowWeights). */
  rowWeights: V;
}

export function buildPpoLoss(b: GraphBuilder, t: PpoTokens, opts: PpoLossOptions): LossResult {
  return b.scope('ppo', () => {
    const logp = b.squeeze(t.logp, [1]); // [N]
    const weight = b.op1('ReduceSum', [t.rowWeights, b.constI64([0])], { keepdims: 0 }); // [N]
    const count = sumAll(b, weight);
    const maskedMean = (x: V) => b.div(sumAll(b, b.mul(x, weight)), clampMin(b, count, 1));

    const sq = (x: V) => b.mul(x, x);
    const diff = b.sub(logp, t.old); // [N]
    const ratio = b.exp(diff);
    const negA = b.neg(t.advantage);
    const pg1 = b.mul(negA, ratio);
    const pg2 = b.mul(
      negA,
      b.op1('Clip', [ratio, b.constF(1 - opts.cliprange), b.constF(1 + opts.cliprange)]),
    );
    const pgLoss = maskedMean(b.op1('Max', [pg1, pg2]));

    // clamp(V, V_old − c, V_old + c): Clip takes only constant bounds, so Min then Max.
    const c = b.constF(opts.cliprangeValue);
    const clipped = b.op1('Max', [
      b.op1('Min', [t.values, b.add(t.oldValues, c)]),
      b.sub(t.oldValues, c),
    ]);
    const vf1 = sq(b.sub(t.values, t.returns));
    const vf2 = sq(b.sub(clipped, t.returns));
    const vfLoss = b.mul(b.constF(0.5), maskedMean(b.op1('Max', [vf1, vf2])));
    const loss = b.add(pgLoss, b.mul(b.constF(opts.vfCoef), vfLoss));

    const metrics = b.scope('metrics', () => {
      const f = (x: V) => b.cast(x, b.float);
      const d = stopGradient(b, diff);
      const r = b.exp(d);
      // The clipped branch binds where A · (ρ − clip(ρ)) > 0; the union of low and high is TRL's
      // policy/clipfrac (pg_losses2 > pg_losses).
      const { low, high, region } = clipRegions(b, r, t.advantage, opts.cliprange, opts.cliprange);
      return {
        'clip_ratio/low_mean': maskedMean(f(low)),
        'clip_ratio/high_mean': maskedMean(f(high)),
        'clip_ratio/region_mean': maskedMean(f(region)),
        pg_loss: stopGradient(b, pgLoss),
        value_loss: stopGradient(b, vfLoss),
        'policy/approxkl': b.mul(b.constF(0.5), maskedMean(b.mul(d, d))),
        'policy/clipfrac': maskedMean(
          f(b.op1('Greater', [stopGradient(b, pg2), stopGradient(b, pg1)])),
        ),
        'val/clipfrac': maskedMean(
          f(b.op1('Greater', [stopGradient(b, vf2), stopGradient(b, vf1)])),
        ),
        'val/ratio': maskedMean(r),
        entropy: maskedMean(entropyOfLogp(b, t.dist)),
        'count/tokens': count,
      };
    });
    return { loss, metrics };
  });
}
