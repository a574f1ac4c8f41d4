import type { GraphBuilder, V } from '../graph/builder.js';
import type { ModelConfig } from './config.js';
import { ropeInvFreq } from './config.js';

/**
 * Supplies a weight by checkpoint key as a graph value. Inference puts frozen weights in
 * initializers; training (Engine II) may return graph inputs instead, or wrap a Linear with LoRA.
 */
export interface WeightBinder {
  /** The tensor named `key` (checkpoint name, e.g. `model.layers.0.self_attn.q_proj.weight`). */
  weight(b: GraphBuilder, key: string): V;
  /**
   * Optional override of a Linear layer y = x W^T + bias (e.g. to add a LoRA path). Returning
   * undefined keeps the plain layer. `module` is the checkpoint prefix (`model.layers.0.self_attn.q_proj`).
   */
  linear?(b: GraphBuilder, x: V, module: string, plain: () => V, hasBias?: boolean): V | undefined;
  /**
   * Optional override of lm_head (logits = hidden · Wᵀ with W = lm_head.weight, or the embedding
   * matrix when tied), e.g. quantized. Returning undefined keeps the plain MatMul.
   */
  lmHead?(b: GraphBuilder, hidden: V): V | undefined;
}

/** Transformers' torch.finfo(float32).min, the value masked attention scores are set to. */
const MASK_VALUE = -3.4028234663852886e38;

export interface LlamaForwardInputs {
  /** int64 [B, S] */
  inputIds: V;
  /** int64 [B, T] where T = past + S; 1 = attend, 0 = padding */
  attentionMask: V;
  /** int64 [B, S] absolute positions of the new tokens */
  positionIds: V;
  /** Per layer: past key/value [B, KV, P, D] (absent = no cache, P = 0). */
  past?: { key: V; value: V }[];
  /** Only compute the last position's logits (generation prefill/decode). */
  lastPositionOnly?: boolean;
  /**
   * int64 [N] indices into the B·S positions (row-major): compute logits only there, as [N, vocab].
   * Training asks for the positions that predict response tokens, which keeps the lm_head's
   * [B, S, vocab] tensors (and their gradients) out of memory.
   */
  logitPositions?: V;
  /**
   * Build each decoder layer as a checkpoint (GraphBuilder.checkpoint), so a training graph's
   * backward pass can recompute it rather than keep its activations (gradient checkpointing).
   */
  checkpointLayers?: boolean;
}

export interface LlamaForwardOutputs {
  /** float [B, S, vocab] ([B, 1, vocab] with lastPositionOnly, [N, vocab] with logitPositions) */
  logits: V;
  /** The final hidden states lm_head read (llamaHidden's `hidden`): what a value head reads too. */
  hidden: V;
  /** Per layer: key/value of the S new tokens [B, KV, S, D] (after RoPE), for the caller's cache. */
  newKeyValues: { key: V; value: V }[];
}

type Linear = (x: V, module: string, hasBias: boolean) => V;
type Norm = (x: V, module: string) => V;
type KeyValue = { key: V; value: V };

/** torch Linear y = x W^T + bias under the module's scope, unless the binder overrides it (LoRA). */
function linearLayer(b: GraphBuilder, w: WeightBinder): Linear {
  return (x, module, hasBias) =>
    b.scope(module.slice(module.lastIndexOf('.') + 1), () => {
      const plain = (): V => {
        // torch Linear stores W as [out, in]; ORT constant-folds this Transpose of an initializer.
        const wt = b.transpose(w.weight(b, `${module}.weight`), [1, 0]);
        const y = b.matMul(x, wt);
        return hasBias ? b.add(y, w.weight(b, `${module}.bias`)) : y;
      };
      return w.linear?.(b, x, module, plain, hasBias) ?? plain();
    });
}

// RMSNorm (transformers LlamaRMSNorm): weight * x / sqrt(mean(x^2) + eps)
function rmsNormLayer(b: GraphBuilder, cfg: ModelConfig, w: WeightBinder): Norm {
  return (x, module) =>
    b.scope(module.slice(module.lastIndexOf('.') + 1), () => {
      // Written as Pow/ReduceMean/Add/Sqrt/Div/Mul, the pattern onnxruntime fuses into one
      // SimplifiedLayerNormalization kernel in inference graphs (61 norms a step for SmolLM2:
      // 0.3-1 ms of a decode step); x·x and a Reciprocal leave it as six separate kernels.
      const variance = b.reduceMean(b.pow(x, b.constF(2)), [-1]); // [B, S, 1]
      const rms = b.sqrt(b.add(variance, b.constF(cfg.rmsNormEps))); // [B, S, 1]
      return b.mul(w.weight(b, `${module}.weight`), b.div(x, rms));
    });
}

/** Builds the RoPE tables now and returns the rotation to apply to each q/k [B, heads, S, D]. */
function rotary(b: GraphBuilder, cfg: ModelConfig, positionIds: V): (x: V) => V {
  const D = cfg.headDim;
  // RoPE tables cos/sin [B, 1, S, D] from the position ids, computed in float as transformers does.
  const { cos, sin } = b.scope('model/rotary_emb', () => {
    const invFreq = b.constF(Array.from(ropeInvFreq(cfg))); // [D/2]
    const pos = b.unsqueeze(b.cast(positionIds, b.float), [2]); // [B, S, 1]
    const freqs = b.mul(pos, invFreq); // [B, S, D/2]
    const emb = b.concat([freqs, freqs], -1); // [B, S, D]
    return { cos: b.unsqueeze(b.cos(emb), [1]), sin: b.unsqueeze(b.sin(emb), [1]) };
  });
  return (x) =>
    b.scope('rope', () => {
      // rotate_half(x) = concat(-x2, x1) with x1 = x[..., :D/2], x2 = x[..., D/2:]
      const x1 = b.slice(x, [0], [D / 2], [-1]);
      const x2 = b.slice(x, [D / 2], [D], [-1]);
      const rot = b.concat([b.neg(x2), x1], -1);
      return b.add(b.mul(x, cos), b.mul(rot, sin));
    });
}

/** Attention mask [B, 1, 1, S, T]: key j is visible to query i iff mask[j] = 1 and j <= past + i. */
function attentionMask(b: GraphBuilder, mask: V, seqLen: V, totalLen: V): V {
  return b.scope('model/attention_mask', () => {
    const zero = b.constI64(0);
    const one = b.constI64(1);
    const T = b.squeeze(totalLen, [0]);
    const S = b.squeeze(seqLen, [0]);
    const keyPos = b.range(zero, T, one); // [T]
    const queryPos = b.range(b.sub(T, S), T, one); // [S]
    const causal = b.lessOrEqual(b.unsqueeze(keyPos, [0]), b.unsqueeze(queryPos, [1])); // [S, T]
    const notPad = b.equal(mask, one); // [B, T]
    return b.and(b.unsqueeze(causal, [0, 1, 2]), b.unsqueeze(notPad, [1, 2, 3])); // [B,1,1,S,T]
  });
}

interface Attention {
  /** Over the S new tokens only. */
  attend(qh: V, kh: V, vh: V): V;
  /** Over a cache plus the new tokens. */
  attendWithCache(qh: V, kh: V, vh: V, past: KeyValue): V;
}

/** Scaled dot-product attention with GQA; the mask and scale constants are built now. */
function attention(
  b: GraphBuilder,
  cfg: ModelConfig,
  allowed: V,
  seqLen: V,
  totalLen: V,
): Attention {
  const NH = cfg.numAttentionHeads;
  const KV = cfg.numKeyValueHeads;
  const G = NH / KV;
  const D = cfg.headDim;
  const maskValue = b.constF(MASK_VALUE);
  const scaling = b.constF(1 / Math.sqrt(D));

  // Attention over the S new tokens only (training, scoring): GQA without copying K/V, the G
  // query heads sharing a KV head become extra rows of one matmul.
  const attend = (qh: V, kh: V, vh: V): V => {
    const qg = b.reshape(qh, [0, KV, -1, D]); // [B, KV, G*S, D]
    const scores = b.mul(b.matMul(qg, b.transpose(kh, [0, 1, 3, 2])), scaling); // [B,KV,G*S,S]
    const shape5 = b.concat([b.constI64([0, KV, G]), seqLen, totalLen], 0);
    const masked = b.where(allowed, b.reshape(scores, shape5), maskValue); // [B,KV,G,S,T]
    const shape4 = b.concat([b.constI64([0, KV, -1]), totalLen], 0);
    const probs = b.reshape(b.softmax(masked, -1), shape4); // [B, KV, G*S, T]
    return b.reshape(b.matMul(probs, vh), [0, NH, -1, D]); // [B, NH, S, D]
  };

  // Attention over a cache [B, KV, P, D] plus the new tokens (prefill and decode).
  // - Scores against the cached keys and the new keys are computed separately and joined along
  //   T: concatenating the cache itself would copy all of it every step (it was 10-20% of a
  //   batch-8 decode step).
  // - The G query heads of a KV head are a broadcast axis, so each product is an [S, D] x [D, P]
  //   matmul that streams the cache (with S = 1, MLAS's M = 1 kernels, no packing). As G*S rows of
  //   one matmul, as `attend` does, the cache was packed first: batch-8 steps took 1.4 ms longer.
  const attendWithCache = (qh: V, kh: V, vh: V, past: KeyValue): V => {
    const pastLen = b.shape(past.key, 2, 3); // [1]
    // The scaling goes on q (B·NH·S·D products) rather than the scores (B·NH·S·T); with D a
    // power of 4 (SmolLM2, Llama: 64) it is a power of two and the scores come out the same bits.
    const q5 = b.reshape(b.mul(qh, scaling), [0, KV, G, -1, D]); // [B, KV, G, S, D]
    const heads5 = (x: V): V => b.unsqueeze(x, [2]); // [B, KV, 1, *, D]
    const keysT5 = (k: V): V => b.transpose(heads5(k), [0, 1, 2, 4, 3]); // [B, KV, 1, D, *]
    const scores = b.concat([b.matMul(q5, keysT5(past.key)), b.matMul(q5, keysT5(kh))], -1);
    const masked = b.where(allowed, scores, maskValue); // [B, KV, G, S, T]
    const probs = b.softmax(masked, -1);
    const ctx = b.add(
      b.matMul(b.slice(probs, b.constI64([0]), pastLen, [-1]), heads5(past.value)),
      b.matMul(b.slice(probs, pastLen, totalLen, [-1]), heads5(vh)),
    ); // [B, KV, G, S, D]
    return b.reshape(ctx, [0, NH, -1, D]); // [B, NH, S, D]
  };
  return { attend, attendWithCache };
}

/** What every decoder layer uses; `newKeyValues` collects each layer's keys and values. */
interface LayerParts {
  b: GraphBuilder;
  cfg: ModelConfig;
  linear: Linear;
  rmsNorm: Norm;
  applyRope: (x: V) => V;
  attn: Attention;
  past?: KeyValue[];
  newKeyValues: KeyValue[];
}

/** Decoder layer l: h + attention(norm(h)), then h + SwiGLU MLP(norm(h)). */
function decoderLayer(parts: LayerParts, l: number, hIn: V): V {
  const { b, cfg, linear, rmsNorm, applyRope, attn } = parts;
  const NH = cfg.numAttentionHeads;
  const KV = cfg.numKeyValueHeads;
  const D = cfg.headDim;
  const p = `model.layers.${l}`;
  let h = hIn;
  const attnOut = b.scope(`model/layers.${l}`, () => {
    const x = rmsNorm(h, `${p}.input_layernorm`);
    return b.scope('self_attn', () => {
      const q = linear(x, `${p}.self_attn.q_proj`, cfg.attentionBias); // [B, S, NH*D]
      const k = linear(x, `${p}.self_attn.k_proj`, cfg.attentionBias); // [B, S, KV*D]
      const v = linear(x, `${p}.self_attn.v_proj`, cfg.attentionBias); // [B, S, KV*D]
      const qh = applyRope(b.transpose(b.reshape(q, [0, 0, NH, D]), [0, 2, 1, 3])); // [B,NH,S,D]
      const kh = applyRope(b.transpose(b.reshape(k, [0, 0, KV, D]), [0, 2, 1, 3])); // [B,KV,S,D]
      const vh = b.transpose(b.reshape(v, [0, 0, KV, D]), [0, 2, 1, 3]); // [B, KV, S, D]
      parts.newKeyValues.push({ key: kh, value: vh });
      const past = parts.past?.[l];
      const ctx = past ? attn.attendWithCache(qh, kh, vh, past) : attn.attend(qh, kh, vh); // [B,NH,S,D]
      const merged = b.reshape(b.transpose(ctx, [0, 2, 1, 3]), [0, 0, NH * D]); // [B, S, NH*D]
      return linear(merged, `${p}.self_attn.o_proj`, cfg.oProjBias); // [B, S, H]
    });
  });
  h = b.add(h, attnOut);
  const mlpOut = b.scope(`model/layers.${l}`, () => {
    const x = rmsNorm(h, `${p}.post_attention_layernorm`);
    return b.scope('mlp', () => {
      const gate = linear(x, `${p}.mlp.gate_proj`, cfg.mlpBias); // [B, S, I]
      const up = linear(x, `${p}.mlp.up_proj`, cfg.mlpBias); // [B, S, I]
      const act = b.mul(gate, b.sigmoid(gate)); // SiLU
      return linear(b.mul(act, up), `${p}.mlp.down_proj`, cfg.mlpBias); // [B, S, H]
    });
  });
  return b.add(h, mlpOut);
}

/** The decoder's final hidden states and each layer's new keys/values (llamaHidden). */
export interface LlamaHiddenOutputs {
  /**
   * float [B, S, H] after the final norm: what lm_head (or a classification head) reads
   * ([B, 1, H] with lastPositionOnly, [N, H] with logitPositions).
   */
  hidden: V;
  newKeyValues: { key: V; value: V }[];
}

/**
 * The decoder of LlamaModel / Qwen2Model / MistralModel as ONNX ops, following transformers'
 * modeling_llama.py (RMSNorm in float, rotate_half RoPE, GQA, SwiGLU), up to and including the
 * final norm. `logitPositions` / `lastPositionOnly` pick the positions whose hidden state is kept.
 */
export function llamaHidden(
  b: GraphBuilder,
  cfg: ModelConfig,
  w: WeightBinder,
  inp: LlamaForwardInputs,
): LlamaHiddenOutputs {
  const linear = linearLayer(b, w);
  const rmsNorm = rmsNormLayer(b, cfg, w);

  // Sizes from the inputs: S new tokens, T = past + S keys.
  const seqLen = b.shape(inp.inputIds, 1, 2); // [1]
  const totalLen = b.shape(inp.attentionMask, 1, 2); // [1]
  const applyRope = rotary(b, cfg, inp.positionIds);
  const allowed = attentionMask(b, inp.attentionMask, seqLen, totalLen);
  const attn = attention(b, cfg, allowed, seqLen, totalLen);

  let h = b.scope('model/embed_tokens', () =>
    b.gather(w.weight(b, 'model.embed_tokens.weight'), inp.inputIds),
  ); // [B, S, H]
  const parts: LayerParts = {
    b,
    cfg,
    linear,
    rmsNorm,
    applyRope,
    attn,
    past: inp.past,
    newKeyValues: [],
  };
  for (let l = 0; l < cfg.numHiddenLayers; l++) {
    const hIn = h;
    h = inp.checkpointLayers
      ? b.checkpoint(hIn, () => decoderLayer(parts, l, hIn))
      : decoderLayer(parts, l, hIn);
  }

  // The final norm is per position, so picking positions first gives the same rows for less work.
  if (inp.lastPositionOnly) h = b.slice(h, [-1], [Number.MAX_SAFE_INTEGER], [1]); // [B, 1, H]
  if (inp.logitPositions) {
    const positions = inp.logitPositions;
    h = b.scope('model/logit_positions', () =>
      b.gather(b.reshape(h, [-1, cfg.hiddenSize]), positions),
    ); // [N, H]
  }
  h = b.scope('model', () => rmsNorm(h, 'model.norm'));
  return { hidden: h, newKeyValues: parts.newKeyValues };
}

/**
 * The forward pass of LlamaForCausalLM / Qwen2ForCausalLM / MistralForCausalLM: llamaHidden, then
 * lm_head (the embedding matrix when tied).
 */
export function llamaForward(
  b: GraphBuilder,
  cfg: ModelConfig,
  w: WeightBinder,
  inp: LlamaForwardInputs,
): LlamaForwardOutputs {
  const { hidden, newKeyValues } = llamaHidden(b, cfg, w, inp);
  const logits = b.scope('lm_head', () => {
    const key = cfg.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
    const custom = w.lmHead?.(b, hidden);
    return custom ?? b.matMul(hidden, b.transpose(w.weight(b, key), [1, 0])); // [B, S, vocab]
  });
  return { logits, hidden, newKeyValues };
}
