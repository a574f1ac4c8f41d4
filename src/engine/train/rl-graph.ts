// One online-RL training step (GRPO / RLOO / REINFORCE++) as one ONNX graph: the policy's
// forward pass over prompt + completion rows, the token log-probs at the sampling temperature, the
// clipped policy-gradient loss (losses/policy-gradient.ts), then train-graph.ts's backward,
// gradient accumulation and clipping. A second graph (buildTokenLogpsGraph) gives the same token
// log-probs without the loss: π_old before a batch's updates, and π_ref from the reference weights.
import { GraphBuilder, type V } from '../graph/builder.js';
import type { Graph } from '../graph/ir.js';
import type { ModelConfig } from '../model/config.js';
import type { WeightBinder } from '../model/llama-graph.js';
import { buildPolicyGradientLoss, type PolicyGradientOptions } from './losses/policy-gradient.js';
import { buildPpoLoss, type PpoLossOptions } from './losses/ppo.js';
import {
  beginStepGraph,
  finishStepGraph,
  responseTokenLogps,
  stepInputs,
  trainableBinder,
  type TrainGraph,
  type TrainGraphSpec,
} from './train-graph.js';
import { tokenValues } from './value-head.js';

export interface RlGraphSpec extends Pick<
  TrainGraphSpec,
  'cfg' | 'weights' | 'mode' | 'optimizer' | 'accumulate' | 'gradientCheckpointing' | 'float'
> {
  loss: PolicyGradientOptions;
  /** Logits are divided by it before the log-softmax (the sampling temperature). */
  temperature: number;
  /**
   * PPO: the loss is losses/ppo.ts's over a value head on the policy (value-head.ts; `weights`
   * must hold it), and `loss` is not used.
   */
  ppo?: PpoLossOptions;
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
  if (spec.ppo) return buildPpoGraph(spec, spec.ppo);
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
 * PPO's step graph: inputs input_ids, attention_mask, response_mask as buildRlGraph, then laid out
 * the same way [R, S]: old_logps, advantages, old_values, returns; loss_scale; the trainable
 * parameters (the value head's among them). Outputs as buildRlGraph, metrics losses/ppo.ts's.
 */
function buildPpoGraph(spec: RlGraphSpec, ppo: PpoLossOptions): TrainGraph {
  const { b, float, binder, params, inputIds, attentionMask, responseMask } = beginStepGraph(
    'ppo_step',
    spec,
  );
  const perToken = (name: string) => b.input(name, float, ['rows', 'seq']);
  const old = perToken('old_logps');
  const advantages = perToken('advantages');
  const oldValues = perToken('old_values');
  const returns = perToken('returns');
  const inputs = stepInputs(b);
  const tokens = responseTokenLogps(b, spec.cfg, binder, {
    inputIds,
    attentionMask,
    responseMask,
    checkpointLayers: spec.gradientCheckpointing,
    temperature: spec.temperature,
  });
  const at = (x: string) => b.gather(b.reshape(x, [-1]), tokens.flatIndex, 0); // [N]
  const { loss, metrics } = buildPpoLoss(
    b,
    {
      logp: tokens.tokenLogp,
      dist: tokens.logp,
      old: at(old),
      advantage: at(advantages),
      values: tokenValues(b, binder, tokens.hidden),
      oldValues: at(oldValues),
      returns: at(returns),
      rowWeights: tokens.rowWeights,
    },
    ppo,
  );
  return finishStepGraph(b, { spec, params, loss, metrics, inputs, needsReference: false });
}

/**
 * Token log-probs of the completion tokens at a temperature, laid out like input_ids:
 * inputs  input_ids, attention_mask [R, S] int64, response_mask [R, S] float, and the binder's
 *         own inputs (the trainable parameters when `binder` is a training binder);
 * outputs token_logps [R, S] (0 off the completion tokens), and with `valueHead` token_values
 *         [R, S]: V of the state each completion token was chosen in (value-head.ts).
 */
export function buildTokenLogpsGraph(
  cfg: ModelConfig,
  binderOf: (b: GraphBuilder) => WeightBinder,
  temperature: number,
  valueHead = false,
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
  const laidOut = (x: V) =>
    b.reshape(
      b.op1('ScatterElements', [
        b.mul(b.reshape(b.cast(inputIds, 'float32'), [-1]), b.constF(0)),
        t.flatIndex,
        x,
      ]),
      b.shape(inputIds),
    );
  b.output(laidOut(b.squeeze(t.tokenLogp, [1])), 'token_logps', 'float32', ['rows', 'seq']);
  if (valueHead)
    b.output(laidOut(tokenValues(b, binder, t.hidden)), 'token_values', 'float32', ['rows', 'seq']);
  return b.build();
}

/** A training binder for buildTokenLogpsGraph: the trainable parameters become inputs (same names as the step graph). */
export function trainableTokenBinder(
  spec: Pick<TrainGraphSpec, 'cfg' | 'weights' | 'mode'>,
): (b: GraphBuilder) => WeightBinder {
  return (b) => trainableBinder(b, spec).binder;
}
