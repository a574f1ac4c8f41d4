// Weight-only block-wise quantization of the Linear layers for inference (generation, scoring,
// judging), run by onnxruntime's contrib op MatMulNBits (domain com.microsoft).
//
// Layout (onnxruntime docs/ContribOperators.md, checked against onnxruntime-node 1.30's CPU EP by
// test/engine/quantize.test.ts): a torch Linear weight W [N = out, K = in] is already MatMulNBits'
// B orientation (N rows of K), so no transpose. Each row is cut into ceil(K / block) blocks along
// K; block j of row n has one float scale, scales[n * nBlocks + j]. Its values are stored as
// unsigned `bits`-bit integers q, W ≈ (q − zero) · scale, in B [N, nBlocks, blob] with blob =
// block · bits / 8 bytes: 8 bits one per byte, 4 bits two per byte, the even index in the low
// nibble. Without a zero_points input the zero is 2^(bits−1) (8 for int4, 128 for int8): the
// symmetric scheme used here. K that is not a multiple of the block is padded in the last blob
// (with the zero, which dequantizes to 0).
//
// Scale: the value of largest magnitude m in a block maps to −2^(bits−1) exactly (scale =
// m / −2^(bits−1)), as onnxruntime's own quantizer (MlasQuantizeBlockwise) does: the block's
// range is then [−8, 7]·|scale| toward m's side and loses at most one step on the other side,
// instead of wasting half a step on both. (A per-block search over shrunk scales, clipping the
// largest weights, lowered the weights' squared error by ~4% at int4 but not the 135M benchmark's
// log-prob error: 0.137 vs 0.093 mean |Δ log-prob| on one sequence. Not kept.)
//
// Which layers: q/k/v/o and gate/up/down of every decoder layer, and lm_head. A tied lm_head is
// the embedding matrix, which the embedding Gather reads in float32: it gets its own packed copy
// (+14 MB int4 / +28 MB int8 at SmolLM2-135M's 49152 × 576) because a decode step reads all of
// lm_head: left float32 it was 113 of the 180 MB an int4 step reads. Embeddings, norms and biases
// stay float32.
//
// The quantized model is made once per (checkpoint, adapter, kind, block size) and cached under
// $RLAIF_CACHE_DIR/<kind>-b<block>/<key>/ as one safetensors file holding every tensor the graphs
// read (quantized ones as `<key>.qweight` U8 + `<key>.scales` F32, the rest float32), so a session
// maps all of them from one folder (ONNX external data). The file is verified by sha256 on every
// open and made again when it fails; it is written to a temporary folder renamed into place.
import { createHash } from 'node:crypto';
import { cacheFileIntact, fileSha256 } from './cache-file.js';
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../../core/errors.js';
import type { GraphBuilder, V } from '../graph/builder.js';
import { cacheRoot } from './builtin-tiny.js';
import type { WeightSource } from './checkpoint.js';
import type { ModelConfig } from './config.js';
import type { WeightTable } from './inference-graphs.js';
import type { WeightBinder } from './llama-graph.js';
import { SafetensorsFile } from './safetensors.js';
import { writeSafetensors, type TensorToWrite } from './safetensors-write.js';

export const QUANTIZE_KINDS = ['int8', 'int4'] as const;
export type Quantize = (typeof QUANTIZE_KINDS)[number];
/** Block sizes MatMulNBits accepts (a power of two ≥ 16) that are worth offering. */
export const QUANT_BLOCK_SIZES = [16, 32, 64, 128] as const;
export const DEFAULT_QUANT_BLOCK_SIZE = 32;

/**
 * Part of the cache key: bump it whenever the cached file's layout or the quantizer's arithmetic
 * changes, so an old copy is never read as a new one.
 */
const FORMAT_VERSION = 2;
const FILE = 'model.safetensors';
const META_FILE = 'quantized.json';

export const quantBits = (q: Quantize): 4 | 8 => (q === 'int4' ? 4 : 8);

/** One Linear weight in MatMulNBits' layout. */
export interface PackedWeight {
  bits: 4 | 8;
  blockSize: number;
  /** Rows (out features). */
  n: number;
  /** Columns (in features), before padding to a block multiple. */
  k: number;
  nBlocks: number;
  /** Bytes per block: blockSize · bits / 8. */
  blobSize: number;
  /** uint8 [n, nBlocks, blobSize] */
  packed: Uint8Array;
  /** float32 [n · nBlocks] */
  scales: Float32Array;
}

export function checkQuantize(kind: unknown, blockSize: unknown): void {
  if (!QUANTIZE_KINDS.includes(kind as Quantize))
    fail(
      'E_QUANTIZE',
      `unsupported quantize value ${JSON.stringify(kind)}`,
      `use one of: ${QUANTIZE_KINDS.join(', ')}`,
    );
  if (!QUANT_BLOCK_SIZES.includes(blockSize as 32))
    fail(
      'E_QUANTIZE',
      `unsupported quantization block size ${JSON.stringify(blockSize)}`,
      `use one of: ${QUANT_BLOCK_SIZES.join(', ')}`,
    );
}

/**
 * Each block's scale for W [n, k] (float32 [n · nBlocks]): the value of largest magnitude over
 * −2^(bits−1). Math.fround: the quantizer divides by the float32 scale the kernel multiplies by.
 */
export function blockScales(
  w: Float32Array,
  n: number,
  k: number,
  bits: 4 | 8,
  blockSize: number,
): Float32Array {
  const nBlocks = Math.ceil(k / blockSize);
  const scales = new Float32Array(n * nBlocks);
  const zero = 1 << (bits - 1);
  for (let r = 0; r < n; r++)
    for (let j = 0; j < nBlocks; j++) {
      const from = r * k + j * blockSize;
      const to = r * k + Math.min(k, (j + 1) * blockSize);
      let m = 0;
      for (let i = from; i < to; i++) if (Math.abs(w[i]) > Math.abs(m)) m = w[i];
      scales[r * nBlocks + j] = Math.fround(m / -zero);
    }
  return scales;
}

/** Symmetric block-wise quantization of W [n, k] (row-major, torch Linear layout). */
export function quantizeWeight(
  w: Float32Array,
  n: number,
  k: number,
  bits: 4 | 8,
  blockSize: number,
): PackedWeight {
  const nBlocks = Math.ceil(k / blockSize);
  const blobSize = (blockSize * bits) / 8;
  const packed = new Uint8Array(n * nBlocks * blobSize);
  const scales = blockScales(w, n, k, bits, blockSize);
  const zero = 1 << (bits - 1);
  const qmax = (1 << bits) - 1;
  for (let r = 0; r < n; r++) {
    const row = r * k;
    for (let j = 0; j < nBlocks; j++) {
      const from = j * blockSize;
      const to = Math.min(k, from + blockSize);
      const scale = scales[r * nBlocks + j];
      const inv = scale === 0 ? 0 : 1 / scale;
      const blob = (r * nBlocks + j) * blobSize;
      for (let i = 0; i < blockSize; i++) {
        let q = zero;
        if (from + i < to) {
          q = Math.round(w[row + from + i] * inv) + zero;
          q = q < 0 ? 0 : q > qmax ? qmax : q;
        }
        if (bits === 8) packed[blob + i] = q;
        else packed[blob + (i >> 1)] |= q << ((i & 1) * 4);
      }
    }
  }
  return { bits, blockSize, n, k, nBlocks, blobSize, packed, scales };
}

/** W ≈ (q − zero) · scale [n, k]: what MatMulNBits multiplies by (test reference). */
export function dequantizeWeight(p: PackedWeight): Float32Array {
  const out = new Float32Array(p.n * p.k);
  const zero = 1 << (p.bits - 1);
  for (let r = 0; r < p.n; r++)
    for (let j = 0; j < p.nBlocks; j++) {
      const scale = p.scales[r * p.nBlocks + j];
      const blob = (r * p.nBlocks + j) * p.blobSize;
      for (let i = 0; i < p.blockSize && j * p.blockSize + i < p.k; i++) {
        const q =
          p.bits === 8 ? p.packed[blob + i] : (p.packed[blob + (i >> 1)] >> ((i & 1) * 4)) & 15;
        out[r * p.k + j * p.blockSize + i] = (q - zero) * scale;
      }
    }
  return out;
}

/**
 * MatMulNBits' accuracy_level: 4 computes with the activations quantized to int8 per block
 * (MLAS's CompInt8 kernels). On onnxruntime-node 1.30's CPU EP, bits = 8 has no fast float32
 * kernel: a 1024×1024 matmul at M = 1 took 2.4 ms at level 0 (float32 compute) and 0.037 ms at
 * level 4; bits = 4 took 0.10 vs 0.05 ms. The accuracy this costs is in what bench:quantize
 * prints. RLAIF_MATMULNBITS_ACCURACY (0-4) overrides it when comparing.
 */
function accuracyLevel(): number {
  const v = Number(process.env.RLAIF_MATMULNBITS_ACCURACY);
  return Number.isInteger(v) && v >= 0 && v <= 4 && process.env.RLAIF_MATMULNBITS_ACCURACY ? v : 4;
}

/** y = x Wᵀ with W given packed (x [..., k] → [..., n]); `level`: accuracy_level (default 4). */
export function matMulNBits(
  b: GraphBuilder,
  x: V,
  qweight: V,
  scales: V,
  p: PackedLayout,
  level = accuracyLevel(),
): V {
  return b.contribOp(
    'MatMulNBits',
    [x, qweight, scales],
    {
      K: p.k,
      N: p.n,
      bits: p.bits,
      block_size: p.blockSize,
      accuracy_level: level,
    },
    'MatMulNBits',
  );
}

export type PackedLayout = Pick<PackedWeight, 'bits' | 'blockSize' | 'n' | 'k'>;

/**
 * The weights quantized, by the name the graph asks for → the checkpoint tensor they come from
 * (see the top of this file for why these). A tied lm_head gets its own packed copy of the
 * embedding matrix, which itself stays float32 for the embedding Gather.
 */
export function quantizedKeys(cfg: ModelConfig): Map<string, string> {
  const keys = new Map<string, string>();
  for (let l = 0; l < cfg.numHiddenLayers; l++) {
    const p = `model.layers.${l}`;
    for (const m of ['q_proj', 'k_proj', 'v_proj', 'o_proj'])
      keys.set(`${p}.self_attn.${m}.weight`, `${p}.self_attn.${m}.weight`);
    for (const m of ['gate_proj', 'up_proj', 'down_proj'])
      keys.set(`${p}.mlp.${m}.weight`, `${p}.mlp.${m}.weight`);
  }
  keys.set(
    'lm_head.weight',
    cfg.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight',
  );
  return keys;
}

/** A quantized model in the cache, mapped by sessions from `dir`. */
export interface QuantizedWeights {
  kind: Quantize;
  blockSize: number;
  dir: string;
  file: SafetensorsFile;
  /** Quantized checkpoint keys and their layouts. */
  layouts: Map<string, PackedLayout>;
  /** True when this open made (or remade) the file rather than reusing it. */
  built: boolean;
  close(): void;
}

interface Meta {
  version: number;
  kind: Quantize;
  blockSize: number;
  identity: unknown;
  bytes: number;
  sha256: string;
}

/**
 * The quantized copy of a model's weights (made now if missing or failing its hash). `identity`
 * names the float weights' content (checkpoint files, adapter files): the cache key is its hash.
 */
export function openQuantized(
  cfg: ModelConfig,
  source: WeightSource,
  weights: WeightTable,
  identity: unknown,
  kind: Quantize,
  blockSize = DEFAULT_QUANT_BLOCK_SIZE,
): QuantizedWeights {
  checkQuantize(kind, blockSize);
  const key = createHash('sha256')
    .update(JSON.stringify({ v: FORMAT_VERSION, identity }))
    .digest('hex')
    .slice(0, 32);
  const out = join(cacheRoot(), `${kind}-b${blockSize}`, key);
  const bits = quantBits(kind);
  const qkeys = new Map([...quantizedKeys(cfg)].filter(([, from]) => source.has(from)));
  let built = false;
  if (!cacheFileIntact<Meta>(out, FILE, META_FILE, (m) => m.version === FORMAT_VERSION)) {
    rmSync(out, { recursive: true, force: true });
    build(source, weights, out, { kind, blockSize, bits, qkeys, identity });
    built = true;
  }
  const file = SafetensorsFile.open(join(out, FILE));
  const layouts = new Map<string, PackedLayout>();
  for (const [name, from] of qkeys) {
    const [n, k] = source.info(from).shape;
    layouts.set(name, { bits, blockSize, n, k });
  }
  return { kind, blockSize, dir: out, file, layouts, built, close: () => file.close() };
}

function build(
  source: WeightSource,
  weights: WeightTable,
  out: string,
  o: {
    kind: Quantize;
    blockSize: number;
    bits: 4 | 8;
    qkeys: Map<string, string>;
    identity: unknown;
  },
): void {
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const tensors: Record<string, TensorToWrite> = {};
    // The writer asks for each tensor's data once, in its own order (F32 before U8): the scales
    // are computed alone (a max per block), the packed weight later from the float weight again.
    for (const [name, from] of o.qkeys) {
      const [n, k] = source.info(from).shape;
      const nBlocks = Math.ceil(k / o.blockSize);
      tensors[`${name}.qweight`] = {
        dtype: 'U8',
        shape: [n, nBlocks, (o.blockSize * o.bits) / 8],
        data: () => quantizeWeight(weights.get(from).data, n, k, o.bits, o.blockSize).packed,
      };
      tensors[`${name}.scales`] = {
        dtype: 'F32',
        shape: [n * nBlocks],
        data: () => blockScales(weights.get(from).data, n, k, o.bits, o.blockSize),
      };
    }
    // Everything else (embeddings, norms, biases) float32, so one folder holds all a graph maps.
    for (const name of source.names())
      if (!o.qkeys.has(name))
        tensors[name] = {
          dtype: 'F32',
          shape: source.info(name).shape,
          data: () => weights.get(name).data,
        };
    writeSafetensors(join(tmp, FILE), tensors, { quantize: o.kind, block_size: `${o.blockSize}` });
    const path = join(tmp, FILE);
    const meta: Meta = {
      version: FORMAT_VERSION,
      kind: o.kind,
      blockSize: o.blockSize,
      identity: o.identity,
      bytes: statSync(path).size,
      sha256: fileSha256(path),
    };
    writeFileSync(join(tmp, META_FILE), JSON.stringify(meta, null, 2) + '\n');
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (cacheFileIntact<Meta>(out, FILE, META_FILE, (m) => m.version === FORMAT_VERSION)) return; // another process made the same copy first
    fail(
      'E_QUANTIZE_CACHE',
      `cannot write the ${o.kind} weights to ${out}: ${(e as Error).message}`,
      'it needs free space in the cache folder (RLAIF_CACHE_DIR): about the float32 embeddings plus 1/4 (int8) or 1/8 (int4) of the other float32 weights',
      e,
    );
  }
}

/**
 * Binds a model's weights from its quantized copy: quantized Linear layers become MatMulNBits
 * (plus their bias, float32), every other tensor is mapped float32 from the same file.
 */
export function quantizedBinder(q: QuantizedWeights): WeightBinder {
  const external = (b: GraphBuilder, name: string, elemType: 'float32' | 'uint8'): V => {
    if (b.initializers.has(name)) return name;
    const info = q.file.info(name);
    return b.externalInitializer(name, elemType, info.shape, {
      dir: q.dir,
      file: FILE,
      offset: info.byteOffset,
      length: info.byteLength,
    });
  };
  const packedLinear = (b: GraphBuilder, x: V, key: string): V | undefined => {
    const layout = q.layouts.get(key);
    if (!layout) return undefined;
    return matMulNBits(
      b,
      x,
      external(b, `${key}.qweight`, 'uint8'),
      external(b, `${key}.scales`, 'float32'),
      layout,
    );
  };
  return {
    weight: (b, key) => external(b, key, 'float32'),
    linear(b, x, module) {
      const y = packedLinear(b, x, `${module}.weight`);
      if (y === undefined) return undefined;
      const bias = `${module}.bias`;
      return q.file.has(bias) ? b.add(y, external(b, bias, 'float32')) : y;
    },
    lmHead: (b, hidden) => packedLinear(b, hidden, 'lm_head.weight'),
  };
}
