// Float64 JS twins of adamw.ts (same operation order), used by the tests.
import type { AdamWHyper } from '../../src/engine/train/optim/adamw.js';

export type AdamWScalars = Omit<AdamWHyper, 'lr' | 'step'> & { lr: number; step: number };

export interface AdamWTensorState {
  param: ArrayLike<number>;
  grad: ArrayLike<number>;
  m: ArrayLike<number>;
  v: ArrayLike<number>;
}

/** One torch.optim.AdamW step on one tensor (step is 1-based). */
export function referenceAdamWStep(
  s: AdamWTensorState,
  hp: AdamWScalars,
): { param: Float64Array; m: Float64Array; v: Float64Array } {
  const n = s.param.length;
  const param = new Float64Array(n);
  const m = new Float64Array(n);
  const v = new Float64Array(n);
  const bc1 = 1 - Math.pow(hp.beta1, hp.step);
  const bc2 = 1 - Math.pow(hp.beta2, hp.step);
  const stepSize = hp.lr / bc1;
  const bc2Sqrt = Math.sqrt(bc2);
  const decay = 1 - hp.lr * hp.weightDecay;
  for (let i = 0; i < n; i++) {
    const p = hp.weightDecay !== 0 ? s.param[i] * decay : s.param[i];
    const g = s.grad[i];
    m[i] = s.m[i] * hp.beta1 + g * (1 - hp.beta1);
    v[i] = s.v[i] * hp.beta2 + g * g * (1 - hp.beta2);
    const denom = Math.sqrt(v[i]) / bc2Sqrt + hp.eps;
    param[i] = p - (m[i] / denom) * stepSize;
  }
  return { param, m, v };
}

/** torch.nn.utils.clip_grad_norm_ (L2). */
export function referenceClipByGlobalNorm(
  grads: ArrayLike<number>[],
  maxNorm: number,
): { grads: Float64Array[]; norm: number } {
  let total = 0;
  for (const g of grads) {
    let s = 0;
    for (let i = 0; i < g.length; i++) s += g[i] * g[i];
    total += s;
  }
  const norm = Math.sqrt(total);
  const coef = Number.isFinite(maxNorm) ? Math.min(maxNorm / (norm + 1e-6), 1) : 1;
  return { grads: grads.map((g) => Float64Array.from(g, (x) => x * coef)), norm };
}
