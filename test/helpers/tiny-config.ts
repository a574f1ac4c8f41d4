import type { ModelConfig } from '../../src/engine/model/config.js';

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
