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
import type { LossResult } from './losses/types.js';
import {
  beginStepGraph,
  finishStepGraph,
  responseTokenLogps,
  stepInputs,
  type ResponseTokens,
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
  const beta = spec.loss.beta;
  return rlStepGraph(
    'rl_step',
    spec,
    beta !== 0 ? ['old_logps', 'ref_logps', 'advantages'] : ['old_logps', 'advantages'],
    (b, tokens, at, inp) =>
      buildPolicyGradientLoss(
        b,
        {
          logp: tokens.tokenLogp,
          dist: tokens.logp,
          old: at(inp.old_logps),
          ref: at(inp.ref_logps ?? inp.old_logps),
          advantage: at(inp.advantages),
          row: tokens.row,
          rowWeights: tokens.rowWeights,
          normalizer: inp.loss_normalizer,
        },
        spec.loss,
      ),
    beta !== 0,
  );
}

/**
 * PPO's step graph: inputs input_ids, attention_mask, response_mask as buildRlGraph, then laid out
 * the same way [R, S]: old_logps, advantages, old_values, returns; loss_scale; the trainable
 * parameters (the value head's among them). Outputs as buildRlGraph, metrics losses/ppo.ts's.
 */
function buildPpoGraph(spec: RlGraphSpec, ppo: PpoLossOptions): TrainGraph {
  return rlStepGraph(
    'ppo_step',
    spec,
    ['old_logps', 'advantages', 'old_values', 'returns'],
    (b, tokens, at, inp, binder) =>
      buildPpoLoss(
        b,
        {
          logp: tokens.tokenLogp,
          dist: tokens.logp,
          old: at(inp.old_logps),
          advantage: at(inp.advantages),
          values: tokenValues(b, binder, tokens.hidden),
          oldValues: at(inp.old_values),
          returns: at(inp.returns),
          rowWeights: tokens.rowWeights,
        },
        ppo,
      ),
    false,
  );
}

/**
 * The frame both RL step graphs share: the batch, the per-token inputs laid out like input_ids
 * ([R, S], in `perToken` order), the RL graph's loss_normalizer (GRPO family only), loss_scale,
 * the forward pass to the completion tokens' log-probs at the temperature, the loss `lossOf`
 * builds (reading a per-token input at the completion tokens with `at`), and the backward pass.
 */
function rlStepGraph(
  name: string,
  spec: RlGraphSpec,
  perToken: string[],
  lossOf: (
    b: GraphBuilder,
    tokens: ResponseTokens,
    at: (x: V) => V,
    inputs: Record<string, V>,
    binder: WeightBinder,
  ) => LossResult,
  needsReference: boolean,
): TrainGraph {
  const { b, float, binder, params, inputIds, attentionMask, responseMask } = beginStepGraph(
    name,
    spec,
  );
  const inp: Record<string, V> = {};
  for (const p of perToken) inp[p] = b.input(p, float, ['rows', 'seq']);
  if (!spec.ppo) inp.loss_normalizer = b.input('loss_normalizer', float, []);
  const inputs = stepInputs(b);
  const tokens = responseTokenLogps(b, spec.cfg, binder, {
    inputIds,
    attentionMask,
    responseMask,
    checkpointLayers: spec.gradientCheckpointing,
    temperature: spec.temperature,
  });
  const at = (x: V) => b.gather(b.reshape(x, [-1]), tokens.flatIndex, 0); // [N]
  const { loss, metrics } = lossOf(b, tokens, at, inp, binder);
  return finishStepGraph(b, { spec, params, loss, metrics, inputs, needsReference });
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
