import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsFile } from '../../src/engine/model/safetensors.js';

/** int64 tensor from a reference safetensors file, as plain numbers with its shape. */
export function readI64(
  file: SafetensorsFile,
  name: string,
): { data: BigInt64Array; shape: number[] } {
  const raw = file.readRaw(name);
  const data = new BigInt64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  return { data, shape: file.info(name).shape };
}

export interface TinyLlamaReference {
  chosen_logps: number[];
  rejected_logps: number[];
  greedy: { prompt_ids: number[]; greedy_new_ids: number[] }[];
}

export function readReferenceJson(hfTiny: string): TinyLlamaReference {
  return JSON.parse(
    readFileSync(join(hfTiny, 'reference', 'tiny-llama', 'reference.json'), 'utf8'),
  ) as TinyLlamaReference;
}

/** max |a-b| / max |b| over the entries where `keep(i)` holds. */
export function relMaxDiff(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  keep: (i: number) => boolean = () => true,
): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    if (!keep(i)) continue;
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}
