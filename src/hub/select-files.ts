// Which files of a repository a pull takes: the side files the engine reads (config, tokenizer,
// chat template) and the safetensors weights, all from the top level. A sharded model names its
// shards in model.safetensors.index.json, so the index is fetched and read before the shards.

import { readFileSync } from 'node:fs';
import { fail } from '../core/errors.js';
import { MODEL_SIDE_FILES } from '../core/model-files.js';

/** Files besides the weights that the engine reads from a model folder. */
export const PULL_SIDE_FILES: readonly string[] = MODEL_SIDE_FILES;
export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

/** Which files of a repository listing to download (top-level files only). */
export function selectPullFiles(
  listing: readonly { path: string }[],
  indexShards?: readonly string[],
): { side: string[]; index?: string; weights: string[] } {
  const names = new Set(listing.map((f) => f.path));
  const side = PULL_SIDE_FILES.filter((f) => names.has(f));
  const all = [...names].filter((n) => /^[^/]+\.safetensors$/.test(n)).sort();
  if (names.has(SAFETENSORS_INDEX)) {
    return { side, index: SAFETENSORS_INDEX, weights: indexShards ? [...indexShards] : [] };
  }
  // Without an index the weights are one file; a lone model.safetensors wins over extra exports
  // (e.g. Mistral's consolidated.safetensors).
  const weights = names.has('model.safetensors') ? ['model.safetensors'] : all;
  return { side, weights };
}

/** Refuse, before anything is written, a repository the engine cannot load. */
export function checkPullable(
  listing: readonly { path: string }[],
  plan: { index?: string; weights: string[] },
  at: string,
): void {
  const names = new Set(listing.map((f) => f.path));
  if (!names.has('config.json'))
    fail(
      'E_PULL_NOT_A_MODEL',
      `${at} has no config.json` +
        (names.has('adapter_config.json') ? ': it is a PEFT adapter, not a full model' : ''),
      names.has('adapter_config.json')
        ? 'pull the base model named in its adapter_config.json, and load the adapter separately'
        : 'pick a Hugging Face transformers model repository (one with config.json and *.safetensors)',
    );
  if (!plan.index && plan.weights.length === 0) {
    const other = listing
      .map((f) => f.path)
      .filter((n) => /\.(bin|pt|pth|ckpt|gguf|onnx|h5|msgpack)$/i.test(n));
    fail(
      'E_PULL_NO_SAFETENSORS',
      `${at} has no .safetensors weights` +
        (other.length
          ? ` (only ${other.slice(0, 4).join(', ')}${other.length > 4 ? ', ...' : ''})`
          : ''),
      'the engine reads only safetensors: pick a repository that has them (many have a ' +
        '"refs/pr/N" revision with a safetensors conversion: try --revision), or convert the ' +
        'weights with transformers save_pretrained(..., safe_serialization=True)',
    );
  }
}

/** Shards named like model-00001-of-00002.safetensors (a first guess before the index is read). */
export function estimateShardCount(listing: readonly { path: string }[]): number {
  return listing.filter((f) => /^model-\d+-of-\d+\.safetensors$/.test(f.path)).length;
}

/** The shards a safetensors index names (sorted, each once); a broken index is an error. */
export function readIndexShards(path: string, repo: string): string[] {
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return fail(
      'E_PULL_BAD_INDEX',
      `${path}: not valid JSON (${(e as Error).message})`,
      `the file in ${repo} is broken; delete ${path} and pull again, or try another --revision`,
    );
  }
  const map = (j as { weight_map?: unknown })?.weight_map;
  if (!map || typeof map !== 'object')
    fail(
      'E_PULL_BAD_INDEX',
      `${path}: no "weight_map" object`,
      `the file in ${repo} is not a safetensors index; try another --revision`,
    );
  const shards = [...new Set(Object.values(map as Record<string, unknown>))];
  for (const s of shards)
    if (typeof s !== 'string' || !/^[^/\\]+\.safetensors$/.test(s) || s.startsWith('.'))
      fail(
        'E_PULL_BAD_INDEX',
        `${path}: weight_map names '${String(s)}', which is not a top-level .safetensors file`,
        `the file in ${repo} is not usable by this tool; try another --revision`,
      );
  return (shards as string[]).sort();
}
