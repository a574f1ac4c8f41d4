import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Debian's python3 with python3-torch; the pyenv python on PATH has no torch. */
function python(): string {
  return (
    process.env.BENCH_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3')
  );
}

/**
 * Runs scripts/bench/<script> and returns the JSON object on the last line of its output.
 * DESIGN.md: OpenBLAS must be installed (libopenblas0-pthread) and OMP_WAIT_POLICY passive, or
 * PyTorch falls back to a reference BLAS (or spins against our threads) and the comparison is
 * meaningless. Throws with the tail of the script's stderr and how to install the baseline.
 */
export function runPythonBaseline<T>(
  script: string,
  args: string[],
  timeoutMinutes: number,
  /** Another interpreter and install advice, for baselines that need more than Debian's torch. */
  o: { python?: string; install?: string } = {},
): T {
  const path = fileURLToPath(new URL(`../../scripts/bench/${script}`, import.meta.url));
  const py = o.python ?? python();
  const r = spawnSync(py, [path, ...args], {
    encoding: 'utf8',
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
    timeout: timeoutMinutes * 60_000,
    maxBuffer: 16 * 2 ** 20,
  });
  if (r.status !== 0)
    throw new Error(
      `${py} ${path} ${args.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' ')}; ` +
        `install the baseline with ${o.install ?? '`apt-get install python3-torch libopenblas0-pthread`'}`,
    );
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as T;
}
