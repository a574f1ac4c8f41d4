import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** What scripts/bench/torch_dpo_step.py prints (--json), the fields the benchmark reads. */
export interface TorchTrainNumbers {
  mode: 'lora' | 'full';
  /** Best of the timed steps, after one warm-up step. */
  step_ms: number;
  step_ms_all: number[];
  /** CPU seconds (user + system, all threads) of each timed step. */
  step_cpu_s_all: number[];
  warmup_ms: number;
  /** Warm-up step first, then each timed step. */
  losses: number[];
  grad_norms: number[];
  trainable_params: number;
  tokens: number;
  /** ru_maxrss of the whole process. */
  peak_rss_bytes: number;
  /** VmHWM over the timed steps alone (null where /proc/self/clear_refs could not reset it). */
  steps_peak_rss_bytes: number | null;
  /** torch.mm GFLOP/s: a 2048² square and the step's MLP projection shape. */
  matmul_gflops: { square_2048: number; mlp_shape: number } | null;
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
 * One DPO step in PyTorch eager autograd (scripts/bench/torch_dpo_step.py, reusing torch_llama.py's
 * model) on the same checkpoint, batch and thread count. DESIGN.md: OpenBLAS must be installed
 * (libopenblas0-pthread) and OMP_WAIT_POLICY passive, or the comparison is meaningless.
 */
export function runTorchTrainBaseline(
  modelDir: string,
  o: {
    mode: 'lora' | 'full';
    gradientCheckpointing?: boolean;
    threads: number;
    pairs: number;
    promptLen: number;
    responseLen: number;
    repeats: number;
    warmup: number;
    seed: number;
  },
): TorchTrainNumbers {
  const script = fileURLToPath(new URL('../../scripts/bench/torch_dpo_step.py', import.meta.url));
  const r = spawnSync(
    python(),
    [
      script,
      '--model',
      modelDir,
      '--mode',
      o.mode,
      ...(o.gradientCheckpointing ? ['--gradient-checkpointing'] : []),
      '--threads',
      String(o.threads),
      '--pairs',
      String(o.pairs),
      '--prompt-len',
      String(o.promptLen),
      '--response-len',
      String(o.responseLen),
      '--repeats',
      String(o.repeats),
      '--warmup',
      String(o.warmup),
      '--seed',
      String(o.seed),
      '--json',
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
      timeout: 60 * 60_000,
      maxBuffer: 16 * 2 ** 20,
    },
  );
  if (r.status !== 0)
    throw new Error(
      `${python()} ${script} failed (${r.status ?? r.signal}): ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' ')}; ` +
        'install the baseline with `apt-get install python3-torch libopenblas0-pthread`',
    );
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as TorchTrainNumbers;
}

/** torch.mm GFLOP/s (a 2048³ square, and [n,k]x[k,m]) with `threads` threads, in a fresh process. */
export function torchMatmulGflops(
  threads: number,
  n: number,
  k: number,
  m: number,
): { square_2048: number; mlp_shape: number } {
  const script = fileURLToPath(new URL('../../scripts/bench/torch_dpo_step.py', import.meta.url));
  const r = spawnSync(
    python(),
    [script, '--matmul-only', `${n},${k},${m}`, '--threads', String(threads)],
    { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' }, timeout: 10 * 60_000 },
  );
  if (r.status !== 0) throw new Error(`${python()} ${script} --matmul-only failed (${r.status})`);
  return (JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as TorchTrainNumbers).matmul_gflops!;
}
