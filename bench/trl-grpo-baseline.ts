import { runPythonBaseline } from './python-baseline.js';

/** What scripts/bench/trl_grpo_step.py prints (--json), the fields the benchmark reads. */
export interface TrlGrpoNumbers {
  mode: 'lora' | 'full';
  /** The fastest timed step, and its generation and training (the rest of the step) parts. */
  step_ms: number;
  generation_ms: number;
  training_ms: number;
  step_ms_all: number[];
  generation_ms_all: number[];
  /** CPU seconds (user + system, all threads) of each timed step. */
  step_cpu_s_all: number[];
  warmup_ms: number | null;
  /** Per optimizer step, warm-up first (TRL's logged numbers). */
  losses: number[];
  grad_norms: number[];
  rewards: number[];
  /** Shortest and longest completion generated, in tokens. */
  completion_lengths: [number, number] | null;
  trainable_params: number;
  /** ru_maxrss of the whole process. */
  peak_rss_bytes: number;
  /** VmHWM over the timed steps alone (null where /proc/self/clear_refs could not reset it). */
  steps_peak_rss_bytes: number | null;
  threads: number;
  torch: string;
  transformers: string;
  trl: string;
}

/** TRL's GRPOTrainer on PyTorch CPU (scripts/bench/trl_grpo_step.py), in its own process. */
export function runTrlGrpoBaseline(
  modelDir: string,
  o: {
    mode: 'lora' | 'full';
    gradientCheckpointing: boolean;
    threads: number;
    prompts: number;
    generations: number;
    batchSize: number;
    promptLen: number;
    completionLen: number;
    repeats: number;
    warmup: number;
    seed: number;
  },
): TrlGrpoNumbers {
  return runPythonBaseline<TrlGrpoNumbers>(
    'trl_grpo_step.py',
    [
      '--model',
      modelDir,
      '--mode',
      o.mode,
      ...(o.gradientCheckpointing ? ['--gradient-checkpointing'] : []),
      '--threads',
      String(o.threads),
      '--prompts',
      String(o.prompts),
      '--generations',
      String(o.generations),
      '--batch-size',
      String(o.batchSize),
      '--prompt-len',
      String(o.promptLen),
      '--completion-len',
      String(o.completionLen),
      '--repeats',
      String(o.repeats),
      '--warmup',
      String(o.warmup),
      '--seed',
      String(o.seed),
      '--json',
    ],
    90,
    {
      python: process.env.BENCH_PYTHON ?? 'python3',
      install:
        'a Python that has torch, transformers, trl and peft, named by BENCH_PYTHON, e.g. ' +
        '`python3 -m venv .venv && .venv/bin/pip install torch transformers trl peft` and ' +
        'BENCH_PYTHON=.venv/bin/python',
    },
  );
}
