import { backward } from '../autodiff/backward.js';
import { GraphBuilder, type V } from '../graph/builder.js';
import type { Graph } from '../graph/ir.js';
import type { ModelConfig } from '../model/config.js';
import { modelTensorShapes } from '../model/tensor-layout.js';
import type { WeightTable } from '../model/inference-graphs.js';
import { llamaForward, type WeightBinder } from '../model/llama-graph.js';
import {
  buildPreferenceLoss,
  lossNeedsReference,
  type LossOptions,
  type LossType,
} from './losses/index.js';
import {
  loraAName,
  loraBName,
  loraLinear,
  loraModules,
  loraScale,
  savedWhole,
  type LoraSpec,
} from './lora.js';
import { buildClipByGlobalNorm } from './optim/adamw.js';

export type TrainMode = { kind: 'lora'; lora: LoraSpec } | { kind: 'full' };

export interface OptimizerSpec {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global gradient-norm clipping threshold; 0 disables clipping (the norm is still reported). */
  maxGradNorm: number;
}

export interface TrainGraphSpec {
  cfg: ModelConfig;
  /** Frozen weights (initializers). In full fine-tuning every model tensor is trainable instead. */
  weights: WeightTable;
  mode: TrainMode;
  losses: LossType[];
  lossWeights: number[];
  lossOptions: LossOptions;
  optimizer: OptimizerSpec;
  /**
   * Gradient accumulation across micro-batches (grad_acc.p inputs; default true). Without it the
   * step graph's gradients are its own, and a model-sized zero input and Add are saved.
   */
  accumulate?: boolean;
  /**
   * Recompute each decoder layer in the backward pass instead of keeping its activations
   * (transformers' gradient_checkpointing): about one more forward pass of time for most of the
   * activation memory.
   */
  gradientCheckpointing?: boolean;
  float?: 'float32' | 'float64';
}

export interface TrainableParam {
  /** Checkpoint key (full) or PEFT adapter key (LoRA). */
  name: string;
  dims: number[];
}

export interface TrainGraph {
  graph: Graph;
  params: TrainableParam[];
  needsReference: boolean;
  /** Scalar metric outputs (TRL names), besides `loss`, `grad_norm` and `clip_coef`. */
  metrics: string[];
  /** Whether the graph takes grad_acc.p inputs (see TrainGraphSpec.accumulate). */
  accumulates: boolean;
}

// Input/output names of the step graph, per trainable parameter.
export const gradAccIn = (p: string): string => `grad_acc.${p}`;
export const gradAccOut = (p: string): string => `grad_acc_out.${p}`;

/**
 * The gradients of one DPO-family training step as one ONNX graph (one micro-batch of P pairs):
 *
 * inputs  input_ids, attention_mask [2P, S] (chosen rows, then rejected rows, right-padded),
 *         response_mask [2P, S] float (1 on response tokens), ref_chosen_logps / ref_rejected_logps [P]
 *         (when the loss needs a reference), pair_label [P] (soft labels, when trained on),
 *         loss_scale (this micro-batch's share of the step),
 *         and per trainable parameter p: p, and grad_acc.p (gradients accumulated so far) when
 *         the graph accumulates
 * outputs loss, metrics, grad_acc_out.p = grad_acc.p + loss_scale · ∂loss/∂p, grad_norm (global
 *         L2 norm of grad_acc_out) and clip_coef (the factor clipping multiplies them by).
 *
 * AdamW runs after the last micro-batch in its own graph (optim/adamw-session.ts), in place.
 */
export function buildTrainGraph(spec: TrainGraphSpec): TrainGraph {
  const { cfg } = spec;
  const { b, float, binder, params, inputIds, attentionMask, responseMask } = beginStepGraph(
    'train_step',
    spec,
  );
  const needsReference = lossNeedsReference(spec.losses);
  const refChosen = needsReference ? b.input('ref_chosen_logps', float, ['pairs']) : undefined;
  const refRejected = needsReference ? b.input('ref_rejected_logps', float, ['pairs']) : undefined;
  const label = spec.lossOptions.softLabels ? b.input('pair_label', float, ['pairs']) : undefined;
  const inputs = stepInputs(b);

  const seqLp = responseLogps(b, cfg, binder, {
    inputIds,
    attentionMask,
    responseMask,
    checkpointLayers: spec.gradientCheckpointing,
  }); // [2P]
  const { chosen, rejected, chosenTokens, rejectedTokens } = b.scope('sequence_logps', () => {
    const counts = b.reduceSum(responseMask, [1], false); // [2P]
    const pairs = b.div(b.shape(inputIds, 0, 1), b.constI64(2)); // [1] = P
    const first = (x: V) => b.slice(x, [0], pairs, [0]);
    const second = (x: V) => b.slice(x, pairs, [Number.MAX_SAFE_INTEGER], [0]);
    return {
      chosen: first(seqLp),
      rejected: second(seqLp),
      chosenTokens: first(counts),
      rejectedTokens: second(counts),
    };
  });

  const { loss, metrics } = buildPreferenceLoss(
    b,
    spec.losses,
    spec.lossWeights,
    { chosen, rejected, refChosen, refRejected, chosenTokens, rejectedTokens, label },
    spec.lossOptions,
  );
  return finishStepGraph(b, { spec, params, loss, metrics, inputs, needsReference });
}

/**
 * What every step graph starts with, in input order: the trainable binder (full: every weight an
 * input; LoRA: lora_A/lora_B inputs) and the right-padded batch, input_ids and attention_mask
 * [rows, S] int64 and response_mask [rows, S] float. Each graph then adds its own per-row inputs.
 */
export function beginStepGraph(
  name: string,
  spec: Pick<TrainGraphSpec, 'cfg' | 'weights' | 'mode' | 'float'>,
): {
  b: GraphBuilder;
  float: 'float32' | 'float64';
  binder: WeightBinder;
  params: TrainableParam[];
  inputIds: V;
  attentionMask: V;
  responseMask: V;
} {
  const float = spec.float ?? 'float32';
  const b = new GraphBuilder(name, float);
  const { binder, params } = trainableBinder(b, spec);
  const inputIds = b.input('input_ids', 'int64', ['rows', 'seq']);
  const attentionMask = b.input('attention_mask', 'int64', ['rows', 'seq']);
  const responseMask = b.input('response_mask', float, ['rows', 'seq']);
  return { b, float, binder, params, inputIds, attentionMask, responseMask };
}

/** The scalar inputs of a step graph, declared after a graph's per-row inputs. */
export interface StepInputs {
  /** The micro-batch's share of the step's loss. */
  lossScale: V;
}

export function stepInputs(b: GraphBuilder): StepInputs {
  return { lossScale: b.input('loss_scale', b.float, []) };
}

/**
 * The weight binder of a training graph and the trainable parameters it declares as graph inputs
 * (in the order the forward pass first asks for them). Full fine-tuning: every model tensor is an
 * input. LoRA: base weights are initializers and each targeted Linear gets lora_A/lora_B inputs;
 * tensors of the spec's modules_to_save are inputs under their checkpoint keys.
 * Binding the same weight again (a second forward pass over the same model) reuses the input.
 */
export function trainableBinder(
  b: GraphBuilder,
  spec: Pick<TrainGraphSpec, 'cfg' | 'weights' | 'mode'>,
): { binder: WeightBinder; params: TrainableParam[] } {
  const float = b.float;
  const params: TrainableParam[] = [];
  const paramInput = (name: string, dims: number[]): V => {
    if (params.some((p) => p.name === name)) return name;
    params.push({ name, dims });
    return b.input(name, float, dims);
  };
  const { cfg } = spec;
  const shapes = modelTensorShapes(cfg);
  if (spec.mode.kind === 'full') {
    return {
      params,
      binder: {
        weight: (_bb, key) => paramInput(key, shapes.get(key) ?? spec.weights.get(key).dims),
      },
    };
  }
  const lora = spec.mode.lora;
  const targeted = new Map(loraModules(cfg, lora.targets).map((m) => [m.module, m]));
  const scale = loraScale(lora);
  return {
    params,
    binder: {
      weight: (bb, key) => {
        if (savedWhole(lora, key)) return paramInput(key, spec.weights.get(key).dims);
        if (bb.initializers.has(key)) return key;
        const ext = float === 'float32' ? spec.weights.external?.(key) : undefined;
        if (ext) return bb.externalInitializer(key, float, ext.dims, ext.external);
        const { dims, data } = spec.weights.get(key);
        return bb.initializer(
          key,
          float,
          dims,
          float === 'float64' ? Float64Array.from(data) : data,
        );
      },
      linear: (bb, x, module, plain) => {
        const m = targeted.get(module);
        if (!m) return undefined;
        const A = paramInput(loraAName(module), [lora.r, m.in]);
        const B = paramInput(loraBName(module), [m.out, lora.r]);
        return loraLinear(bb, x, plain(), A, B, scale);
      },
    },
  };
}

/** Position ids 0..S-1 for every row (right padding), as [1, S]. */
export function rightPaddedPositions(b: GraphBuilder, inputIds: V): V {
  return b.scope('position_ids', () =>
    b.unsqueeze(
      b.range(b.constI64(0), b.squeeze(b.shape(inputIds, 1, 2), [0]), b.constI64(1)),
      [0],
    ),
  );
}

/**
 * Per-row sums of response-token log-probs [rows], from a forward pass that computes logits only
 * at the positions that predict a response token (token t is predicted at position t − 1):
 * Σ_t mask[r, t] · log softmax(logits[r, t − 1])[ids[r, t]]. The [rows, S, vocab] logits, their
 * log-softmax and the gradients of both were the largest tensors of a training step (403 MB each
 * for 8 × 256 tokens at SmolLM2's vocabulary); prompt positions never needed them.
 */
export function responseLogps(
  b: GraphBuilder,
  cfg: ModelConfig,
  binder: WeightBinder,
  batch: { inputIds: V; attentionMask: V; responseMask: V; checkpointLayers?: boolean },
): V {
  const t = responseTokenLogps(b, cfg, binder, batch);
  return b.scope('sequence_logps', () => b.squeeze(b.matMul(t.rowWeights, t.tokenLogp), [1])); // [R]
}

/** The response tokens of a right-padded batch, flattened in row-major order (N of them). */
export interface ResponseTokens {
  /** log p(token) of each response token, [N, 1] (logits divided by `temperature` first). */
  tokenLogp: V;
  /** log softmax of the logits predicting each response token, [N, vocab]. */
  logp: V;
  /** Row of each token, int64 [N]. */
  row: V;
  /** Index of each token in the flattened [R·S] batch, int64 [N]: where per-token inputs laid out like input_ids are gathered from. */
  flatIndex: V;
  /** [R, N]: response-mask weight of token n when it belongs to row r, else 0 (row sums = rowWeights · x). */
  rowWeights: V;
  /** The final hidden state at the position predicting each response token, [N, H] (PPO's value head reads it). */
  hidden: V;
}

/**
 * The log-probs of every response token, from a forward pass that computes logits only at the
 * positions that predict one. With `temperature` ≠ 1 the logits are divided by it before the
 * log-softmax: the distribution a sampler at that temperature drew from (TRL's GRPO convention).
 */
export function responseTokenLogps(
  b: GraphBuilder,
  cfg: ModelConfig,
  binder: WeightBinder,
  batch: {
    inputIds: V;
    attentionMask: V;
    responseMask: V;
    checkpointLayers?: boolean;
    temperature?: number;
  },
): ResponseTokens {
  const { inputIds, attentionMask, responseMask, checkpointLayers } = batch;
  const sel = b.scope('response_tokens', () => {
    const seq = b.shape(inputIds, 1, 2); // [1] = S
    const rows = b.shape(inputIds, 0, 1); // [1] = R
    const one = b.constI64(1);
    const mask = b.slice(responseMask, [1], [Number.MAX_SAFE_INTEGER], [1]); // [R, S-1]
    // [2, N]: (row, t - 1) of each response token t (NonZero on bool: onnxruntime has no float64 kernel)
    const nz = b.op1('NonZero', [b.op1('Greater', [mask, b.constF(0)])]);
    const row = b.squeeze(b.slice(nz, [0], [1], [0]), [0]); // [N]
    const col = b.squeeze(b.slice(nz, [1], [2], [0]), [0]); // [N]
    const position = b.add(b.mul(row, seq), col); // [N] into R·S
    const flatIndex = b.add(position, one); // [N]: token t itself
    const target = b.gather(b.reshape(inputIds, [-1]), flatIndex); // [N]
    const weight = b.gather(b.reshape(mask, [-1]), b.add(b.mul(row, b.sub(seq, one)), col)); // [N]
    const rowIds = b.range(b.constI64(0), b.squeeze(rows, [0]), one); // [R]
    const member = b.cast(b.equal(b.unsqueeze(rowIds, [1]), b.unsqueeze(row, [0])), b.float);
    return { position, flatIndex, row, target, rowWeights: b.mul(member, weight) }; // rowWeights [R, N]
  });
  const { logits, hidden } = llamaForward(b, cfg, binder, {
    inputIds,
    attentionMask,
    positionIds: rightPaddedPositions(b, inputIds),
    logitPositions: sel.position,
    checkpointLayers,
  }); // [N, vocab]
  return b.scope('token_logps', () => {
    const t = batch.temperature ?? 1;
    const scaled = t === 1 ? logits : b.div(logits, b.constF(t));
    const logp = b.logSoftmax(scaled, -1); // [N, vocab]
    const tokenLogp = b.gatherElements(logp, b.unsqueeze(sel.target, [1]), 1); // [N, 1]
    return {
      tokenLogp,
      logp,
      row: sel.row,
      flatIndex: sel.flatIndex,
      rowWeights: sel.rowWeights,
      hidden,
    };
  });
}

/**
 * Everything after the loss, and the finished graph: backward of loss · loss_scale, gradient
 * accumulation (grad_acc.p inputs → grad_acc_out.p outputs, or the gradients alone), and the
 * global norm with its clipping coefficient; outputs `loss`, `grad_norm`, `clip_coef`, each metric
 * (its name listed in the graph's `metrics`) and grad_acc_out.p.
 */
export function finishStepGraph(
  b: GraphBuilder,
  s: {
    spec: Pick<TrainGraphSpec, 'optimizer' | 'accumulate' | 'gradientCheckpointing'>;
    params: TrainableParam[];
    loss: V;
    metrics: Record<string, V>;
    inputs: StepInputs;
    needsReference: boolean;
  },
): TrainGraph {
  const float = b.float;
  const { params, inputs } = s;
  const accumulates = s.spec.accumulate ?? true;
  const maxGradNorm = s.spec.optimizer.maxGradNorm;
  const scaled = b.mul(s.loss, inputs.lossScale);
  const grads = backward(
    b,
    scaled,
    params.map((p) => p.name),
    { recompute: s.spec.gradientCheckpointing },
  );

  const accumulated = b.scope('grad_accumulation', () =>
    params.map((p) =>
      accumulates
        ? b.add(b.input(gradAccIn(p.name), float, p.dims), grads.get(p.name)!)
        : grads.get(p.name)!,
    ),
  );
  const { coef, norm } = b.scope('clip', () =>
    buildClipByGlobalNorm(b, accumulated, maxGradNorm > 0 ? maxGradNorm : Infinity, {
      lastFirst: s.spec.gradientCheckpointing,
    }),
  );

  b.output(s.loss, 'loss', float, []);
  b.output(norm, 'grad_norm', float, []);
  b.output(coef, 'clip_coef', float, []);
  const metricNames: string[] = [];
  for (const [name, v] of Object.entries(s.metrics)) {
    b.output(v, name, float, []);
    metricNames.push(name);
  }
  params.forEach((p, i) => b.output(accumulated[i], gradAccOut(p.name), float, p.dims));
  return {
    graph: b.build(),
    params,
    needsReference: s.needsReference,
    metrics: metricNames,
    accumulates,
  };
}
