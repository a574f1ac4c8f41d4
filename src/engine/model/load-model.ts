import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { relative, resolve } from 'node:path';
import { endianness } from 'node:os';
import { fail } from '../../core/errors.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import { BUILTIN_SANDBOX, sandboxModelDir } from './builtin-sandbox.js';
import { BUILTIN_TINY, ensureBuiltinTiny } from './builtin-tiny.js';
import { openCheckpointWeights, type WeightSource } from './checkpoint.js';
import { checkMemory } from './memory-estimate.js';
import { loadModelConfig, type ModelConfig } from './config.js';
import { checkpointIdentity, openFloat32Copy, type Float32Copy } from './float32-copy.js';
import { openQuantized, type Quantize, type QuantizedWeights } from './quantize.js';
import { checkWeights } from './tensor-layout.js';
import type { WeightTable } from './inference-graphs.js';
import { loadLoraAdapter, mergeLora, type LoraAdapter } from './peft-adapter.js';

export interface LoadedModel {
  /** What the user asked for (`builtin:tiny` or a folder). */
  ref: string;
  dir: string;
  config: ModelConfig;
  tokenizer: Tokenizer;
  /** Float32 weights by checkpoint key, with the adapter (if any) merged into its Linear layers. */
  weights: WeightTable;
  adapter?: LoraAdapter;
  /**
   * With `quantize`: the Linear layers quantized (adapter merged first), cached on disk; inference
   * graphs bind weights from it (quantizedBinder) instead of `weights`.
   */
  quantized?: QuantizedWeights;
  close(): void;
}

export interface LoadModelOptions {
  adapter?: string;
  /** Weight-only quantization of the Linear layers, for inference (quantize.ts). */
  quantize?: Quantize;
  /** Its block size along K (default 32). */
  quantizeBlockSize?: number;
}

/** Resolve `builtin:tiny` (created on first use), `builtin:sandbox` (shipped) or a Hugging Face model folder. */
export function resolveModelDir(ref: string): string {
  if (ref === BUILTIN_TINY) return ensureBuiltinTiny();
  if (ref === BUILTIN_SANDBOX) return sandboxModelDir();
  if (ref.startsWith('builtin:'))
    fail(
      'E_MODEL_NOT_FOUND',
      `unknown builtin model '${ref}'`,
      `the embedded models are ${BUILTIN_SANDBOX} and ${BUILTIN_TINY}`,
    );
  const dir = resolve(ref);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    fail(
      'E_MODEL_NOT_FOUND',
      `model folder not found: ${ref}`,
      `pass a Hugging Face model folder, ${BUILTIN_TINY}, or download one with \`pipeline pull <repo-id>\``,
    );
  return dir;
}

/** Load config, tokenizer and (lazily read) weights; verifies every tensor the model needs up front. */
export function loadModel(ref: string, opts: LoadModelOptions = {}): LoadedModel {
  const dir = resolveModelDir(ref);
  const config = loadModelConfig(dir);
  // before any weight is read: a model that cannot fit says so, and what would
  checkMemory(config, `model ${ref}`, {
    quantize: opts.quantize,
    blockSize: opts.quantizeBlockSize,
  });
  const tokenizer = Tokenizer.fromDir(dir);
  const source: WeightSource = openCheckpointWeights(dir);
  try {
    checkWeights(config, source, dir);
  } catch (e) {
    source.close();
    throw e;
  }
  const adapter = opts.adapter ? loadLoraAdapter(resolve(opts.adapter)) : undefined;
  if (adapter) {
    for (const [module, m] of adapter.modules) {
      const key = `${module}.weight`;
      if (!source.has(key))
        fail(
          'E_ADAPTER_MISMATCH',
          `adapter ${adapter.dir} targets ${module}, which the model in ${dir} does not have`,
          'load the adapter with the base model it was trained on',
        );
      const [out, inF] = source.info(key).shape;
      if (m.bDims[0] !== out || m.aDims[1] !== inF)
        fail(
          'E_ADAPTER_MISMATCH',
          `adapter ${adapter.dir}: ${module} is [${m.bDims[0]}, ${m.aDims[1]}] but the model's weight is [${out}, ${inF}]`,
          'load the adapter with the base model it was trained on',
        );
    }
  }
  let f32: Float32Copy | undefined;
  let allF32: boolean | undefined;
  const weights: WeightTable = {
    get(key: string) {
      const dims = source.info(key).shape;
      const data = source.float32(key);
      const mod = adapter?.modules.get(key.replace(/\.weight$/, ''));
      if (!mod || !adapter) return { dims, data };
      return {
        dims,
        data: mergeLora(data, dims[0], dims[1], mod, adapter.config.r, adapter.config.scale),
      };
    },
    // A float32 tensor the adapter leaves alone is mapped by the session from the checkpoint file
    // itself (ONNX external data), not copied into every graph that uses it.
    external(key: string) {
      if (
        adapter?.modules.has(key.replace(/\.weight$/, '')) ||
        endianness() !== 'LE' ||
        process.env.RLAIF_INLINE_WEIGHTS === '1' // benchmarks compare against the old copies
      )
        return undefined;
      let info = source.info(key);
      let root = dir;
      // Other dtypes are mapped from a float32 copy of the whole checkpoint, converted once into
      // the cache (float32-copy.ts): one folder, because a session reads externals from one.
      allF32 ??= source.names().every((n) => source.info(n).dtype === 'F32');
      if (!allF32) {
        f32 ??= openFloat32Copy(dir, source);
        info = f32.file.info(key);
        root = f32.dir;
      }
      return {
        dims: info.shape,
        external: {
          dir: root,
          file: relative(root, info.file),
          offset: info.byteOffset,
          length: info.byteLength,
        },
      };
    },
  };
  let quantized: QuantizedWeights | undefined;
  if (opts.quantize) {
    // Keyed by the checkpoint files' identity and the adapter's bytes (small): a changed
    // checkpoint or adapter gets its own quantized copy.
    const adapterHash = adapter
      ? createHash('sha256')
          .update(readFileSync(join(adapter.dir, 'adapter_config.json')))
          .update(readFileSync(join(adapter.dir, 'adapter_model.safetensors')))
          .digest('hex')
      : null;
    const identity = { dir, ...checkpointIdentity(dir, source), adapter: adapterHash };
    try {
      quantized = openQuantized(
        config,
        source,
        weights,
        identity,
        opts.quantize,
        opts.quantizeBlockSize,
      );
    } catch (e) {
      source.close();
      throw e;
    }
  }
  return {
    ref,
    dir,
    config,
    tokenizer,
    weights,
    adapter,
    quantized,
    close: () => {
      source.close();
      f32?.file.close();
      quantized?.close();
    },
  };
}
