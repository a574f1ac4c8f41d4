import { backward } from '../autodiff/backward.js';
import { GraphBuilder, type V } from '../graph/builder.js';
import type { Graph } from '../graph/ir.js';
import type { ModelConfig } from '../model/config.js';
import { modelTensorShapes } from '../model/config.js';
import { tokenLogprobsOf, type WeightTable } from '../model/inference-graphs.js';
import { llamaForward, type WeightBinder } from '../model/llama-graph.js';
import {
  buildPreferenceLoss,
  lossNeedsReference,
  type LossOptions,
  type LossType,
} from './losses/index.js';
import { loraAName, loraBName, loraLinear, loraModules, loraScale, type LoraSpec } from './lora.js';
import { buildAdamWUpdate, buildClipByGlobalNorm } from './optim/adamw.js';

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
  /** Scalar metric outputs (TRL names), besides `loss` and `grad_norm`. */
  metrics: string[];
}

// Input/output names of the step graph, per trainable parameter.
export const momentM = (p: string): string => `optimizer.m.${p}`;
export const momentV = (p: string): string => `optimizer.v.${p}`;
export const gradAccIn = (p: string): string => `grad_acc.${p}`;
export const gradAccOut = (p: string): string => `grad_acc_out.${p}`;
export const updated = (p: string): string => `updated.${p}`;
export const updatedM = (p: string): string => `updated.optimizer.m.${p}`;
export const updatedV = (p: string): string => `updated.optimizer.v.${p}`;

/**
 * One DPO-family training step as one ONNX graph (one micro-batch of P pairs):
 *
 * inputs  input_ids, attention_mask [2P, S] (chosen rows, then rejected rows, right-padded),
 *         response_mask [2P, S] float (1 on response tokens), ref_chosen_logps / ref_rejected_logps [P]
 *         (when the loss needs a reference), loss_scale (1 / gradient_accumulation_steps),
 *         learning_rate, step (1-based optimizer step), and per trainable parameter p:
 *         p, optimizer.m.p, optimizer.v.p, grad_acc.p (gradients accumulated so far; zeros at first)
 * outputs loss, grad_norm, metrics, grad_acc_out.p = grad_acc.p + loss_scale · ∂loss/∂p, and
 *         updated.p / updated.optimizer.{m,v}.p: AdamW applied to the clipped grad_acc_out.
 *
 * The caller keeps grad_acc_out for intermediate micro-batches and the updated parameters after
 * the last one, so gradient accumulation needs no second graph.
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
  const inputs = optimizerInputs(b);

  const positionIds = rightPaddedPositions(b, inputIds);
  const { logits } = llamaForward(b, cfg, binder, { inputIds, attentionMask, positionIds });

  const { chosen, rejected, chosenTokens, rejectedTokens } = b.scope('sequence_logps', () => {
    const seqLp = sequenceLogps(b, logits, inputIds, responseMask); // [2P]
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
    { chosen, rejected, refChosen, refRejected, chosenTokens, rejectedTokens },
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

/** The scalar inputs of the optimizer step, declared after a graph's per-row inputs. */
export interface OptimizerInputs {
  /** The micro-batch's share of the step's loss. */
  lossScale: V;
  lr: V;
  /** 1-based optimizer step, for AdamW's bias correction. */
  step: V;
}

export function optimizerInputs(b: GraphBuilder): OptimizerInputs {
  return {
    lossScale: b.input('loss_scale', b.float, []),
    lr: b.input('learning_rate', b.float, []),
    step: b.input('step', b.float, []),
  };
}

/**
 * The weight binder of a training graph and the trainable parameters it declares as graph inputs
 * (in the order the forward pass first asks for them). Full fine-tuning: every model tensor is an
 * input. LoRA: base weights are initializers and each targeted Linear gets lora_A/lora_B inputs.
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
        if (bb.initializers.has(key)) return key;
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
 * Per-row sums of response-token log-probs, [rows]: token t is predicted at position t − 1, so
 * the mask drops its first column to line up with `tokenLogprobsOf`'s [rows, S−1].
 */
export function sequenceLogps(b: GraphBuilder, logits: V, inputIds: V, responseMask: V): V {
  const tokenLp = tokenLogprobsOf(b, logits, inputIds); // [R, S-1]
  const mask = b.slice(responseMask, [1], [Number.MAX_SAFE_INTEGER], [1]); // [R, S-1]
  return b.reduceSum(b.mul(tokenLp, mask), [1], false); // [R]
}

/**
 * Everything after the loss, and the finished graph: backward of loss · loss_scale, gradient
 * accumulation (grad_acc.p inputs → grad_acc_out.p outputs), global-norm clipping, AdamW, and the
 * outputs `loss`, `grad_norm`, each metric (its name listed in the graph's `metrics`), and
 * updated.p / updated.optimizer.{m,v}.p.
 */
export function finishStepGraph(
  b: GraphBuilder,
  s: {
    spec: Pick<TrainGraphSpec, 'optimizer'>;
    params: TrainableParam[];
    loss: V;
    metrics: Record<string, V>;
    inputs: OptimizerInputs;
    needsReference: boolean;
  },
): TrainGraph {
  const float = b.float;
  const { params, inputs } = s;
  const optimizer = s.spec.optimizer;
  const scaled = b.mul(s.loss, inputs.lossScale);
  const grads = backward(
    b,
    scaled,
    params.map((p) => p.name),
  );

  const accumulated = b.scope('grad_accumulation', () =>
    params.map((p) => {
      const acc = b.input(gradAccIn(p.name), float, p.dims);
      return b.add(acc, grads.get(p.name)!);
    }),
  );
  const { grads: clipped, norm } = b.scope('clip', () =>
    buildClipByGlobalNorm(
      b,
      accumulated,
      optimizer.maxGradNorm > 0 ? optimizer.maxGradNorm : Infinity,
    ),
  );
  const states = params.map((p, i) => ({
    param: p.name,
    grad: clipped[i],
    m: b.input(momentM(p.name), float, p.dims),
    v: b.input(momentV(p.name), float, p.dims),
  }));
  const next = b.scope('adamw', () =>
    buildAdamWUpdate(b, states, {
      lr: inputs.lr,
      step: inputs.step,
      beta1: optimizer.beta1,
      beta2: optimizer.beta2,
      eps: optimizer.eps,
      weightDecay: optimizer.weightDecay,
    }),
  );

  b.output(s.loss, 'loss', float, []);
  b.output(norm, 'grad_norm', float, []);
  const metricNames: string[] = [];
  for (const [name, v] of Object.entries(s.metrics)) {
    b.output(v, name, float, []);
    metricNames.push(name);
  }
  params.forEach((p, i) => {
    b.output(accumulated[i], gradAccOut(p.name), float, p.dims);
    b.output(next[i].param, updated(p.name), float, p.dims);
    b.output(next[i].m, updatedM(p.name), float, p.dims);
    b.output(next[i].v, updatedV(p.name), float, p.dims);
  });
  return { graph: b.build(), params, needsReference: s.needsReference, metrics: metricNames };
}
