// One KTO training step as one ONNX graph (Ethayarajh et al. 2024, "KTO: Model Alignment as
// Prospect Theoretic Optimization", eq. 8; TRL KTOTrainer with loss_type="kto"):
//
//   r_i  = log π(y_i|x_i) − log π_ref(y_i|x_i)                       (sums over completion tokens)
//   z0   = max(0, mean_i (log π(y'_i|x_i) − log π_ref(y'_i|x_i)))    detached KL estimate, where
//          y'_i is another row's completion (the trainer rotates completions within the batch)
//   L_i  = λ_D · (1 − σ(β·(r_i − z0)))   desirable rows (label true)
//          λ_U · (1 − σ(β·(z0 − r_i)))   undesirable rows (label false)
//   loss = mean_i L_i
//
// The loss itself is losses/kto.ts; this file adds the policy forward passes, and reuses
// train-graph.ts for the binder, backward, gradient accumulation, clipping and AdamW.
import { buildKtoLoss } from './losses/index.js';
import {
  beginStepGraph,
  finishStepGraph,
  stepInputs,
  responseLogps,
  type TrainGraph,
  type TrainGraphSpec,
} from './train-graph.js';

export type KtoGraphSpec = Omit<TrainGraphSpec, 'losses' | 'lossWeights'>;

/**
 * inputs  input_ids, attention_mask [2B, S] int64 and response_mask [2B, S] float: rows 0..B−1
 *         are the matched sequences (prompt_i + completion_i), rows B..2B−1 the KL sequences
 *         (prompt_i + mismatched completion), all right-padded to one S; label [B] (1 desirable,
 *         0 undesirable); ref_logps, ref_kl_logps [B] (reference sums of the same sequences);
 *         loss_scale; and per trainable parameter p: p (and grad_acc.p when accumulating).
 * outputs loss, grad_norm, the KTO metrics of buildKtoLoss (TRL names: kl, rewards/chosen, …,
 *         the *_sum and count/* terms for exact aggregation across micro-batches),
 *         grad_acc_out.p, grad_norm, clip_coef — as buildTrainGraph.
 */
export function buildKtoGraph(spec: KtoGraphSpec): TrainGraph {
  const { b, float, binder, params, inputIds, attentionMask, responseMask } = beginStepGraph(
    'kto_step',
    spec,
  );
  const label = b.input('label', float, ['batch']);
  const refLogps = b.input('ref_logps', float, ['batch']);
  const refKlLogps = b.input('ref_kl_logps', float, ['batch']);
  const inputs = stepInputs(b);

  const batch = b.div(b.shape(inputIds, 0, 1), b.constI64(2)); // [1] = B
  const half = (x: string, first: boolean) =>
    first ? b.slice(x, [0], batch, [0]) : b.slice(x, batch, [Number.MAX_SAFE_INTEGER], [0]);

  // Two forward passes over the same weights rather than one over 2B rows: z0 is detached, so
  // the reverse pass never enters the KL pass and the backward runs over B rows instead of 2B.
  // Per-row results are identical either way (rows never interact).
  const forward = (name: string, first: boolean) =>
    b.scope(name, () =>
      responseLogps(b, spec.cfg, binder, {
        inputIds: half(inputIds, first),
        attentionMask: half(attentionMask, first),
        responseMask: half(responseMask, first),
        checkpointLayers: spec.gradientCheckpointing,
      }),
    );
  const policy = forward('matched', true);
  const policyKl = forward('kl', false);

  const { loss, metrics } = buildKtoLoss(
    b,
    { policy, ref: refLogps, policyKl, refKl: refKlLogps, desirable: label },
    spec.lossOptions,
  );
  return finishStepGraph(b, { spec, params, loss, metrics, inputs, needsReference: true });
}
