// `mean_length` and `mean_tokens`: how long the policy's probe answers are.
//
//   mean_length = (1/N) Σ_i chars(y_i)      chars: UTF-16 code units (JavaScript's String.length)
//   mean_tokens = (1/N) Σ_i tokens(y_i)     tokens: the ids the policy generated (0 if not stored)
//
// Length is the first thing preference optimisation exploits: judges and reward models favour
// longer answers (Singhal et al. 2023, "A Long Way to Go: Investigating Length Correlations in
// RLHF"; Park et al. 2024, "Disentangling Length from Quality in Direct Preference Optimization").
import { mean } from './mean.js';

export const charLengths = (texts: readonly string[]): number[] => texts.map((t) => t.length);

export const meanLength = (lengths: readonly number[]): number => mean(lengths);

export const meanTokens = (tokenIds: readonly (readonly number[] | null | undefined)[]): number =>
  mean(tokenIds.map((ids) => ids?.length ?? 0));
