import { runPythonBaseline } from './python-baseline.js';

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

/**
 * One DPO step in PyTorch eager autograd (scripts/bench/torch_dpo_step.py, reusing torch_llama.py's
 * model) on the same checkpoint, batch and thread count.
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
  return runPythonBaseline<TorchTrainNumbers>(
    'torch_dpo_step.py',
    [
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
    60,
  );
}

/** torch.mm GFLOP/s (a 2048³ square, and [n,k]x[k,m]) with `threads` threads, in a fresh process. */
export function torchMatmulGflops(
  threads: number,
  n: number,
  k: number,
  m: number,
): { square_2048: number; mlp_shape: number } {
  return runPythonBaseline<TorchTrainNumbers>(
    'torch_dpo_step.py',
    ['--matmul-only', `${n},${k},${m}`, '--threads', String(threads)],
    10,
  ).matmul_gflops!;
}
