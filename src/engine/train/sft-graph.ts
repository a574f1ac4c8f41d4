// One SFT training step as one ONNX graph (TRL SFTTrainer on prompt-completion rows with
// completion_only_loss=True): one forward pass per row, no reference model, the token-level mean
// NLL of the completions (losses/sft.ts). Only its inputs and loss are its own; the binder,
// forward, backward, accumulation and clipping are train-graph.ts's.
import { tokenMeanNll } from './losses/token-mean-nll.js';
import {
  beginStepGraph,
  finishStepGraph,
  responseLogps,
  stepInputs,
  type TrainGraph,
  type TrainGraphSpec,
} from './train-graph.js';

export type SftGraphSpec = Omit<TrainGraphSpec, 'losses' | 'lossWeights' | 'lossOptions'>;

/**
 * inputs  input_ids, attention_mask [B, S] int64 and response_mask [B, S] float (1 on completion
 *         tokens): prompt + completion per row, right-padded; loss_scale; per trainable
 *         parameter p: p (and grad_acc.p when accumulating).
 * outputs loss (mean NLL per completion token of the micro-batch), completion_tokens,
 *         grad_acc_out.p, grad_norm, clip_coef — as buildTrainGraph.
 */
export function buildSftGraph(spec: SftGraphSpec): TrainGraph {
  const { b, binder, params, inputIds, attentionMask, responseMask } = beginStepGraph(
    'sft_step',
    spec,
  );
  const inputs = stepInputs(b);
  const logps = responseLogps(b, spec.cfg, binder, {
    inputIds,
    attentionMask,
    responseMask,
    checkpointLayers: spec.gradientCheckpointing,
  }); // [B]
  const { loss, tokens } = b.scope('loss', () => {
    const perRow = b.reduceSum(responseMask, [1], false); // [B]
    return {
      loss: tokenMeanNll(b, logps, perRow),
      tokens: b.op1('ReduceSum', [perRow], { keepdims: 0 }),
    };
  });
  return finishStepGraph(b, {
    spec,
    params,
    loss,
    metrics: { completion_tokens: tokens },
    inputs,
    needsReference: false,
  });
}
