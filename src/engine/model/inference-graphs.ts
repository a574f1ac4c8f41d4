import { GraphBuilder, type V } from '../graph/builder.js';
import type { ExternalTensor, Graph } from '../graph/ir.js';
import type { ModelConfig } from './config.js';
import { llamaForward, type WeightBinder } from './llama-graph.js';
import { quantizedBinder, type QuantizedWeights } from './quantize.js';

/** Float32 weights by checkpoint key, with shapes ([out, in] for Linear, as torch stores them). */
export interface WeightTable {
  get(key: string): { dims: number[]; data: Float32Array };
  /**
   * Where the tensor lies as float32 in a file, when it does unchanged (a float32 checkpoint's
   * own weight): graphs then map it from there instead of holding a copy (ExternalTensor).
   */
  external?(key: string): { dims: number[]; external: ExternalTensor } | undefined;
}

/** Frozen weights as initializers named by checkpoint key. */
export function initializerBinder(
  weights: WeightTable,
  float: 'float32' | 'float64' = 'float32',
): WeightBinder {
  return {
    weight(b: GraphBuilder, key: string): V {
      if (b.initializers.has(key)) return key;
      const ext = float === 'float32' ? weights.external?.(key) : undefined;
      if (ext) return b.externalInitializer(key, float, ext.dims, ext.external);
      const { dims, data } = weights.get(key);
      return b.initializer(key, float, dims, float === 'float64' ? Float64Array.from(data) : data);
    },
  };
}

/**
 * The binder inference graphs (decoder, scoring) use for a loaded model: its quantized copy when it
 * was loaded with `quantize`, else its float32 weights.
 */
export function inferenceBinder(model: {
  config: ModelConfig;
  weights: WeightTable;
  quantized?: QuantizedWeights;
}): WeightBinder {
  if (model.quantized) return quantizedBinder(model.quantized);
  const base = initializerBinder(model.weights);
  return process.env.RLAIF_LINEAR === 'matmul' ? base : gemmLinears(base, model.config);
}

/**
 * Linear layers and lm_head as Gemm(x, W, transB=1) on x flattened to 2-D: onnxruntime reads the
 * mapped [out, in] weight as it is, where MatMul(x, Transpose(W)) made it fold a transposed copy
 * of every weight into memory (a second copy of the model). RLAIF_LINEAR=matmul restores that.
 */
function gemmLinears(base: WeightBinder, cfg: ModelConfig): WeightBinder {
  // y = x·Wᵀ (+ bias later): x [..., in] -> [N, in], Gemm -> [N, out], back to [..., out]
  const gemm = (b: GraphBuilder, x: V, w: V): V => {
    const x2 = b.reshape(x, b.concat([b.constI64([-1]), b.shape(x, -1)], 0));
    const [y2] = b.op('Gemm', [x2, w], { transB: 1 });
    return b.reshape(y2, b.concat([b.shape(x, 0, -1), b.constI64([-1])], 0));
  };
  return {
    ...base,
    linear(b, x, module, _plain, hasBias) {
      const y = gemm(b, x, base.weight(b, `${module}.weight`));
      // a Linear with a bias (Qwen2's q/k/v) adds it after, as the plain path does
      return hasBias ? b.add(y, base.weight(b, `${module}.bias`)) : y;
    },
    lmHead: (b, hidden) =>
      gemm(
        b,
        hidden,
        base.weight(b, cfg.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight'),
      ),
  };
}

export const pastKeyName = (l: number): string => `past_key_values.${l}.key`;
export const pastValueName = (l: number): string => `past_key_values.${l}.value`;
export const newKeyName = (l: number): string => `new_key_values.${l}.key`;
export const newValueName = (l: number): string => `new_key_values.${l}.value`;

/**
 * Prefill + decode with a KV cache, one graph for both (prefill = empty past):
 * inputs  input_ids [batch, seq], attention_mask [batch, past + seq],
 *         position_ids [batch, seq], past_key_values.{l}.key/value [batch, kv_heads, past, head_dim],
 *         inv_temperature [1] = 1 / sampling temperature (1 when greedy)
 * outputs logits [batch, 1, vocab] (last position),
 *         logsumexp [batch, 1] = log Σ_v exp(logits[b, 0, v]), the log-partition of each row,
 *         max_logit [batch, 1] and argmax [batch, 1] (int64, lowest id on ties): a greedy step
 *         fetches these instead of the logits (see generate.ts),
 *         sampling_weights [batch, 1, vocab] = exp((logits − max_logit) · inv_temperature),
 *         the unnormalised sampling distribution at that temperature,
 *         new_key_values.{l}.key/value [batch, kv_heads, seq, head_dim] (the new tokens only).
 * The caller owns the cache (generate/kv-cache.ts): `past` may be a buffer with spare capacity
 * whose unused positions are masked out, so the cache is never copied through the graph.
 */
export function buildDecoderGraph(
  cfg: ModelConfig,
  binder: WeightBinder,
  float: 'float32' | 'float64' = 'float32',
): Graph {
  const b = new GraphBuilder('decoder', float);
  const kvDims = ['batch', cfg.numKeyValueHeads, 'past', cfg.headDim];
  const inputIds = b.input('input_ids', 'int64', ['batch', 'seq']);
  const attentionMask = b.input('attention_mask', 'int64', ['batch', 'total']);
  const positionIds = b.input('position_ids', 'int64', ['batch', 'seq']);
  const past = Array.from({ length: cfg.numHiddenLayers }, (_, l) => ({
    key: b.input(pastKeyName(l), float, kvDims),
    value: b.input(pastValueName(l), float, kvDims),
  }));
  const invTemperature = b.input('inv_temperature', float, [1]);
  const out = llamaForward(b, cfg, binder, {
    inputIds,
    attentionMask,
    positionIds,
    past,
    lastPositionOnly: true,
  });
  // Built before the outputs: b.output renames each value's producer to the output's name.
  const stats = rowStatsOf(b, out.logits, invTemperature);
  b.output(out.logits, 'logits', float, ['batch', 1, cfg.vocabSize]);
  b.output(stats.logSumExp, 'logsumexp', float, ['batch', 1]);
  b.output(stats.max, 'max_logit', float, ['batch', 1]);
  b.output(stats.argMax, 'argmax', 'int64', ['batch', 1]);
  b.output(stats.weights, 'sampling_weights', float, ['batch', 1, cfg.vocabSize]);
  const newDims = ['batch', cfg.numKeyValueHeads, 'seq', cfg.headDim];
  out.newKeyValues.forEach((p, l) => {
    b.output(p.key, newKeyName(l), float, newDims);
    b.output(p.value, newValueName(l), float, newDims);
  });
  return b.build();
}

/**
 * Per-row statistics of logits [B, S, V] over the vocabulary, each [B, S].
 * logSumExp = log Σ exp, max-shifted. A sampled token's log-prob is then logit − logSumExp
 * without a pass over the vocabulary on the host: in JS that pass (one Math.exp per token) cost
 * ~0.5 ms per row, 12% of a batch-8 decode step, against ~0.02 ms per row here. Built from
 * ReduceMax/Exp/ReduceSum because onnxruntime's ReduceLogSumExp measured 8x slower and 7e-5 off
 * on a 49152-token row.
 * max and argMax give a greedy step its token and log-prob (max − logSumExp) without the logits
 * leaving the graph: the host scan for the argmax cost ~0.08 ms per row.
 * weights = exp((logits − max) · invT) [B, S, V] are what sampling at temperature 1/invT draws
 * from: one Math.exp per token cost ~0.55 ms per row on the host (V8's exp is scalar), ~0.02 ms
 * here. A greedy run computes them too (onnxruntime runs the whole graph whatever is fetched).
 */
function rowStatsOf(
  b: GraphBuilder,
  logits: V,
  invT: V,
): { logSumExp: V; max: V; argMax: V; weights: V } {
  return b.scope('row_stats', () => {
    const max = b.reduceMax(logits, [-1]); // [B, S, 1]
    const shifted = b.sub(logits, max); // [B, S, V]
    const sum = b.reduceSum(b.exp(shifted), [-1], false); // [B, S]
    const flatMax = b.squeeze(max, [-1]); // [B, S]
    return {
      logSumExp: b.add(flatMax, b.log(sum)),
      max: flatMax,
      argMax: b.argMax(logits, -1, false),
      weights: b.exp(b.mul(shifted, invT)),
    };
  });
}

/**
 * Full-sequence scoring of right-padded batches:
 * inputs  input_ids [batch, seq], attention_mask [batch, seq]
 * outputs token_logprobs [batch, seq-1] = log p(input_ids[:, t+1] | input_ids[:, :t+1]),
 *         and logits [batch, seq, vocab] when `withLogits`.
 */
export function buildLogprobsGraph(
  cfg: ModelConfig,
  binder: WeightBinder,
  opts: { withLogits?: boolean; float?: 'float32' | 'float64' } = {},
): Graph {
  const float = opts.float ?? 'float32';
  const b = new GraphBuilder('logprobs', float);
  const inputIds = b.input('input_ids', 'int64', ['batch', 'seq']);
  const attentionMask = b.input('attention_mask', 'int64', ['batch', 'seq']);
  // Right padding: positions are 0..S-1 in every row; [1, S] broadcasts over the batch.
  const positionIds = b.scope('position_ids', () =>
    b.unsqueeze(
      b.range(b.constI64(0), b.squeeze(b.shape(inputIds, 1, 2), [0]), b.constI64(1)),
      [0],
    ),
  );
  const { logits } = llamaForward(b, cfg, binder, { inputIds, attentionMask, positionIds });
  const tokenLogprobs = tokenLogprobsOf(b, logits, inputIds);
  b.output(tokenLogprobs, 'token_logprobs', float, ['batch', 'seq_minus_1']);
  if (opts.withLogits) b.output(logits, 'logits', float, ['batch', 'seq', cfg.vocabSize]);
  return b.build();
}

/** log p(ids[:, t+1] | prefix) from logits [B, S, V] → [B, S-1]. */
export function tokenLogprobsOf(b: GraphBuilder, logits: V, inputIds: V): V {
  return b.scope('token_logprobs', () => {
    const logp = b.logSoftmax(b.slice(logits, [0], [-1], [1]), -1); // [B, S-1, V]
    const next = b.unsqueeze(b.slice(inputIds, [1], [Number.MAX_SAFE_INTEGER], [1]), [2]); // [B, S-1, 1]
    return b.squeeze(b.gatherElements(logp, next, 2), [2]); // [B, S-1]
  });
}
