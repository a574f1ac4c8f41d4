import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PipelineError } from '../../src/core/errors.js';
import { loadModelConfig, parseModelConfig, ropeInvFreq } from '../../src/engine/model/config.js';
import {
  checkWeights,
  modelTensorNames,
  modelTensorShapes,
} from '../../src/engine/model/tensor-layout.js';
import type { ModelConfig } from '../../src/engine/model/config.js';
import { openCheckpointWeights } from '../../src/engine/model/checkpoint.js';
import type { WeightSource } from '../../src/engine/model/checkpoint.js';
import type { TensorInfo } from '../../src/engine/model/safetensors.js';
import { fixture } from '../helpers/fixtures.js';
import { throwsCode } from '../helpers/errors.js';

// Llama-3.2-1B's config.json as published (transformers 4.45 style: top-level rope_theta,
// rope_scaling with rope_type llama3).
const LLAMA32_1B = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 128000,
  eos_token_id: 128001,
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: {
    factor: 32.0,
    high_freq_factor: 4.0,
    low_freq_factor: 1.0,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.45.0.dev0',
  use_cache: true,
  vocab_size: 128256,
};

// A minimal Mistral / Qwen2 / Llama base to vary one field at a time.
const BASE = {
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 100,
  max_position_embeddings: 32768,
};

function parse(json: Record<string, unknown>): ModelConfig {
  return parseModelConfig(json, '/models/x/config.json');
}

test('tiny-llama config.json parses to the documented values', (t) => {
  const dir = fixture(t, 'hf-tiny', 'tiny-llama');
  if (!dir) return;
  const cfg = loadModelConfig(dir);
  const { raw, ...rest } = cfg;
  assert.equal(raw.transformers_version, '5.17.0');
  assert.deepEqual(rest, {
    architecture: 'LlamaForCausalLM',
    modelType: 'llama',
    hiddenSize: 64,
    intermediateSize: 176,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    headDim: 16,
    vocabSize: 2048,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    ropeScaling: { type: 'default' },
    maxPositionEmbeddings: 512,
    tieWordEmbeddings: true,
    attentionBias: false,
    oProjBias: false,
    mlpBias: false,
    eosTokenIds: [2],
    bosTokenId: undefined,
    padTokenId: 0,
    dtype: 'float32',
  });
  const bf16 = fixture(t, 'hf-tiny', 'tiny-llama-bf16');
  if (bf16) assert.equal(loadModelConfig(bf16).dtype, 'bfloat16');
});

test('tiny-qwen2 config.json: q/k/v biases, no o_proj bias, untied head, theta 1e6', (t) => {
  const dir = fixture(t, 'hf-tiny', 'tiny-qwen2');
  if (!dir) return;
  const cfg = loadModelConfig(dir);
  assert.equal(cfg.architecture, 'Qwen2ForCausalLM');
  assert.equal(cfg.modelType, 'qwen2');
  assert.equal(cfg.headDim, 16);
  assert.equal(cfg.numKeyValueHeads, 2);
  assert.equal(cfg.rmsNormEps, 1e-6);
  assert.equal(cfg.ropeTheta, 1e6);
  assert.deepEqual(cfg.ropeScaling, { type: 'default' });
  assert.equal(cfg.tieWordEmbeddings, false);
  assert.equal(cfg.attentionBias, true);
  assert.equal(cfg.oProjBias, false);
  assert.equal(cfg.mlpBias, false);
  assert.deepEqual(cfg.eosTokenIds, [2]);
  assert.equal(cfg.padTokenId, 0);
});

test('modelTensorNames matches the fixture checkpoints exactly and checkWeights accepts them', (t) => {
  for (const name of ['tiny-llama', 'tiny-llama-bf16', 'tiny-qwen2']) {
    const dir = fixture(t, 'hf-tiny', name);
    if (!dir) return;
    const cfg = loadModelConfig(dir);
    const w = openCheckpointWeights(dir);
    try {
      assert.deepEqual([...modelTensorNames(cfg)].sort(), w.names(), name);
      checkWeights(cfg, w, dir);
    } finally {
      w.close();
    }
  }
  const dir = fixture(t, 'hf-tiny', 'tiny-qwen2');
  if (!dir) return;
  const names = modelTensorNames(loadModelConfig(dir));
  assert.equal(names.length, 27);
  assert.ok(names.includes('model.layers.1.self_attn.k_proj.bias'));
  assert.ok(!names.includes('model.layers.1.self_attn.o_proj.bias'));
  assert.equal(names.at(-1), 'lm_head.weight');
});

test('Llama attention_bias adds q/k/v/o biases; mlp_bias adds MLP biases; shapes are [out, in]', () => {
  const cfg = parse({
    ...BASE,
    architectures: ['LlamaForCausalLM'],
    attention_bias: true,
    mlp_bias: true,
  });
  assert.equal(cfg.attentionBias, true);
  assert.equal(cfg.oProjBias, true);
  assert.equal(cfg.mlpBias, true);
  const shapes = modelTensorShapes(cfg);
  const p = 'model.layers.0.';
  assert.deepEqual(shapes.get(`${p}self_attn.q_proj.weight`), [64, 64]);
  assert.deepEqual(shapes.get(`${p}self_attn.k_proj.weight`), [32, 64]);
  assert.deepEqual(shapes.get(`${p}self_attn.k_proj.bias`), [32]);
  assert.deepEqual(shapes.get(`${p}self_attn.o_proj.bias`), [64]);
  assert.deepEqual(shapes.get(`${p}mlp.gate_proj.weight`), [128, 64]);
  assert.deepEqual(shapes.get(`${p}mlp.down_proj.weight`), [64, 128]);
  assert.deepEqual(shapes.get(`${p}mlp.down_proj.bias`), [64]);
  assert.deepEqual(shapes.get(`${p}mlp.up_proj.bias`), [128]);
  assert.deepEqual(shapes.get('lm_head.weight'), [100, 64]);
  assert.equal(modelTensorNames(cfg).length, 1 + 2 * 16 + 1 + 1);
  // Mistral never has biases.
  const m = parse({
    ...BASE,
    architectures: ['MistralForCausalLM'],
    sliding_window: null,
    attention_bias: true,
  });
  assert.equal(m.attentionBias || m.oProjBias || m.mlpBias, false);
});

test('checkWeights names the tensor with expected and actual shapes', (t) => {
  const dir = fixture(t, 'hf-tiny', 'tiny-llama');
  if (!dir) return;
  const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const w = openCheckpointWeights(dir);
  t.after(() => w.close());
  throwsCode(
    () => checkWeights(parse({ ...json, intermediate_size: 128 }), w, dir),
    'E_CHECKPOINT_MISMATCH',
    dir,
    "'model.layers.0.mlp.down_proj.weight' has shape [64, 176], expected [64, 128]",
    'more problems',
  );
  assert.throws(
    () => checkWeights(parse({ ...json, tie_word_embeddings: false }), w, dir),
    (e: PipelineError) =>
      e.code === 'E_CHECKPOINT_MISMATCH' &&
      e.message.includes("'lm_head.weight' is missing (expected shape [2048, 64])") &&
      /tie_word_embeddings/.test(e.hint ?? ''),
  );
  throwsCode(
    () => checkWeights(parse({ ...json, num_hidden_layers: 3 }), w, dir),
    'E_CHECKPOINT_MISMATCH',
    "'model.layers.2.input_layernorm.weight' is missing",
  );
  // An integer tensor where a weight belongs.
  const fake: WeightSource = {
    names: () => w.names(),
    has: (n) => w.has(n),
    info: (n): TensorInfo => ({ ...w.info(n), dtype: n === 'model.norm.weight' ? 'I32' : 'F32' }),
    float32: (n) => w.float32(n),
    close: () => {},
  };
  throwsCode(
    () => checkWeights(loadModelConfig(dir), fake, dir),
    'E_CHECKPOINT_MISMATCH',
    "'model.norm.weight' has dtype I32",
  );
});

test('defaults: kv heads, head_dim, tie_word_embeddings, rope_theta, model_type fallback', () => {
  const cfg = parse({ ...BASE, num_key_value_heads: undefined, model_type: 'llama' });
  assert.equal(cfg.architecture, 'LlamaForCausalLM');
  assert.equal(cfg.numKeyValueHeads, 4);
  assert.equal(cfg.headDim, 16);
  assert.equal(cfg.tieWordEmbeddings, false);
  assert.equal(cfg.ropeTheta, 10000);
  assert.equal(cfg.rmsNormEps, 1e-6);
  assert.deepEqual(cfg.eosTokenIds, []);
  assert.equal(cfg.dtype, undefined);
  assert.equal(parse({ ...BASE, model_type: 'qwen2' }).architecture, 'Qwen2ForCausalLM');
  assert.equal(
    parse({ ...BASE, architectures: [], model_type: 'mistral', sliding_window: null }).architecture,
    'MistralForCausalLM',
  );
  assert.equal(parse({ ...BASE, model_type: 'llama', head_dim: 32 }).headDim, 32);
  assert.equal(parse({ ...BASE, model_type: 'llama', head_dim: null }).headDim, 16);
  const multi = parse({
    ...BASE,
    model_type: 'llama',
    eos_token_id: [128001, 128008, 128009],
    bos_token_id: 128000,
    pad_token_id: null,
  });
  assert.deepEqual(multi.eosTokenIds, [128001, 128008, 128009]);
  assert.equal(multi.bosTokenId, 128000);
  assert.equal(multi.padTokenId, undefined);
});

test('old-style top-level rope_theta and rope_scaling, and transformers-5 rope_parameters', () => {
  const old = parse({ ...BASE, model_type: 'llama', rope_theta: 500000.0, rope_scaling: null });
  assert.equal(old.ropeTheta, 500000);
  assert.deepEqual(old.ropeScaling, { type: 'default' });
  const l32 = parse(LLAMA32_1B);
  assert.equal(l32.ropeTheta, 500000);
  assert.deepEqual(l32.ropeScaling, {
    type: 'llama3',
    factor: 32,
    lowFreqFactor: 1,
    highFreqFactor: 4,
    originalMaxPositionEmbeddings: 8192,
  });
  assert.equal(l32.headDim, 64);
  assert.equal(l32.tieWordEmbeddings, true);
  assert.equal(l32.dtype, 'bfloat16');
  // The oldest spelling: `type` instead of `rope_type`.
  const { rope_type: _, ...scalingNoType } = LLAMA32_1B.rope_scaling;
  const typeKey = parse({ ...LLAMA32_1B, rope_scaling: { ...scalingNoType, type: 'llama3' } });
  assert.deepEqual(typeKey.ropeScaling, l32.ropeScaling);
  // transformers 5: everything inside rope_parameters.
  const { rope_scaling: __, rope_theta: ___, ...rest } = LLAMA32_1B;
  const v5 = parse({
    ...rest,
    rope_parameters: { ...LLAMA32_1B.rope_scaling, rope_theta: 500000.0 },
  });
  assert.equal(v5.ropeTheta, 500000);
  assert.deepEqual(v5.ropeScaling, l32.ropeScaling);
  assert.deepEqual(ropeInvFreq(v5), ropeInvFreq(l32));
  throwsCode(
    () =>
      parse({
        ...LLAMA32_1B,
        rope_scaling: { ...LLAMA32_1B.rope_scaling, low_freq_factor: undefined },
      }),
    'E_MODEL_CONFIG',
    'rope_scaling.low_freq_factor is missing',
  );
});

test('default inv_freq is 1/theta^(2i/d)', () => {
  const cfg = parse({ ...BASE, model_type: 'llama', rope_theta: 10000 });
  const inv = ropeInvFreq(cfg);
  assert.equal(inv.length, 8);
  for (let i = 0; i < 8; i++)
    assert.ok(Math.abs(inv[i] - 10000 ** (-i / 8)) <= 1e-16 * 10000 ** (-i / 8) * 4);
  assert.equal(inv[0], 1);
});

test('llama3 inv_freq matches transformers _compute_llama3_parameters (Llama-3.2-1B)', () => {
  // Written out independently from the transformers source:
  //   wavelen = 2*pi/inv; wavelen < old/high: keep; wavelen > old/low: inv/factor;
  //   otherwise smooth = (old/wavelen - low)/(high - low); (1-smooth)*inv/factor + smooth*inv
  const theta = 500000;
  const d = 64;
  const [factor, low, high, old] = [32, 1, 4, 8192];
  const expected: number[] = [];
  const bands = { kept: 0, scaled: 0, smoothed: 0 };
  for (let j = 0; j < d; j += 2) {
    const base = 1 / theta ** (j / d);
    const wavelen = (2 * Math.PI) / base;
    if (wavelen < old / high) {
      expected.push(base);
      bands.kept++;
    } else if (wavelen > old / low) {
      expected.push(base / factor);
      bands.scaled++;
    } else {
      const smooth = (old / wavelen - low) / (high - low);
      expected.push(((1 - smooth) * base) / factor + smooth * base);
      bands.smoothed++;
    }
  }
  // All three regimes are exercised by this config.
  assert.ok(bands.kept > 0 && bands.scaled > 0 && bands.smoothed > 0, JSON.stringify(bands));
  const inv = ropeInvFreq(parse(LLAMA32_1B));
  assert.equal(inv.length, 32);
  for (let i = 0; i < 32; i++)
    assert.ok(
      Math.abs(inv[i] - expected[i]) <= 1e-15 * expected[i],
      `inv_freq[${i}] ${inv[i]} != ${expected[i]}`,
    );
  assert.equal(inv[0], 1);
  assert.ok(Math.abs(inv[31] - 500000 ** (-62 / 64) / 32) < 1e-20);
});

test('unsupported or invalid configs fail naming the field', () => {
  const src = '/models/x/config.json';
  throwsCode(
    () => parse({ ...BASE, architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' }),
    'E_MODEL_UNSUPPORTED',
    src,
    'architectures[0]',
    'GPT2LMHeadModel',
    'LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM',
  );
  throwsCode(
    () => parse({ ...BASE, model_type: 'gpt2' }),
    'E_MODEL_UNSUPPORTED',
    'model_type',
    'gpt2',
  );
  throwsCode(() => parse({ ...BASE }), 'E_MODEL_UNSUPPORTED', 'model_type');
  throwsCode(
    () =>
      parse({
        ...BASE,
        model_type: 'llama',
        rope_parameters: { rope_type: 'yarn', rope_theta: 1e6, factor: 4 },
      }),
    'E_MODEL_UNSUPPORTED',
    'rope_parameters.rope_type',
    "'yarn'",
  );
  for (const t of ['linear', 'dynamic', 'longrope'])
    throwsCode(
      () => parse({ ...BASE, model_type: 'llama', rope_scaling: { type: t, factor: 2 } }),
      'E_MODEL_UNSUPPORTED',
      'rope_scaling.rope_type',
      `'${t}'`,
    );
  throwsCode(
    () => parse({ ...BASE, model_type: 'llama', partial_rotary_factor: 0.5 }),
    'E_MODEL_UNSUPPORTED',
    'partial_rotary_factor',
  );
  throwsCode(
    () => parse({ ...BASE, model_type: 'llama', hidden_act: 'gelu' }),
    'E_MODEL_UNSUPPORTED',
    'hidden_act',
    "'gelu'",
  );
  throwsCode(
    () => parse({ ...BASE, model_type: 'llama', num_key_value_heads: 3 }),
    'E_MODEL_CONFIG',
    'num_attention_heads (4)',
    'num_key_value_heads (3)',
  );
  throwsCode(
    () => parse({ ...BASE, model_type: 'llama', hidden_size: undefined }),
    'E_MODEL_CONFIG',
    src,
    'hidden_size is missing',
  );
  throwsCode(
    () => parse({ ...BASE, model_type: 'llama', vocab_size: '100' }),
    'E_MODEL_CONFIG',
    'vocab_size is "100"',
  );
  throwsCode(
    () => parse({ ...BASE, model_type: 'llama', hidden_size: 66 }),
    'E_MODEL_CONFIG',
    'hidden_size (66)',
  );
  throwsCode(
    () => parse({ ...BASE, model_type: 'llama', head_dim: 15 }),
    'E_MODEL_CONFIG',
    'head_dim 15',
  );
  throwsCode(
    () => parse({ ...BASE, model_type: 'llama', tie_word_embeddings: 'yes' }),
    'E_MODEL_CONFIG',
    'tie_word_embeddings',
  );
  throwsCode(
    () => parse({ ...BASE, model_type: 'llama', eos_token_id: [2, 'x'] }),
    'E_MODEL_CONFIG',
    'eos_token_id',
  );
  throwsCode(
    () => parse({ ...BASE, model_type: 'llama', rope_theta: -1 }),
    'E_MODEL_CONFIG',
    'rope_theta',
  );
  throwsCode(() => parseModelConfig([1], src), 'E_MODEL_CONFIG', src);
  throwsCode(
    () =>
      parse({ ...LLAMA32_1B, rope_scaling: { ...LLAMA32_1B.rope_scaling, high_freq_factor: 1 } }),
    'E_MODEL_CONFIG',
    'high_freq_factor',
  );
});

test('sliding-window attention is rejected unless it can never mask anything', () => {
  const mistral = { ...BASE, architectures: ['MistralForCausalLM'], model_type: 'mistral' };
  // Mistral-7B-v0.1: window 4096 over a 32768 context.
  throwsCode(
    () => parse({ ...mistral, sliding_window: 4096 }),
    'E_MODEL_UNSUPPORTED',
    'sliding_window is 4096',
    'sliding-window attention is not supported',
  );
  // An absent field means transformers' default window of 4096.
  throwsCode(() => parse(mistral), 'E_MODEL_UNSUPPORTED', 'sliding_window');
  assert.equal(parse({ ...mistral, sliding_window: null }).architecture, 'MistralForCausalLM');
  assert.ok(parse({ ...mistral, sliding_window: 32768 }));
  assert.ok(parse({ ...mistral, sliding_window: 4096, max_position_embeddings: 4096 }));

  const qwen = {
    ...BASE,
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    sliding_window: 4096,
  };
  assert.ok(parse({ ...qwen, use_sliding_window: false }));
  assert.ok(parse(qwen));
  throwsCode(
    () => parse({ ...qwen, use_sliding_window: true }),
    'E_MODEL_UNSUPPORTED',
    'sliding_window is 4096',
  );
  // transformers 5 layer_types saying every layer is full attention wins.
  assert.ok(
    parse({ ...qwen, use_sliding_window: true, layer_types: ['full_attention', 'full_attention'] }),
  );
  throwsCode(
    () =>
      parse({
        ...qwen,
        use_sliding_window: true,
        layer_types: ['full_attention', 'sliding_attention'],
      }),
    'E_MODEL_UNSUPPORTED',
    'sliding_window',
  );
});

test('loadModelConfig reports a missing file and points at bad JSON by line:col', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'model-config-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  throwsCode(() => loadModelConfig(dir), 'E_MODEL_CONFIG_NOT_FOUND', dir);
  writeFileSync(join(dir, 'config.json'), '{\n  "hidden_size": 64,\n  "vocab_size": 10,,\n}\n');
  throwsCode(() => loadModelConfig(dir), 'E_MODEL_CONFIG', `${join(dir, 'config.json')}:3:`);
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ ...BASE, architectures: ['Phi3ForCausalLM'] }),
  );
  throwsCode(
    () => loadModelConfig(dir),
    'E_MODEL_UNSUPPORTED',
    join(dir, 'config.json'),
    'Phi3ForCausalLM',
  );
});
