// One online-RL training step (GRPO / RLOO / REINFORCE++) as one ONNX graph: the policy's
// forward pass over prompt + completion rows, the token log-probs at the sampling temperature, the
// clipped policy-gradient loss (losses/policy-gradient.ts), then train-graph.ts's backward,
// gradient accumulation and clipping. A second graph (buildTokenLogpsGraph) gives the same token
// log-probs without the loss: π_old before a batch's updates, and π_ref from the reference weights.
import { GraphBuilder } from '../graph/builder.js';
import type { Graph } from '../graph/ir.js';
import type { ModelConfig } from '../model/config.js';
import type { WeightBinder } from '../model/llama-graph.js';
import { buildPolicyGradientLoss, type PolicyGradientOptions } from './losses/policy-gradient.js';
import {
  beginStepGraph,
  finishStepGraph,
  responseTokenLogps,
  stepInputs,
  trainableBinder,
  type TrainGraph,
  type TrainGraphSpec,
} from './train-graph.js';

export interface RlGraphSpec extends Pick<
  TrainGraphSpec,
  'cfg' | 'weights' | 'mode' | 'optimizer' | 'accumulate' | 'gradientCheckpointing' | 'float'
> {
  loss: PolicyGradientOptions;
  /** Logits are divided by it before the log-softmax (the sampling temperature). */
  temperature: number;
}

/**
 * inputs  input_ids, attention_mask [R, S] int64 (prompt + completion, right-padded),
 *         response_mask [R, S] float (1 on completion tokens), and laid out the same way (the
 *         value of token t at [r, t]): old_logps, ref_logps (when β ≠ 0), advantages [R, S];
 *         loss_normalizer (dapo: this micro-batch's share of the step's completion tokens, see
 *         RlTrainer); loss_scale; and per trainable parameter p: p (and grad_acc.p).
 * outputs loss, grad_norm, clip_coef, metrics (kl, entropy, clip_ratio/*, count/tokens),
 *         grad_acc_out.p — as buildTrainGraph.
 */
export function buildRlGraph(spec: RlGraphSpec): TrainGraph {
  const { b, float, binder, params, inputIds, attentionMask, responseMask } = beginStepGraph(
    'rl_step',
    spec,
  );
  const perToken = (name: string) => b.input(name, float, ['rows', 'seq']);
  const old = perToken('old_logps');
  const ref = spec.loss.beta !== 0 ? perToken('ref_logps') : undefined;
  const advantages = perToken('advantages');
  const normalizer = b.input('loss_normalizer', float, []);
  const inputs = stepInputs(b);

  const tokens = responseTokenLogps(b, spec.cfg, binder, {
    inputIds,
    attentionMask,
    responseMask,
    checkpointLayers: spec.gradientCheckpointing,
    temperature: spec.temperature,
  });
  const at = (x: string) => b.gather(b.reshape(x, [-1]), tokens.flatIndex, 0); // [N]
  const { loss, metrics } = buildPolicyGradientLoss(
    b,
    {
      logp: tokens.tokenLogp,
      dist: tokens.logp,
      old: at(old),
      ref: ref ? at(ref) : at(old),
      advantage: at(advantages),
      row: tokens.row,
      rowWeights: tokens.rowWeights,
      normalizer,
    },
    spec.loss,
  );
  return finishStepGraph(b, {
    spec,
    params,
    loss,
    metrics,
    inputs,
    needsReference: spec.loss.beta !== 0,
  });
}

/**
 * Token log-probs of the completion tokens at a temperature, laid out like input_ids:
 * inputs  input_ids, attention_mask [R, S] int64, response_mask [R, S] float, and the binder's
 *         own inputs (the trainable parameters when `binder` is a training binder);
 * outputs token_logps [R, S] (0 off the completion tokens).
 */
export function buildTokenLogpsGraph(
  cfg: ModelConfig,
  binderOf: (b: GraphBuilder) => WeightBinder,
  temperature: number,
): Graph {
  const b = new GraphBuilder('token_logps', 'float32');
  const binder = binderOf(b);
  const inputIds = b.input('input_ids', 'int64', ['rows', 'seq']);
  const attentionMask = b.input('attention_mask', 'int64', ['rows', 'seq']);
  const responseMask = b.input('response_mask', 'float32', ['rows', 'seq']);
  const t = responseTokenLogps(b, cfg, binder, {
    inputIds,
    attentionMask,
    responseMask,
    temperature,
  });
  // Scatter the [N] values back to [R·S] (ScatterElements, not ScatterND: see DESIGN.md).
  const flat = b.op1('ScatterElements', [
    b.mul(b.reshape(b.cast(inputIds, 'float32'), [-1]), b.constF(0)),
    t.flatIndex,
    b.squeeze(t.tokenLogp, [1]),
  ]);
  b.output(b.reshape(flat, b.shape(inputIds)), 'token_logps', 'float32', ['rows', 'seq']);
  return b.build();
}

/** A training binder for buildTokenLogpsGraph: the trainable parameters become inputs (same names as the step graph). */
export function trainableTokenBinder(
  spec: Pick<TrainGraphSpec, 'cfg' | 'weights' | 'mode'>,
): (b: GraphBuilder) => WeightBinder {
  return (b) => trainableBinder(b, spec).binder;
}
