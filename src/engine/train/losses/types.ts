// Shared types of the DPO loss family. Names follow TRL (`DPOConfig.loss_type`, `CPOConfig`,
// `ORPOConfig`, `KTOConfig`) so a pipeline file can say `loss: sigmoid` and mean what TRL means.
import type { V } from '../../graph/builder.js';

/** TRL loss names. `kto` is unpaired and only valid through `buildKtoLoss`. */
export type LossType =
  | 'sigmoid'
  | 'ipo'
  | 'hinge'
  | 'robust'
  | 'sigmoid_norm'
  | 'apo_zero'
  | 'sft'
  | 'simpo'
  | 'orpo'
  | 'kto';

export const LOSS_TYPES: readonly LossType[] = [
  'sigmoid',
  'ipo',
  'hinge',
  'robust',
  'sigmoid_norm',
  'apo_zero',
  'sft',
  'simpo',
  'orpo',
  'kto',
];

export interface LossOptions {
  /** β: DPOConfig.beta / CPOConfig.beta / KTOConfig.beta (for IPO it is τ of the paper). */
  beta: number;
  /** ε: DPOConfig.label_smoothing (cDPO for `sigmoid`, noise rate for `robust`), also CPO's for `simpo`. */
  labelSmoothing: number;
  /** γ: CPOConfig.simpo_gamma (SimPO target reward margin). */
  simpoGamma: number;
  /** λ: ORPOConfig.beta (weight of the odds-ratio term). Defaults to `beta`, as in TRL. */
  orpoLambda?: number;
  /** KTOConfig.desirable_weight. */
  desirableWeight: number;
  /** KTOConfig.undesirable_weight. */
  undesirableWeight: number;
  /** The step graph takes a per-pair soft label input (`pair_label`) that `sigmoid` trains on. */
  softLabels?: boolean;
}

/**
 * Per-pair inputs, all float [P]. Log-probs are SUMS over response tokens (TRL's convention);
 * losses that need per-token averages divide by the token counts themselves.
 */
export interface PairLogps {
  chosen: V;
  rejected: V;
  /** Reference-model log-probs (precomputed once per round and fed as inputs). */
  refChosen?: V;
  refRejected?: V;
  /** Response token counts (float). Clamped to ≥ 1 before dividing, as TRL does. */
  chosenTokens: V;
  rejectedTokens: V;
  /**
   * Optional per-pair mean NLL of the chosen response. When absent, `sft`/`orpo` use TRL's
   * token-level mean over the batch, −Σ chosen / Σ chosenTokens (what `F.cross_entropy` over the
   * flattened chosen tokens computes); when given, they use mean(chosenNll) instead.
   */
  chosenNll?: V;
  /**
   * Optional per-pair soft label p = P(chosen ≻ rejected) in [0.5, 1], float [P]: `sigmoid` then
   * uses the per-pair label smoothing ε = 1 − p instead of the scalar `labelSmoothing`.
   */
  label?: V;
}

/** A built loss: a scalar (already reduced over the batch) plus scalar metrics. */
export interface LossResult {
  loss: V;
  metrics: Record<string, V>;
}

export interface KtoLogps {
  /** Policy log-prob sums of each row's completion, float [N]. */
  policy: V;
  /** Reference log-prob sums, float [N]. */
  ref: V;
  /** Policy log-probs of mismatched (prompt, completion) rows for the KL estimate, float [N]. */
  policyKl: V;
  /** Reference log-probs of the same mismatched rows, float [N]. */
  refKl: V;
  /** 1 for desirable rows (label true), 0 for undesirable, float [N]. */
  desirable: V;
}
