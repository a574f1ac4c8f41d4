// Fail before downloading when the files cannot fit on the disk, and say sizes the way people read
// them (KiB, MiB, GiB: powers of 1024).

import { existsSync, statSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { fail } from '../core/errors.js';
import { PARTIAL_SUFFIX } from './download.js';

/** Fail early when the files to fetch cannot fit on the disk. */
export async function checkDiskSpace(
  outDir: string,
  files: readonly { path: string; size: number }[],
): Promise<void> {
  let need = 0;
  for (const f of files) {
    const p = join(outDir, f.path);
    if (existsSync(p) && statSync(p).size === f.size) continue;
    const partial = p + PARTIAL_SUFFIX;
    need += f.size - (existsSync(partial) ? Math.min(statSync(partial).size, f.size) : 0);
  }
  let free: number;
  try {
    const s = await statfs(outDir);
    free = s.bavail * s.bsize;
  } catch {
    return; // unknown: let the writes find out
  }
  if (need > free)
    fail(
      'E_PULL_DISK_FULL',
      `${outDir}: the model needs ${formatBytes(need)} more but only ${formatBytes(free)} is free`,
      'free some disk space or pull into another folder with --out',
    );
}

/** `n` bytes as "512 B", "1.5 KiB", "2.0 GiB" (one decimal above a KiB). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}
