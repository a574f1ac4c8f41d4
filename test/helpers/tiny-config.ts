import { type ModelConfig } from '../../src/engine/model/config.js';
import { modelTensorShapes } from '../../src/engine/model/tensor-layout.js';
import type { WeightTable } from '../../src/engine/model/inference-graphs.js';

/** A 2-layer Llama small enough for float64 finite-difference checks (GQA: 4 heads, 2 KV heads). */
export function tinyConfig(over: Partial<ModelConfig> = {}): ModelConfig {
  return {
    architecture: 'LlamaForCausalLM',
    modelType: 'llama',
    hiddenSize: 16,
    intermediateSize: 24,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    headDim: 4,
    vocabSize: 32,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    ropeScaling: { type: 'default' },
    maxPositionEmbeddings: 64,
    tieWordEmbeddings: false,
    attentionBias: false,
    oProjBias: false,
    mlpBias: false,
    eosTokenIds: [],
    bosTokenId: undefined,
    padTokenId: undefined,
    dtype: undefined,
    raw: {},
    ...over,
  };
}

/** A seeded uniform generator in [0, 1) (mulberry32): reproducible test data without the engine's Rng. */
export function testRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Random float32 weights for every tensor of `cfg`, drawn from `next` in checkpoint-key order:
 * norm weights in 1 ± 0.1, the rest in ±0.3.
 */
export function tinyWeights(cfg: ModelConfig, next: () => number): WeightTable {
  const table = new Map<string, { dims: number[]; data: Float32Array }>();
  for (const [k, dims] of modelTensorShapes(cfg)) {
    const n = dims.reduce((a, b) => a * b, 1);
    const norm = k.endsWith('norm.weight');
    table.set(k, {
      dims,
      data: Float32Array.from({ length: n }, () =>
        norm ? 1 + 0.2 * (next() - 0.5) : 0.6 * (next() - 0.5),
      ),
    });
  }
  return { get: (k) => table.get(k)! };
}
