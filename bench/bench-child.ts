// What the benchmarks that run each mode of our engine in its own child process share: the
// Park-Miller id generator their Python baselines reproduce, the child's peak memory from
// /proc/self/status, spawning the child, and the report's number formats.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

/** Park-Miller minimal standard: x <- 48271 x mod (2^31 - 1); ids 3 + x mod (vocab - 3). */
export function minstdIds(seed: number, count: number, vocab: number): number[] {
  let x = (seed + 1) % 2147483647 || 1;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    x = (x * 48271) % 2147483647; // < 2^47: exact in a double
    out.push(3 + (x % (vocab - 3)));
  }
  return out;
}

export function statusBytes(field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
    readFileSync('/proc/self/status', 'utf8'),
  );
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Reset the kernel's peak-RSS counter (Linux >= 4.0); false where that is not allowed. */
export function resetHwm(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs the benchmark module at `moduleUrl` as `--child <mode>` in a new process (so its peak
 * memory is its own) and returns the JSON of its last stdout line.
 */
export function spawnChild<T>(moduleUrl: string, mode: string): T {
  const r = spawnSync(process.execPath, [fileURLToPath(moduleUrl), '--child', mode], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 2 ** 20,
  });
  if (r.status !== 0) throw new Error(`our ${mode} child failed (${r.status ?? r.signal})`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as T;
}

export const gb = (bytes: number | null | undefined): string =>
  bytes === null || bytes === undefined || !Number.isFinite(bytes)
    ? '-'
    : `${(bytes / 1e9).toFixed(2)} GB`;

export const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
