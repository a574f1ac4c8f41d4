// The DPO loss family as ONNX graph pieces: pick one or more TRL loss types with weights
// (TRL `loss_type` list + `loss_weights`: loss = Σ_k w_k · loss_k, each loss_k a mean over the
// batch), get a scalar loss and TRL-named metrics. One file per loss, each opening with its equation
// and source; `reference.ts` is the float64 JS twin used by the tests.
import { fail } from '../../../core/errors.js';
import type { GraphBuilder, V } from '../../graph/builder.js';
import { buildApoZeroLoss } from './apo-zero.js';
import { PairTerms, greaterF, meanAll } from './common.js';
import { buildHingeLoss } from './hinge.js';
import { buildIpoLoss } from './ipo.js';
import { buildKtoLoss as buildKto } from './kto.js';
import { buildOrpoLoss } from './orpo.js';
import { buildRobustLoss } from './robust.js';
import { buildSftLoss } from './sft.js';
import { buildSigmoidLoss } from './sigmoid.js';
import { buildSigmoidNormLoss } from './sigmoid-norm.js';
import { buildSimpoLoss } from './simpo.js';
import {
  LOSS_TYPES,
  type KtoLogps,
  type LossOptions,
  type LossResult,
  type LossType,
  type PairLogps,
} from './types.js';

export { LOSS_TYPES } from './types.js';
export type { KtoLogps, LossOptions, LossResult, LossType, PairLogps } from './types.js';
export { STOP_GRADIENT_LABEL } from './common.js';

/** Losses that compare the policy with a reference model (everything but simpo, orpo, sft). */
const REFERENCE_FREE: ReadonlySet<LossType> = new Set(['sft', 'simpo', 'orpo']);

/** Whether these loss types need reference-model log-probs (so they must be precomputed). */
export function lossNeedsReference(types: LossType[]): boolean {
  return types.some((t) => !REFERENCE_FREE.has(t));
}

/** Check types, weights and options; returns the weights (all 1 when `weights` is empty). */
export function validateLossConfig(
  types: LossType[],
  weights: number[],
  opts: LossOptions,
): number[] {
  if (types.length === 0) {
    fail('E_LOSS_CONFIG', 'no loss type given', `choose one of: ${LOSS_TYPES.join(', ')}`);
  }
  for (const t of types) {
    if (!LOSS_TYPES.includes(t)) {
      fail('E_LOSS_CONFIG', `unknown loss type "${t}"`, `choose one of: ${LOSS_TYPES.join(', ')}`);
    }
  }
  const w = weights.length === 0 ? types.map(() => 1) : weights;
  if (w.length !== types.length) {
    fail(
      'E_LOSS_CONFIG',
      `${w.length} loss weights for ${types.length} loss types (${types.join(', ')})`,
      'give one weight per loss type (TRL loss_weights), or none for all 1.0',
    );
  }
  if (w.some((x) => !Number.isFinite(x))) {
    fail('E_LOSS_CONFIG', `loss weights must be finite numbers, got [${w.join(', ')}]`);
  }
  if (!(opts.beta > 0) || !Number.isFinite(opts.beta)) {
    fail('E_LOSS_CONFIG', `beta must be a positive number, got ${opts.beta}`, 'TRL default: 0.1');
  }
  const eps = opts.labelSmoothing;
  if (!(eps >= 0 && eps < 0.5)) {
    fail(
      'E_LOSS_CONFIG',
      `label_smoothing must be in [0, 0.5), got ${eps}`,
      'it is the assumed probability that a preference label is flipped',
    );
  }
  if (!Number.isFinite(opts.simpoGamma)) {
    fail('E_LOSS_CONFIG', `simpo_gamma must be a number, got ${opts.simpoGamma}`);
  }
  if (opts.orpoLambda !== undefined && !Number.isFinite(opts.orpoLambda)) {
    fail('E_LOSS_CONFIG', `orpo lambda must be a number, got ${opts.orpoLambda}`);
  }
  for (const [name, v] of [
    ['desirable_weight', opts.desirableWeight],
    ['undesirable_weight', opts.undesirableWeight],
  ] as const) {
    if (!(v >= 0) || !Number.isFinite(v)) {
      fail('E_LOSS_CONFIG', `${name} must be a non-negative number, got ${v}`);
    }
  }
  return w;
}

/**
 * Build Σ_k w_k · loss_k over paired rows. `loss` is a scalar (each loss is a mean over pairs).
 *
 * Metrics (scalars, TRL names, means over the batch): `rewards/chosen`, `rewards/rejected`,
 * `rewards/margins`, `rewards/accuracies`, `logps/chosen`, `logps/rejected`. With a reference
 * (DPOTrainer) rewards are β·(policy − reference) log-prob sums and logps are sums; for
 * reference-free combinations (simpo/orpo/sft: CPOTrainer/ORPOTrainer) rewards are β·(per-token
 * average policy log-prob) and logps are those averages, as TRL logs them. Plus `nll_loss` when
 * sft or orpo is used, `log_odds_ratio`/`log_odds_chosen` for orpo.
 */
export function buildPreferenceLoss(
  b: GraphBuilder,
  types: LossType[],
  weights: number[],
  logps: PairLogps,
  opts: LossOptions,
): LossResult {
  const w = validateLossConfig(types, weights, opts);
  if (types.includes('kto')) {
    fail(
      'E_LOSS_CONFIG',
      'loss type "kto" works on unpaired rows (prompt, completion, label) and cannot be combined with paired losses',
      'train KTO on its own (buildKtoLoss), with KTO-format rows',
    );
  }
  if (logps.label && !types.includes('sigmoid'))
    fail(
      'E_LOSS_CONFIG',
      `soft labels train the sigmoid (DPO) loss only, not ${types.join(', ')}`,
      'add sigmoid to the losses, or train without soft labels',
    );
  return b.scope('loss', () => {
    const t = new PairTerms(b, logps, opts);
    const metrics: Record<string, V> = {};
    let total: V | undefined;
    types.forEach((type, i) => {
      const part = lossTerm(t, type, metrics);
      const weighted = w[i] === 1 ? part : b.mul(part, b.constF(w[i]));
      total = total === undefined ? weighted : b.add(total, weighted);
    });
    rewardMetrics(b, t, types, logps, opts.beta, metrics);
    return { loss: total as V, metrics };
  });
}

/** One loss term of the combination (its graph nodes), adding the metrics that come with it. */
function lossTerm(t: PairTerms, type: LossType, metrics: Record<string, V>): V {
  switch (type) {
    case 'sigmoid':
      return buildSigmoidLoss(t);
    case 'robust':
      return buildRobustLoss(t);
    case 'ipo':
      return buildIpoLoss(t);
    case 'hinge':
      return buildHingeLoss(t);
    case 'sigmoid_norm':
      return buildSigmoidNormLoss(t);
    case 'apo_zero':
      return buildApoZeroLoss(t);
    case 'sft': {
      const part = buildSftLoss(t);
      metrics.nll_loss = t.nll();
      return part;
    }
    case 'simpo':
      return buildSimpoLoss(t);
    case 'orpo': {
      const o = buildOrpoLoss(t);
      metrics.nll_loss = t.nll();
      metrics.log_odds_ratio = o.logOddsRatio;
      metrics.log_odds_chosen = o.logOddsChosen;
      return o.loss;
    }
    case 'kto':
      throw new Error('unreachable');
  }
}

/**
 * TRL's reward and log-prob metrics (see buildPreferenceLoss), into `metrics`. Never on the
 * gradient path: the reverse pass starts from `loss` only.
 */
function rewardMetrics(
  b: GraphBuilder,
  t: PairTerms,
  types: LossType[],
  logps: PairLogps,
  betaValue: number,
  metrics: Record<string, V>,
): void {
  const beta = b.constF(betaValue);
  let rewardChosen: V;
  let rewardRejected: V;
  let logpChosen: V;
  let logpRejected: V;
  if (lossNeedsReference(types)) {
    rewardChosen = b.mul(t.chosenLogratio('metrics'), beta);
    rewardRejected = b.mul(t.rejectedLogratio('metrics'), beta);
    logpChosen = logps.chosen;
    logpRejected = logps.rejected;
  } else {
    logpChosen = t.chosenAvg();
    logpRejected = t.rejectedAvg();
    rewardChosen = b.mul(logpChosen, beta);
    rewardRejected = b.mul(logpRejected, beta);
  }
  metrics['rewards/chosen'] = meanAll(b, rewardChosen);
  metrics['rewards/rejected'] = meanAll(b, rewardRejected);
  metrics['rewards/margins'] = meanAll(b, b.sub(rewardChosen, rewardRejected));
  metrics['rewards/accuracies'] = meanAll(b, greaterF(b, rewardChosen, rewardRejected));
  metrics['logps/chosen'] = meanAll(b, logpChosen);
  metrics['logps/rejected'] = meanAll(b, logpRejected);
}

/** KTO on unpaired rows; see kto.ts. */
export function buildKtoLoss(b: GraphBuilder, logps: KtoLogps, opts: LossOptions): LossResult {
  validateLossConfig(['kto'], [], opts);
  return buildKto(b, logps, opts);
}
