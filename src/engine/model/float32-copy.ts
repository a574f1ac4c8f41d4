// A float32 copy of a checkpoint stored in another dtype (bf16, f16, f64), converted once into
// the cache so sessions can map it like a float32 checkpoint (ONNX external data) instead of
// holding widened copies in memory. The copy is keyed by the source files' identity (path, size,
// modification time, header) and verified by its own sha256 before use; a copy that fails the
// check is converted again. Conversion writes one tensor at a time, into a folder that appears
// only when complete.
import { createHash } from 'node:crypto';
import { cacheFileIntact, fileSha256 } from './cache-file.js';
import {
  closeSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fail } from '../../core/errors.js';
import { cacheRoot } from './builtin-tiny.js';
import type { WeightSource } from './checkpoint.js';
import { SafetensorsFile } from './safetensors.js';
import { writeSafetensors } from './safetensors-write.js';

export interface Float32Copy {
  /** The folder holding model.safetensors. */
  dir: string;
  file: SafetensorsFile;
}

interface Meta {
  sources: { file: string; size: number; mtimeMs: number }[];
  bytes: number;
  sha256: string;
}

const COPY_FILE = 'model.safetensors';
const META_FILE = 'float32-copy.json';

/** The float32 copy of the checkpoint in `dir` (made now if missing or failing its hash). */
export function openFloat32Copy(dir: string, source: WeightSource): Float32Copy {
  const { sources, headers } = checkpointIdentity(dir, source);
  const key = createHash('sha256')
    .update(JSON.stringify({ dir, sources, headers }))
    .digest('hex')
    .slice(0, 32);
  const out = join(cacheRoot(), 'float32', key);
  if (!cacheFileIntact<Meta>(out, COPY_FILE, META_FILE)) {
    rmSync(out, { recursive: true, force: true });
    convert(source, out, sources);
  }
  return { dir: out, file: SafetensorsFile.open(join(out, COPY_FILE)) };
}

/**
 * What identifies a checkpoint's weights without hashing all their bytes: each file's path (relative
 * to `dir`), size and modification time, and the sha256 of its header (names, dtypes, shapes,
 * offsets). Caches derived from the weights (this float32 copy, quantize.ts) are keyed by it.
 */
export function checkpointIdentity(
  dir: string,
  source: WeightSource,
): { sources: Meta['sources']; headers: string[] } {
  const files = [...new Set(source.names().map((n) => source.info(n).file))].sort();
  const sources = files.map((f) => {
    const st = statSync(f);
    return { file: relative(dir, f), size: st.size, mtimeMs: st.mtimeMs };
  });
  return { sources, headers: files.map(headerHash) };
}

/** sha256 of a safetensors file's header (its first 8 + N bytes): names, dtypes, shapes, offsets. */
function headerHash(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const len = Buffer.alloc(8);
    readSync(fd, len, 0, 8, 0);
    const n = Math.min(Number(len.readBigUInt64LE()), 100_000_000);
    const header = Buffer.alloc(n);
    readSync(fd, header, 0, n, 8);
    return createHash('sha256').update(header).digest('hex');
  } finally {
    closeSync(fd);
  }
}

/** Every tensor widened to float32, one at a time, into `out` (renamed into place when done). */
function convert(source: WeightSource, out: string, sources: Meta['sources']): void {
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const tensors = Object.fromEntries(
      source.names().map((n) => {
        const shape = source.info(n).shape;
        return [n, { dtype: 'F32' as const, shape, data: () => source.float32(n) }];
      }),
    );
    writeSafetensors(join(tmp, COPY_FILE), tensors);
    const copy = join(tmp, COPY_FILE);
    const meta: Meta = { sources, bytes: statSync(copy).size, sha256: fileSha256(copy) };
    writeFileSync(join(tmp, META_FILE), JSON.stringify(meta, null, 2) + '\n');
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (cacheFileIntact<Meta>(out, COPY_FILE, META_FILE)) return; // another process made the same copy first
    fail(
      'E_FLOAT32_COPY',
      `cannot write the float32 copy of ${sources.map((s) => s.file).join(', ')} to ${out}: ${(e as Error).message}`,
      'it needs free space in the cache folder (RLAIF_CACHE_DIR) about twice a bf16 checkpoint',
      e,
    );
  }
}
