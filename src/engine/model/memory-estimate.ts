// Will a checkpoint fit? An estimate made from config.json alone, before any weight is read, so a
// model too large for the memory left stops with what it needs and which quantization would fit,
// instead of the machine swapping or the process being killed half-way through a load.
import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { fail } from '../../core/errors.js';
import type { ModelConfig } from './config.js';
import { DEFAULT_QUANT_BLOCK_SIZE, QUANTIZE_KINDS, quantBits, type Quantize } from './quantize.js';

/**
 * Resident memory per byte of weights as computed, when generating: measured 1.35x for a 2.2 GB
 * float32 checkpoint and 1.5x for a 0.5B bf16 one (bench/RESULTS.md), onnxruntime's own copies
 * of folded and prepacked weights included.
 */
const RESIDENT_PER_WEIGHT_BYTE = 1.5;
/** The runtime itself (Node, onnxruntime, the tokenizer) before any weight: ~0.25 GB. */
const BASELINE_BYTES = 256 * 2 ** 20;

/** The model's tensors by kind: linear-layer weights (lm_head included), embedding, norms. */
function parameterParts(c: ModelConfig): { linear: number; embed: number; norms: number } {
  const perLayerLinear =
    c.hiddenSize * (c.numAttentionHeads + 2 * c.numKeyValueHeads) * c.headDim +
    c.numAttentionHeads * c.headDim * c.hiddenSize +
    3 * c.hiddenSize * c.intermediateSize;
  return {
    linear: c.numHiddenLayers * perLayerLinear + c.vocabSize * c.hiddenSize,
    embed: c.vocabSize * c.hiddenSize,
    norms: (2 * c.numHiddenLayers + 1) * c.hiddenSize,
  };
}

/** Parameters of the model (a tied lm_head is the embedding, counted once). */
export function parameterCount(c: ModelConfig): number {
  const { linear, embed, norms } = parameterParts(c);
  return linear + embed + norms - (c.tieWordEmbeddings ? embed : 0);
}

/** Bytes of the weights as the engine computes with them (float32, or packed int8/int4). */
export function weightBytes(
  c: ModelConfig,
  quantize?: Quantize,
  blockSize = DEFAULT_QUANT_BLOCK_SIZE,
): number {
  if (!quantize) return 4 * parameterCount(c);
  // lm_head is a linear layer of its own here: a tied one gets its own packed copy
  const { linear, embed, norms } = parameterParts(c);
  const packed = linear * (quantBits(quantize) / 8 + 4 / blockSize); // + one float scale per block
  return 4 * (embed + norms) + packed;
}

/** Resident bytes to generate with the model (an estimate; see RESIDENT_PER_WEIGHT_BYTE). */
export function generationBytes(c: ModelConfig, quantize?: Quantize, blockSize?: number): number {
  return BASELINE_BYTES + RESIDENT_PER_WEIGHT_BYTE * weightBytes(c, quantize, blockSize);
}

/** Memory the system could give this process now: MemAvailable on Linux, free memory elsewhere. */
export function availableBytes(): number {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return freemem();
}

const gb = (b: number) => `${(b / 2 ** 30).toFixed(1)} GB`;

/**
 * Refuse a model whose estimated generation memory exceeds what is available, saying how much
 * it needs and which `quantize` would fit. RLAIF_MEMORY_CHECK=off skips it (a machine with swap).
 */
export function checkMemory(
  c: ModelConfig,
  where: string,
  o: { quantize?: Quantize; blockSize?: number; available?: number } = {},
): void {
  if (process.env.RLAIF_MEMORY_CHECK === 'off') return;
  const need = generationBytes(c, o.quantize, o.blockSize);
  const have = o.available ?? availableBytes();
  if (need <= have) return;
  const options = QUANTIZE_KINDS.filter((q) => q !== o.quantize)
    .map((q) => ({ q, bytes: generationBytes(c, q, o.blockSize) }))
    .filter(({ q }) => !o.quantize || quantBits(q) < quantBits(o.quantize));
  const fits = options.filter(({ bytes }) => bytes <= have);
  fail(
    'E_MODEL_MEMORY',
    `${where} needs about ${gb(need)} to generate ${o.quantize ? `with ${o.quantize} weights` : 'in float32'} ` +
      `(${gb(weightBytes(c, o.quantize, o.blockSize))} of weights as computed), but ${gb(have)} is available`,
    fits.length
      ? `quantize its weights: ${fits.map(({ q, bytes }) => `quantize: ${q} needs about ${gb(bytes)}`).join(', ')} (model.quantize, or --quantize); or free memory`
      : `${options.map(({ q, bytes }) => `${q} would need about ${gb(bytes)}`).join(', ') || 'no quantization is smaller'}: use a machine with more memory or a smaller model (RLAIF_MEMORY_CHECK=off skips this check)`,
  );
}
