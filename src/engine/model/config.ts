// Hugging Face config.json for the Llama family (Llama, Qwen2, Mistral and their relatives such
// as SmolLM, which are LlamaForCausalLM). Anything that would make our graph compute something
// different from transformers (another RoPE scaling, sliding-window attention, another
// activation) is rejected here with the field that caused it, instead of producing a model that
// runs but quietly gives wrong numbers.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../../core/errors.js';

export type Architecture = 'LlamaForCausalLM' | 'Qwen2ForCausalLM' | 'MistralForCausalLM';

export const SUPPORTED_ARCHITECTURES: readonly Architecture[] = [
  'LlamaForCausalLM',
  'Qwen2ForCausalLM',
  'MistralForCausalLM',
];

/**
 * The sequence-classification heads of the same decoders (transformers'
 * GenericForSequenceClassification: the decoder, then `score` [num_labels, hidden] at the last
 * non-pad token). Their graph is the causal LM's up to the final norm, so they load as that
 * architecture with a `scoreHead`.
 */
const SEQUENCE_CLASSIFICATION: Record<string, Architecture> = {
  LlamaForSequenceClassification: 'LlamaForCausalLM',
  Qwen2ForSequenceClassification: 'Qwen2ForCausalLM',
  MistralForSequenceClassification: 'MistralForCausalLM',
};

const MODEL_TYPES: Record<string, Architecture> = {
  llama: 'LlamaForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  mistral: 'MistralForCausalLM',
};

export type RopeScaling =
  | { type: 'default' }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    };

export interface ModelConfig {
  architecture: Architecture;
  modelType: string;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  /** Biases on q_proj, k_proj and v_proj (Qwen2 always; Llama when `attention_bias`). */
  attentionBias: boolean;
  /** Bias on o_proj (Llama `attention_bias` only; Qwen2 has none). */
  oProjBias: boolean;
  /** Biases on gate_proj, up_proj and down_proj (Llama `mlp_bias`). */
  mlpBias: boolean;
  eosTokenIds: number[];
  bosTokenId: number | undefined;
  padTokenId: number | undefined;
  /** The stored weight dtype as config.json names it (`dtype`, or the older `torch_dtype`). */
  dtype: string | undefined;
  /**
   * Set for a *ForSequenceClassification checkpoint (a reward model): its `score.weight` is
   * [numLabels, hidden] and it has no lm_head. `architecture` is then the causal-LM class whose
   * decoder it shares.
   */
  scoreHead?: { numLabels: number };
  raw: Record<string, unknown>;
}

// Defaults are transformers' own for fields a config may omit; the sizes have no sensible default.
const DEFAULT_MAX_POSITIONS: Record<Architecture, number> = {
  LlamaForCausalLM: 2048,
  Qwen2ForCausalLM: 32768,
  MistralForCausalLM: 4096 * 32,
};
const DEFAULT_ROPE_THETA = 10000;
const DEFAULT_RMS_NORM_EPS = 1e-6;
const DEFAULT_SLIDING_WINDOW = 4096; // Mistral's and Qwen2's

const MAX_CONFIG_BYTES = 10_000_000;

const FIX_HINT = 'fix config.json (it should be the one saved with the model by transformers)';

/** head_dim as given, else hidden_size / num_attention_heads; RoPE needs it even. */
function readHeadDim(
  raw: Record<string, unknown>,
  r: FieldReader,
  source: string,
  hiddenSize: number,
  numAttentionHeads: number,
): number {
  let headDim: number;
  if (raw.head_dim !== undefined && raw.head_dim !== null) headDim = r.posInt('head_dim');
  else {
    if (hiddenSize % numAttentionHeads !== 0)
      fail(
        'E_MODEL_CONFIG',
        `${source}: hidden_size (${hiddenSize}) is not a multiple of num_attention_heads (${numAttentionHeads}) and head_dim is not set`,
        'set head_dim in config.json',
      );
    headDim = hiddenSize / numAttentionHeads;
  }
  if (headDim % 2 !== 0)
    fail(
      'E_MODEL_CONFIG',
      `${source}: head_dim ${headDim} is odd; RoPE needs an even head_dim`,
      FIX_HINT,
    );
  return headDim;
}

function checkActivation(r: FieldReader, architecture: string, source: string): void {
  const hiddenAct = r.string('hidden_act', 'silu');
  // transformers maps both names to SiLU.
  if (hiddenAct !== 'silu' && hiddenAct !== 'swish')
    fail(
      'E_MODEL_UNSUPPORTED',
      `${source}: hidden_act is '${hiddenAct}'; only 'silu' (SwiGLU) is supported for ${architecture}`,
      'use a Llama-family checkpoint with hidden_act "silu"',
    );
}

/** Which Linear layers carry a bias, by architecture (and Llama's config flags). */
function readBiases(
  r: FieldReader,
  architecture: string,
): { attentionBias: boolean; oProjBias: boolean; mlpBias: boolean } {
  let attentionBias = false;
  let oProjBias = false;
  let mlpBias = false;
  if (architecture === 'Qwen2ForCausalLM') attentionBias = true;
  else if (architecture === 'LlamaForCausalLM') {
    attentionBias = oProjBias = r.bool('attention_bias', false);
    mlpBias = r.bool('mlp_bias', false);
  }
  // MistralForCausalLM has no biases at all, whatever the config says.
  return { attentionBias, oProjBias, mlpBias };
}

export function parseModelConfig(json: unknown, source: string): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    fail('E_MODEL_CONFIG', `${source}: expected a JSON object`, FIX_HINT);
  const raw = json as Record<string, unknown>;
  const r = new FieldReader(raw, source);

  const architecture = readArchitecture(raw, source);
  const scoreHead = readScoreHead(raw, source);
  const modelType =
    typeof raw.model_type === 'string'
      ? raw.model_type
      : Object.keys(MODEL_TYPES).find((k) => MODEL_TYPES[k] === architecture)!;

  const hiddenSize = r.posInt('hidden_size');
  const intermediateSize = r.posInt('intermediate_size');
  const numHiddenLayers = r.posInt('num_hidden_layers');
  const numAttentionHeads = r.posInt('num_attention_heads');
  const numKeyValueHeads = r.posInt('num_key_value_heads', numAttentionHeads);
  const vocabSize = r.posInt('vocab_size');
  if (numAttentionHeads % numKeyValueHeads !== 0)
    fail(
      'E_MODEL_CONFIG',
      `${source}: num_attention_heads (${numAttentionHeads}) is not a multiple of num_key_value_heads (${numKeyValueHeads})`,
      FIX_HINT,
    );
  const headDim = readHeadDim(raw, r, source, hiddenSize, numAttentionHeads);

  checkActivation(r, architecture, source);

  const maxPositionEmbeddings = r.posInt(
    'max_position_embeddings',
    DEFAULT_MAX_POSITIONS[architecture],
  );
  checkSlidingWindow(raw, r, architecture, maxPositionEmbeddings, source);
  const { ropeTheta, ropeScaling } = readRope(raw, r, source);

  const { attentionBias, oProjBias, mlpBias } = readBiases(r, architecture);

  return {
    architecture,
    modelType,
    hiddenSize,
    intermediateSize,
    numHiddenLayers,
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    vocabSize,
    rmsNormEps: r.posNumber('rms_norm_eps', DEFAULT_RMS_NORM_EPS),
    ropeTheta,
    ropeScaling,
    maxPositionEmbeddings,
    tieWordEmbeddings: r.bool('tie_word_embeddings', false),
    attentionBias,
    oProjBias,
    mlpBias,
    eosTokenIds: readTokenIds(raw, 'eos_token_id', source),
    bosTokenId: readTokenIds(raw, 'bos_token_id', source, true)[0],
    padTokenId: readTokenIds(raw, 'pad_token_id', source, true)[0],
    dtype:
      typeof raw.dtype === 'string'
        ? raw.dtype
        : typeof raw.torch_dtype === 'string'
          ? raw.torch_dtype
          : undefined,
    ...(scoreHead ? { scoreHead } : {}),
    raw,
  };
}

/**
 * The head of a sequence-classification checkpoint: num_labels as transformers derives it (the
 * size of id2label, which is what it saves; an explicit num_labels otherwise, else its default 2).
 */
function readScoreHead(
  raw: Record<string, unknown>,
  source: string,
): { numLabels: number } | undefined {
  const archs = raw.architectures;
  if (!Array.isArray(archs) || !Object.hasOwn(SEQUENCE_CLASSIFICATION, archs[0] as string))
    return undefined;
  const id2label = raw.id2label;
  let numLabels = 2;
  if (id2label && typeof id2label === 'object') numLabels = Object.keys(id2label).length;
  else if (raw.num_labels !== undefined) numLabels = raw.num_labels as number;
  if (!Number.isSafeInteger(numLabels) || numLabels < 1)
    fail(
      'E_MODEL_CONFIG',
      `${source}: num_labels is ${JSON.stringify(numLabels)}, expected a positive integer`,
      FIX_HINT,
    );
  return { numLabels };
}

/** Reads `<dir>/config.json`. */
export function loadModelConfig(dir: string): ModelConfig {
  const path = join(dir, 'config.json');
  if (!existsSync(path))
    fail(
      'E_MODEL_CONFIG_NOT_FOUND',
      `no config.json in ${dir}`,
      'pass a Hugging Face model folder (config.json, *.safetensors, tokenizer.json)',
    );
  const size = statSync(path).size;
  if (size > MAX_CONFIG_BYTES)
    fail('E_MODEL_CONFIG', `${path} is ${size} bytes; a config.json is a few kilobytes`, FIX_HINT);
  const text = readFileSync(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const where = pos ? `${path}:${lineCol(text, Number(pos[1]))}` : path;
    fail('E_MODEL_CONFIG', `${where}: config.json is not valid JSON (${msg})`, FIX_HINT, e);
  }
  return parseModelConfig(json, path);
}

function lineCol(text: string, pos: number): string {
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - before.lastIndexOf('\n');
  return `${line}:${col}`;
}

function readArchitecture(raw: Record<string, unknown>, source: string): Architecture {
  const supported = SUPPORTED_ARCHITECTURES.join(', ');
  const archs = raw.architectures;
  if (archs !== undefined && archs !== null && !(Array.isArray(archs) && archs.length === 0)) {
    if (!Array.isArray(archs) || typeof archs[0] !== 'string')
      fail(
        'E_MODEL_CONFIG',
        `${source}: architectures is ${JSON.stringify(archs)}; expected a list of class names`,
        FIX_HINT,
      );
    const named = archs[0] as string;
    const a = Object.hasOwn(SEQUENCE_CLASSIFICATION, named)
      ? SEQUENCE_CLASSIFICATION[named]
      : named;
    if (!(SUPPORTED_ARCHITECTURES as readonly string[]).includes(a))
      fail(
        'E_MODEL_UNSUPPORTED',
        `${source}: architectures[0] is '${named}', which is not supported (supported: ${supported})`,
        'use a Llama, Qwen2 or Mistral causal-LM checkpoint (SmolLM and TinyLlama are Llama)',
      );
    return a as Architecture;
  }
  const mt = raw.model_type;
  if (typeof mt === 'string' && Object.hasOwn(MODEL_TYPES, mt)) return MODEL_TYPES[mt];
  return fail(
    'E_MODEL_UNSUPPORTED',
    `${source}: no architectures list and model_type is ${JSON.stringify(mt)} ` +
      `(supported: ${supported}, or model_type ${Object.keys(MODEL_TYPES).join(', ')})`,
    'use a Llama, Qwen2 or Mistral causal-LM checkpoint',
  );
}

function checkSlidingWindow(
  raw: Record<string, unknown>,
  r: FieldReader,
  architecture: Architecture,
  maxPositions: number,
  source: string,
): void {
  if (architecture === 'LlamaForCausalLM') return;
  let window: number | null;
  if (architecture === 'Qwen2ForCausalLM' && !r.bool('use_sliding_window', false)) window = null;
  else if (raw.sliding_window === null) window = null;
  else window = r.posInt('sliding_window', DEFAULT_SLIDING_WINDOW);
  // A window at least as long as the context never masks anything: plain causal attention.
  if (window === null || window >= maxPositions) return;
  // transformers 5 spells out which layers slide; when none does, attention is full everywhere.
  const layerTypes = raw.layer_types;
  if (Array.isArray(layerTypes) && !layerTypes.includes('sliding_attention')) return;
  fail(
    'E_MODEL_UNSUPPORTED',
    `${source}: sliding_window is ${window} (below max_position_embeddings ${maxPositions}); ` +
      'sliding-window attention is not supported',
    architecture === 'Qwen2ForCausalLM'
      ? 'set use_sliding_window to false (Qwen2 checkpoints are trained without it)'
      : 'use a checkpoint without sliding-window attention (e.g. Mistral-7B v0.2 or later, where sliding_window is null)',
  );
}

const SUPPORTED_ROPE = 'default, llama3';

function readRope(
  raw: Record<string, unknown>,
  r: FieldReader,
  source: string,
): { ropeTheta: number; ropeScaling: RopeScaling } {
  // transformers 5 writes rope_parameters {rope_theta, rope_type, ...}; older configs write a
  // top-level rope_theta and an optional rope_scaling {type|rope_type, ...}.
  const params = objectField(raw, 'rope_parameters', source);
  const scaling = objectField(raw, 'rope_scaling', source);
  const typeOf = (o: Record<string, unknown> | undefined, field: string): string => {
    if (!o) return 'default';
    const t = o.rope_type ?? o.type ?? 'default';
    if (typeof t !== 'string')
      fail(
        'E_MODEL_CONFIG',
        `${source}: ${field}.rope_type is ${JSON.stringify(t)}, expected a string`,
        FIX_HINT,
      );
    return t as string;
  };
  const paramsType = typeOf(params, 'rope_parameters');
  const scalingType = typeOf(scaling, 'rope_scaling');
  if (params && scaling && paramsType !== scalingType)
    fail(
      'E_MODEL_CONFIG',
      `${source}: rope_parameters (rope_type '${paramsType}') and rope_scaling (type '${scalingType}') disagree`,
      'keep only rope_parameters',
    );
  const [obj, field, type] =
    params || !scaling
      ? ([params, 'rope_parameters', paramsType] as const)
      : ([scaling, 'rope_scaling', scalingType] as const);
  const ropeR = new FieldReader(obj ?? {}, source, `${field}.`);

  const ropeTheta =
    params && params.rope_theta !== undefined && params.rope_theta !== null
      ? new FieldReader(params, source, 'rope_parameters.').posNumber('rope_theta')
      : r.posNumber('rope_theta', DEFAULT_ROPE_THETA);

  const partial = obj?.partial_rotary_factor ?? raw.partial_rotary_factor;
  if (partial !== undefined && partial !== null && partial !== 1)
    fail(
      'E_MODEL_UNSUPPORTED',
      `${source}: partial_rotary_factor is ${JSON.stringify(partial)}; only full rotary embeddings are supported`,
      'use a Llama-family checkpoint that applies RoPE to the whole head',
    );

  if (type === 'default') return { ropeTheta, ropeScaling: { type: 'default' } };
  if (type === 'llama3') {
    const lowFreqFactor = ropeR.posNumber('low_freq_factor');
    const highFreqFactor = ropeR.posNumber('high_freq_factor');
    if (highFreqFactor <= lowFreqFactor)
      fail(
        'E_MODEL_CONFIG',
        `${source}: ${field}.high_freq_factor (${highFreqFactor}) must be greater than low_freq_factor (${lowFreqFactor})`,
        FIX_HINT,
      );
    return {
      ropeTheta,
      ropeScaling: {
        type: 'llama3',
        factor: ropeR.posNumber('factor'),
        lowFreqFactor,
        highFreqFactor,
        originalMaxPositionEmbeddings: ropeR.posNumber('original_max_position_embeddings'),
      },
    };
  }
  return fail(
    'E_MODEL_UNSUPPORTED',
    `${source}: ${field}.rope_type is '${type}', which is not supported (supported: ${SUPPORTED_ROPE})`,
    'use a checkpoint with default or llama3 RoPE scaling',
  );
}

function objectField(
  raw: Record<string, unknown>,
  field: string,
  source: string,
): Record<string, unknown> | undefined {
  const v = raw[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v))
    fail(
      'E_MODEL_CONFIG',
      `${source}: ${field} is ${JSON.stringify(v)}, expected an object`,
      FIX_HINT,
    );
  return v as Record<string, unknown>;
}

function readTokenIds(
  raw: Record<string, unknown>,
  field: string,
  source: string,
  single = false,
): number[] {
  const v = raw[field];
  if (v === undefined || v === null) return [];
  const ids = Array.isArray(v) && !single ? v : [v];
  if (!ids.every((x) => Number.isSafeInteger(x) && (x as number) >= 0))
    fail(
      'E_MODEL_CONFIG',
      `${source}: ${field} is ${JSON.stringify(v)}; expected ${single ? 'a token id' : 'a token id or a list of them'}`,
      FIX_HINT,
    );
  return [...new Set(ids as number[])];
}

class FieldReader {
  constructor(
    private readonly obj: Record<string, unknown>,
    private readonly source: string,
    private readonly prefix = '',
  ) {}

  private value(field: string, dflt: unknown): unknown {
    const v = this.obj[field];
    if (v !== undefined && v !== null) return v;
    if (dflt === undefined || dflt === null)
      fail('E_MODEL_CONFIG', `${this.source}: ${this.prefix}${field} is missing`, FIX_HINT);
    return dflt;
  }

  private wrong(field: string, v: unknown, expected: string): never {
    return fail(
      'E_MODEL_CONFIG',
      `${this.source}: ${this.prefix}${field} is ${JSON.stringify(v)}, expected ${expected}`,
      FIX_HINT,
    );
  }

  posInt(field: string, dflt?: number | null): number {
    const v = this.value(field, dflt);
    if (!Number.isSafeInteger(v) || (v as number) <= 0) this.wrong(field, v, 'a positive integer');
    return v as number;
  }

  posNumber(field: string, dflt?: number): number {
    const v = this.value(field, dflt);
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
      this.wrong(field, v, 'a positive number');
    return v as number;
  }

  bool(field: string, dflt: boolean): boolean {
    const v = this.value(field, dflt);
    if (typeof v !== 'boolean') this.wrong(field, v, 'true or false');
    return v as boolean;
  }

  string(field: string, dflt: string): string {
    const v = this.value(field, dflt);
    if (typeof v !== 'string') this.wrong(field, v, 'a string');
    return v as string;
  }
}

/**
 * RoPE inverse frequencies, length headDim/2, in float64. transformers computes these in float32;
 * the difference is below float32 rounding of the angles for any realistic position.
 */
export function ropeInvFreq(cfg: ModelConfig): Float64Array {
  const d = cfg.headDim;
  const inv = new Float64Array(d / 2);
  for (let i = 0; i < d / 2; i++) inv[i] = 1 / Math.pow(cfg.ropeTheta, (2 * i) / d);
  const s = cfg.ropeScaling;
  if (s.type === 'default') return inv;

  // transformers' _compute_llama3_parameters: long wavelengths (low frequencies) are divided by
  // `factor`, short ones kept, and the band between is interpolated smoothly.
  const lowFreqWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highFreqWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  for (let i = 0; i < inv.length; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen > lowFreqWavelen) inv[i] = inv[i] / s.factor;
    else if (wavelen >= highFreqWavelen) {
      const smooth =
        (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) /
        (s.highFreqFactor - s.lowFreqFactor);
      inv[i] = ((1 - smooth) * inv[i]) / s.factor + smooth * inv[i];
    }
  }
  return inv;
}
