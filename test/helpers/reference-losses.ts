// Float64 JS twins of every loss, written straight from the TRL formulas (see each loss file's
// header) with the textbook stable forms of log σ and log(1 − eˣ), independently of the graph
// code. The tests compare the graphs against these.
import type { LossOptions, LossType } from '../../src/engine/train/losses/types.js';

export interface PairLogpsArrays {
  chosen: ArrayLike<number>;
  rejected: ArrayLike<number>;
  refChosen?: ArrayLike<number>;
  refRejected?: ArrayLike<number>;
  chosenTokens: ArrayLike<number>;
  rejectedTokens: ArrayLike<number>;
  chosenNll?: ArrayLike<number>;
}

export interface KtoLogpsArrays {
  policy: ArrayLike<number>;
  ref: ArrayLike<number>;
  policyKl: ArrayLike<number>;
  refKl: ArrayLike<number>;
  desirable: ArrayLike<number>;
}

/** log σ(x) without overflow. */
export function logSigmoidRef(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

/** σ(x) without overflow. */
export function sigmoidRef(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** log(1 − eˣ) for x < 0 (Mächler's log1mexp). */
export function log1mExpRef(x: number): number {
  return x > -Math.LN2 ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sum = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0);

function perPair(logps: PairLogpsArrays) {
  const n = logps.chosen.length;
  const idx = Array.from({ length: n }, (_, i) => i);
  const need = (name: string) => {
    if (!logps.refChosen || !logps.refRejected) throw new Error(`${name} needs reference logps`);
    return { rc: logps.refChosen, rr: logps.refRejected };
  };
  const lenC = (i: number) => Math.max(logps.chosenTokens[i], 1);
  const lenR = (i: number) => Math.max(logps.rejectedTokens[i], 1);
  const chosenLr = (i: number) => logps.chosen[i] - need('loss').rc[i];
  const rejectedLr = (i: number) => logps.rejected[i] - need('loss').rr[i];
  const margin = (i: number) => chosenLr(i) - rejectedLr(i);
  const normMargin = (i: number) => chosenLr(i) / lenC(i) - rejectedLr(i) / lenR(i);
  const avgC = (i: number) => logps.chosen[i] / lenC(i);
  const avgR = (i: number) => logps.rejected[i] / lenR(i);
  const nll = () =>
    logps.chosenNll
      ? mean(Array.from(logps.chosenNll))
      : -sum(logps.chosen) / Math.max(sum(logps.chosenTokens), 1);
  return { idx, need, chosenLr, rejectedLr, margin, normMargin, avgC, avgR, nll };
}

/** One loss type's scalar loss (already reduced over the batch). */
export function referenceLoss(type: LossType, logps: PairLogpsArrays, opts: LossOptions): number {
  const p = perPair(logps);
  const { beta } = opts;
  const eps = opts.labelSmoothing;
  switch (type) {
    case 'sigmoid':
      return mean(
        p.idx.map((i) => {
          const z = beta * p.margin(i);
          return -(1 - eps) * logSigmoidRef(z) - eps * logSigmoidRef(-z);
        }),
      );
    case 'robust':
      return mean(
        p.idx.map((i) => {
          const z = beta * p.margin(i);
          return (-(1 - eps) * logSigmoidRef(z) + eps * logSigmoidRef(-z)) / (1 - 2 * eps);
        }),
      );
    case 'ipo':
      return mean(p.idx.map((i) => (p.normMargin(i) - 1 / (2 * beta)) ** 2));
    case 'hinge':
      return mean(p.idx.map((i) => Math.max(0, 1 - beta * p.margin(i))));
    case 'sigmoid_norm':
      return mean(p.idx.map((i) => -logSigmoidRef(beta * p.normMargin(i))));
    case 'apo_zero':
      return mean(
        p.idx.map((i) => 1 - sigmoidRef(beta * p.chosenLr(i)) + sigmoidRef(beta * p.rejectedLr(i))),
      );
    case 'sft':
      return p.nll();
    case 'simpo':
      return mean(
        p.idx.map((i) => {
          const z = beta * (p.avgC(i) - p.avgR(i) - opts.simpoGamma / beta);
          return -(1 - eps) * logSigmoidRef(z) - eps * logSigmoidRef(-z);
        }),
      );
    case 'orpo': {
      const ratio = mean(p.idx.map((i) => logSigmoidRef(orpoLogOdds(p.avgC(i), p.avgR(i)))));
      return p.nll() - (opts.orpoLambda ?? beta) * ratio;
    }
    case 'kto':
      throw new Error('kto is unpaired: use referenceKtoLoss');
  }
}

/** ORPO's log odds ratio of two per-token average log-probs. */
export function orpoLogOdds(lw: number, ll: number): number {
  return lw - ll - (log1mExpRef(lw) - log1mExpRef(ll));
}

/** Σ w_k · loss_k and the TRL metrics (see buildPreferenceLoss). */
export function referencePreferenceLoss(
  types: LossType[],
  weights: number[],
  logps: PairLogpsArrays,
  opts: LossOptions,
): { loss: number; metrics: Record<string, number> } {
  const w = weights.length ? weights : types.map(() => 1);
  let loss = 0;
  types.forEach((t, i) => (loss += w[i] * referenceLoss(t, logps, opts)));
  const p = perPair(logps);
  const needsRef = types.some((t) => t !== 'sft' && t !== 'simpo' && t !== 'orpo');
  const rc = p.idx.map((i) => opts.beta * (needsRef ? p.chosenLr(i) : p.avgC(i)));
  const rr = p.idx.map((i) => opts.beta * (needsRef ? p.rejectedLr(i) : p.avgR(i)));
  const metrics: Record<string, number> = {
    'rewards/chosen': mean(rc),
    'rewards/rejected': mean(rr),
    'rewards/margins': mean(p.idx.map((i) => rc[i] - rr[i])),
    'rewards/accuracies': mean(p.idx.map((i) => (rc[i] > rr[i] ? 1 : 0))),
    'logps/chosen': mean(p.idx.map((i) => (needsRef ? logps.chosen[i] : p.avgC(i)))),
    'logps/rejected': mean(p.idx.map((i) => (needsRef ? logps.rejected[i] : p.avgR(i)))),
  };
  if (types.includes('sft') || types.includes('orpo')) metrics.nll_loss = p.nll();
  if (types.includes('orpo')) {
    const lo = p.idx.map((i) => orpoLogOdds(p.avgC(i), p.avgR(i)));
    metrics.log_odds_ratio = mean(lo.map(logSigmoidRef));
    metrics.log_odds_chosen = mean(lo);
  }
  return { loss, metrics };
}

/** TRL KTOTrainer.kto_loss in float64 (see kto.ts). */
export function referenceKtoLoss(
  logps: KtoLogpsArrays,
  opts: LossOptions,
): { loss: number; metrics: Record<string, number> } {
  const n = logps.policy.length;
  const idx = Array.from({ length: n }, (_, i) => i);
  const kl = Math.max(0, mean(idx.map((i) => logps.policyKl[i] - logps.refKl[i])));
  const r = idx.map((i) => logps.policy[i] - logps.ref[i]);
  const isD = (i: number) => logps.desirable[i] === 1;
  const losses = idx.map((i) =>
    isD(i)
      ? opts.desirableWeight * (1 - sigmoidRef(opts.beta * (r[i] - kl)))
      : opts.undesirableWeight * (1 - sigmoidRef(opts.beta * (kl - r[i]))),
  );
  const d = idx.filter(isD);
  const u = idx.filter((i) => !isD(i));
  const sumOver = (ids: number[], f: (i: number) => number) => ids.reduce((a, i) => a + f(i), 0);
  const rc = sumOver(d, (i) => opts.beta * r[i]);
  const rr = sumOver(u, (i) => opts.beta * r[i]);
  const lc = sumOver(d, (i) => logps.policy[i]);
  const lr = sumOver(u, (i) => logps.policy[i]);
  const dn = Math.max(d.length, 1);
  const un = Math.max(u.length, 1);
  return {
    loss: mean(losses),
    metrics: {
      kl,
      'rewards/chosen': rc / dn,
      'rewards/rejected': rr / un,
      'rewards/margins': rc / dn - rr / un,
      'logps/chosen': lc / dn,
      'logps/rejected': lr / un,
      'rewards/chosen_sum': rc,
      'rewards/rejected_sum': rr,
      'logps/chosen_sum': lc,
      'logps/rejected_sum': lr,
      'count/chosen': d.length,
      'count/rejected': u.length,
    },
  };
}
