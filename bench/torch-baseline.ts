import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface TorchNumbers {
  prefill_tok_s: number;
  decode_b1_tok_s: number;
  decode_b8_tok_s: number;
  threads: number;
  torch: string;
  blas: string;
}

/** Debian's python3 with python3-torch; the pyenv python on PATH has no torch. */
function python(): string {
  return (
    process.env.BENCH_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3')
  );
}

/**
 * Runs scripts/bench/torch_llama.py (a plain PyTorch Llama on the same safetensors) with the same
 * thread count. DESIGN.md: OpenBLAS must be installed (libopenblas0-pthread) and OMP_WAIT_POLICY
 * passive, or PyTorch falls back to a reference BLAS and the comparison is meaningless.
 */
export function runTorchBaseline(
  modelDir: string,
  o: { threads: number; promptLen: number; newTokens: number; repeats: number },
): TorchNumbers {
  const script = fileURLToPath(new URL('../../scripts/bench/torch_llama.py', import.meta.url));
  const r = spawnSync(
    python(),
    [
      script,
      '--model',
      modelDir,
      '--threads',
      String(o.threads),
      '--prompt-len',
      String(o.promptLen),
      '--new-tokens',
      String(o.newTokens),
      '--repeats',
      String(o.repeats),
      '--json',
    ],
    { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' }, timeout: 30 * 60_000 },
  );
  if (r.status !== 0)
    throw new Error(
      `${python()} ${script} failed (${r.status}): ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' ')}; ` +
        'install the baseline with `apt-get install python3-torch libopenblas0-pthread`',
    );
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as TorchNumbers;
}
