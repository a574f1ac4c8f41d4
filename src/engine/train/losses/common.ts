// Graph helpers shared by the loss files. Everything on a path from the policy log-probs to the
// loss uses only ops our autodiff differentiates (Add, Sub, Mul, Div, Neg, Log, Exp, Sigmoid,
// Tanh, Relu, LogSoftmax, Gather, Concat, Unsqueeze, Expand, ReduceMean, ReduceSum, Max, Identity);
// Shape/Greater/Cast appear only where no gradient flows (constant shapes, metrics).
import { fail } from '../../../core/errors.js';
import type { GraphBuilder, V } from '../../graph/builder.js';
import { tokenMeanNll } from './token-mean-nll.js';
import type { LossOptions, PairLogps } from './types.js';

/**
 * log σ(x), stable for any |x| and with the exact gradient σ(−x) everywhere (including x = 0,
 * where DPO starts: policy = reference gives a margin of exactly 0).
 *
 * log σ(x) = x − log(1 + eˣ) = LogSoftmax([0, x])[1]. We do not use −Softplus(−x): onnxruntime's
 * float64 Softplus kernel is the naive log(1 + exp(x)) (Inf at x = 1000, and 0 instead of 2e-22
 * at x = −50; measured with onnxruntime-node 1.30), only its float32 kernel is stable. LogSoftmax
 * subtracts the max first in both precisions. Forms built from Min/Abs/Relu would get the wrong
 * (sub)gradient at x = 0.
 */
export function logSigmoid(b: GraphBuilder, x: V): V {
  return b.scope('LogSigmoid', () => {
    const zero = b.expand(b.constF(0), b.shape(x));
    const pair = b.concat([b.unsqueeze(zero, [-1]), b.unsqueeze(x, [-1])], -1);
    return b.gather(b.logSoftmax(pair, -1), b.constI64(1), -1);
  });
}

/**
 * log(1 − eˣ) for x < 0 (TRL writes `torch.log1p(-torch.exp(x))`), computed without the
 * cancellation of 1 − eˣ near x = 0: with t = tanh(x/2), 1 − eˣ = −2t / (1 − t), so
 * log(1 − eˣ) = log(−2t) − log(1 − t). For very negative x this returns 0 (true value ≈ −eˣ).
 */
export function log1mExp(b: GraphBuilder, x: V): V {
  return b.scope('Log1mExp', () => {
    const t = b.op1('Tanh', [b.mul(x, b.constF(0.5))]);
    return b.sub(b.log(b.mul(t, b.constF(-2))), b.log(b.sub(b.constF(1), t)));
  });
}

/** Mean over every element: a scalar. */
export function meanAll(b: GraphBuilder, x: V): V {
  return b.op1('ReduceMean', [x], { keepdims: 0 });
}

/** Sum over every element: a scalar. */
export function sumAll(b: GraphBuilder, x: V): V {
  return b.op1('ReduceSum', [x], { keepdims: 0 });
}

/** max(x, lo) elementwise. */
export function clampMin(b: GraphBuilder, x: V, lo: number): V {
  return b.op1('Max', [x, b.constF(lo)]);
}

/** Float 1/0 of a > b (no gradient: for metrics only). */
export function greaterF(b: GraphBuilder, a: V, c: V): V {
  return b.cast(b.op1('Greater', [a, c]), b.float);
}

/**
 * Stop-gradient (torch `.detach()`): an Identity node whose name ends in `/StopGradient`. ONNX has
 * no such op; the reverse pass must not propagate through nodes named this way. Where the value
 * comes from graph inputs (not from trainable weights) there is no gradient path anyway.
 */
export const STOP_GRADIENT_LABEL = 'StopGradient';
export function stopGradient(b: GraphBuilder, x: V): V {
  return b.op1('Identity', [x], {}, STOP_GRADIENT_LABEL);
}

/**
 * The per-pair quantities the losses share, built lazily and once per graph (two losses that both
 * need the DPO margin read the same node).
 */
export class PairTerms {
  private readonly cache = new Map<string, V>();

  constructor(
    readonly b: GraphBuilder,
    readonly logps: PairLogps,
    readonly opts: LossOptions,
  ) {}

  private memo(key: string, make: () => V): V {
    let v = this.cache.get(key);
    if (v === undefined) {
      v = make();
      this.cache.set(key, v);
    }
    return v;
  }

  /** The reference log-probs; a clear error when a reference-based loss has none. */
  refs(lossName: string): { refChosen: V; refRejected: V } {
    const { refChosen, refRejected } = this.logps;
    if (refChosen === undefined || refRejected === undefined) {
      fail(
        'E_LOSS_REFERENCE',
        `loss "${lossName}" needs reference-model log-probs, but none were given`,
        'precompute the reference log-probs for the batch, or use a reference-free loss (simpo, orpo, sft)',
      );
    }
    return { refChosen, refRejected };
  }

  /** c − c_ref: the chosen log-ratio (sums). */
  chosenLogratio(lossName: string): V {
    return this.memo('chosenLogratio', () =>
      this.b.sub(this.logps.chosen, this.refs(lossName).refChosen),
    );
  }

  /** r − r_ref: the rejected log-ratio (sums). */
  rejectedLogratio(lossName: string): V {
    return this.memo('rejectedLogratio', () =>
      this.b.sub(this.logps.rejected, this.refs(lossName).refRejected),
    );
  }

  /** h = (c − c_ref) − (r − r_ref): the DPO margin ("logits" in TRL). */
  margin(lossName: string): V {
    return this.memo('margin', () =>
      this.b.sub(this.chosenLogratio(lossName), this.rejectedLogratio(lossName)),
    );
  }

  /** max(chosenTokens, 1). */
  chosenLen(): V {
    return this.memo('chosenLen', () => clampMin(this.b, this.logps.chosenTokens, 1));
  }

  /** max(rejectedTokens, 1). */
  rejectedLen(): V {
    return this.memo('rejectedLen', () => clampMin(this.b, this.logps.rejectedTokens, 1));
  }

  /** (c − c_ref)/|c| − (r − r_ref)/|r|: the length-normalised margin (TRL ipo, sigmoid_norm). */
  normMargin(lossName: string): V {
    return this.memo('normMargin', () =>
      this.b.sub(
        this.b.div(this.chosenLogratio(lossName), this.chosenLen()),
        this.b.div(this.rejectedLogratio(lossName), this.rejectedLen()),
      ),
    );
  }

  /** c/|c|: mean per-token policy log-prob of the chosen response. */
  chosenAvg(): V {
    return this.memo('chosenAvg', () => this.b.div(this.logps.chosen, this.chosenLen()));
  }

  /** r/|r|. */
  rejectedAvg(): V {
    return this.memo('rejectedAvg', () => this.b.div(this.logps.rejected, this.rejectedLen()));
  }

  /**
   * Scalar NLL of the chosen responses: mean(chosenNll) when given, else TRL's token-level mean
   * −Σc / max(Σ|c|, 1).
   */
  nll(): V {
    return this.memo('nll', () => {
      const b = this.b;
      if (this.logps.chosenNll !== undefined) return meanAll(b, this.logps.chosenNll);
      return tokenMeanNll(b, this.logps.chosen, this.logps.chosenTokens);
    });
  }
}

/** Entropy of each row's distribution from its log-softmax [N, vocab] → [N] (no gradient). */
export function entropyOfLogp(b: GraphBuilder, logp: V): V {
  const d = stopGradient(b, logp);
  return b.neg(b.op1('ReduceSum', [b.mul(b.exp(d), d), b.constI64([1])], { keepdims: 0 }));
}

/**
 * Where the clipped surrogate binds (bool masks, no gradient): ρ < 1 − ε_low with A < 0 (low),
 * ρ > 1 + ε_high with A > 0 (high); their union is the clipped region (TRL clip_ratio/*, and
 * PPOTrainer's policy/clipfrac).
 */
export function clipRegions(
  b: GraphBuilder,
  ratio: V,
  advantage: V,
  epsLow: number,
  epsHigh: number,
): { low: V; high: V; region: V } {
  const r = stopGradient(b, ratio);
  const a = stopGradient(b, advantage);
  const zero = b.constF(0);
  const low = b.op1('And', [b.op1('Less', [r, b.constF(1 - epsLow)]), b.op1('Less', [a, zero])]);
  const high = b.op1('And', [
    b.op1('Greater', [r, b.constF(1 + epsHigh)]),
    b.op1('Greater', [a, zero]),
  ]);
  return { low, high, region: b.op1('Or', [low, high]) };
}
