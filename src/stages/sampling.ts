import type { GenerateOptions } from '../engine/index.js';

/** The engine's sampling options from a stage's TRL-style fields; temperature 0 means greedy. */
export function generateOptions(
  s: {
    temperature: number;
    top_p?: number;
    top_k?: number;
    max_new_tokens: number;
    stop?: string[];
  },
  n: number,
  seed: number,
): GenerateOptions {
  return {
    n,
    maxNewTokens: s.max_new_tokens,
    seed,
    stopStrings: s.stop ?? [],
    ignoreEos: false,
    temperature: s.temperature,
    topP: s.top_p ?? 1,
    topK: s.top_k ?? 0,
    greedy: s.temperature === 0,
  };
}
