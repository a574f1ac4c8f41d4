// The cache's converted weight files (float32 copies, quantized copies) are trusted only when
// whole: a meta file beside each records its size and sha256, checked before every use.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What every cache meta file holds; each kind adds its own fields. */
export interface CacheFileMeta {
  bytes: number;
  sha256: string;
}

/** sha256 of a file, read in 16 MiB pieces (the file can be larger than memory allows at once). */
export function fileSha256(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 24);
    for (let pos = 0; ;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * Is `dir/file` the whole file its meta (`dir/metaFile`) describes, and does the meta pass
 * `accept` (a format version)? Unreadable, short or changed files are not.
 */
export function cacheFileIntact<M extends CacheFileMeta>(
  dir: string,
  file: string,
  metaFile: string,
  accept: (meta: M) => boolean = () => true,
): boolean {
  const metaPath = join(dir, metaFile);
  const path = join(dir, file);
  if (!existsSync(metaPath) || !existsSync(path)) return false;
  try {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as M;
    return accept(meta) && statSync(path).size === meta.bytes && fileSha256(path) === meta.sha256;
  } catch {
    return false;
  }
}
