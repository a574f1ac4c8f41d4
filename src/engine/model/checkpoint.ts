// The weights of a Hugging Face model folder, whether stored in one model.safetensors or sharded
// (model.safetensors.index.json mapping each tensor to a shard file). Callers see one flat set
// of tensor names and never care which file holds which.

import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fail } from '../../core/errors.js';
import { SafetensorsFile, type TensorInfo } from './safetensors.js';

export interface WeightSource {
  names(): string[];
  has(name: string): boolean;
  info(name: string): TensorInfo;
  float32(name: string): Float32Array;
  close(): void;
}

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';
const MAX_INDEX_BYTES = 100_000_000;

/**
 * Opens the weights of a model folder. Like transformers, a single model.safetensors wins over an
 * index when both exist. Shard headers are read (and validated) up front; tensor data is read
 * only when asked for.
 */
export function openCheckpointWeights(dir: string): WeightSource {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    fail(
      'E_CHECKPOINT_NOT_FOUND',
      `model folder not found: ${dir}`,
      'pass a Hugging Face model folder (config.json + *.safetensors)',
    );
  const single = join(dir, SINGLE_FILE);
  if (existsSync(single)) return new SingleFileWeights(SafetensorsFile.open(single));
  const index = join(dir, INDEX_FILE);
  if (existsSync(index)) return ShardedWeights.open(dir, index);

  const present = readdirSync(dir);
  const legacy = present.filter((f) => /\.(bin|pt|pth|ckpt|gguf)$/.test(f));
  const otherSafetensors = present.filter((f) => f.endsWith('.safetensors'));
  let hint = `expected ${SINGLE_FILE} or ${INDEX_FILE} (with its shards) in the folder`;
  if (legacy.length)
    hint =
      `found ${legacy.join(', ')}, which is not safetensors; convert it, e.g. in Python: ` +
      'AutoModelForCausalLM.from_pretrained(dir).save_pretrained(out, safe_serialization=True)';
  else if (otherSafetensors.length)
    hint = `found ${otherSafetensors.join(', ')} but no ${SINGLE_FILE} or ${INDEX_FILE}; rename the file or add the index`;
  return fail('E_CHECKPOINT_NOT_FOUND', `no safetensors weights in ${dir}`, hint);
}

function missingTensor(name: string, where: string): never {
  return fail(
    'E_CHECKPOINT_TENSOR_NOT_FOUND',
    `tensor '${name}' is not in the checkpoint ${where}`,
    'check that the checkpoint matches the model (a LlamaForCausalLM checkpoint names tensors model.layers.N...)',
  );
}

class SingleFileWeights implements WeightSource {
  constructor(private readonly file: SafetensorsFile) {}

  names(): string[] {
    return this.file.names();
  }

  has(name: string): boolean {
    return this.file.has(name);
  }

  info(name: string): TensorInfo {
    if (!this.file.has(name)) missingTensor(name, this.file.path);
    return this.file.info(name);
  }

  float32(name: string): Float32Array {
    if (!this.file.has(name)) missingTensor(name, this.file.path);
    return this.file.readFloat32(name);
  }

  close(): void {
    this.file.close();
  }
}

class ShardedWeights implements WeightSource {
  private constructor(
    private readonly indexPath: string,
    private readonly weightMap: Map<string, SafetensorsFile>,
    private readonly shards: SafetensorsFile[],
  ) {}

  static open(dir: string, indexPath: string): ShardedWeights {
    const bad = (what: string): never =>
      fail(
        'E_CHECKPOINT_INDEX',
        `${indexPath}: ${what}`,
        'the index must be {"metadata": {...}, "weight_map": {"tensor name": "shard file name", ...}}; ' +
          'download or export the checkpoint again',
      );
    // Real indexes are well under a megabyte; refuse to slurp something absurd.
    const size = statSync(indexPath).size;
    if (size > MAX_INDEX_BYTES)
      bad(`the index is ${size} bytes, above the ${MAX_INDEX_BYTES}-byte limit`);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(indexPath, 'utf8'));
    } catch (e) {
      return bad(`not valid JSON (${(e as Error).message})`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      return bad('not a JSON object');
    const weightMap = (json as Record<string, unknown>).weight_map;
    if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap))
      return bad('weight_map is missing or not an object');

    const root = resolve(dir);
    const entries = Object.entries(weightMap as Record<string, unknown>);
    const shardNames = new Set<string>();
    for (const [tensor, file] of entries) {
      if (typeof file !== 'string' || file === '')
        bad(`weight_map['${tensor}'] is ${JSON.stringify(file)}, not a file name`);
      // A hostile index must not make us open files outside the model folder.
      const rel = relative(root, resolve(root, file as string));
      if (rel === '' || rel.startsWith('..') || isAbsolute(rel))
        bad(`weight_map['${tensor}'] points outside the model folder: ${JSON.stringify(file)}`);
      shardNames.add(file as string);
    }

    const shards = new Map<string, SafetensorsFile>();
    try {
      for (const shard of [...shardNames].sort()) {
        const p = join(dir, shard);
        if (!existsSync(p))
          fail(
            'E_CHECKPOINT_SHARD_MISSING',
            `shard ${shard} listed in ${indexPath} is missing (${p})`,
            'the download is incomplete; fetch every model-*-of-*.safetensors file again',
          );
        shards.set(shard, SafetensorsFile.open(p));
      }
      const map = new Map<string, SafetensorsFile>();
      for (const [tensor, shard] of entries) {
        const f = shards.get(shard as string)!;
        if (!f.has(tensor))
          fail(
            'E_CHECKPOINT_INDEX',
            `${indexPath} says tensor '${tensor}' is in ${shard}, but ${f.path} does not hold it`,
            'the index and the shards come from different exports; download the checkpoint again',
          );
        map.set(tensor, f);
      }
      return new ShardedWeights(indexPath, map, [...shards.values()]);
    } catch (e) {
      for (const f of shards.values()) f.close();
      throw e;
    }
  }

  names(): string[] {
    return [...this.weightMap.keys()].sort();
  }

  has(name: string): boolean {
    return this.weightMap.has(name);
  }

  info(name: string): TensorInfo {
    return this.shard(name).info(name);
  }

  float32(name: string): Float32Array {
    return this.shard(name).readFloat32(name);
  }

  close(): void {
    for (const f of this.shards) f.close();
  }

  private shard(name: string): SafetensorsFile {
    return this.weightMap.get(name) ?? missingTensor(name, this.indexPath);
  }
}
