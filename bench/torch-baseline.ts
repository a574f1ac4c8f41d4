import { runPythonBaseline } from './python-baseline.js';

export interface TorchNumbers {
  prefill_tok_s: number;
  decode_b1_tok_s: number;
  decode_b8_tok_s: number;
  /** Batch 8 sampling at the given temperature / top-p, transformers' warpers. */
  decode_b8_sampled_tok_s: number;
  threads: number;
  torch: string;
  blas: string;
}

/**
 * Runs scripts/bench/torch_llama.py (a plain PyTorch Llama on the same safetensors) with the same
 * thread count.
 */
export function runTorchBaseline(
  modelDir: string,
  o: {
    threads: number;
    promptLen: number;
    newTokens: number;
    repeats: number;
    temperature: number;
    topP: number;
  },
): TorchNumbers {
  return runPythonBaseline<TorchNumbers>(
    'torch_llama.py',
    [
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
      '--temperature',
      String(o.temperature),
      '--top-p',
      String(o.topP),
      '--json',
    ],
    30,
  );
}
