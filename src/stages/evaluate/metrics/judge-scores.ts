// `mean_score` and `parse_failure_rate`: the frozen anchor judge's verdicts on the probe answers.
//
//   mean_score         = (1/|V|) Σ_{i ∈ V} s_i     V: probes whose answer got a score (not null)
//   histogram[k]       = |{ i ∈ V : round(100·s_i)/100 = k }|     (k written as a decimal string)
//   parse_failure_rate = (answers whose judge output did not parse) / N,   0 when N = 0
//
// The anchor is a judge fixed across rounds rather than the round's self-judge, whose scale moves
// with the policy it grades; Self-Rewarding Language Models (Yuan et al. 2024, §3) measure their
// rounds with an external judge for the same reason.
import { mean } from './mean.js';

export const meanScore = (valid: readonly number[]): number => mean(valid);

/** Count of scores per value rounded to 2 decimals, keyed by that value's decimal string. */
export function scoreHistogram(valid: readonly number[]): Record<string, number> {
  const histogram: Record<string, number> = {};
  for (const s of valid) {
    const key = String(Math.round(s * 100) / 100);
    histogram[key] = (histogram[key] ?? 0) + 1;
  }
  return histogram;
}

export const parseFailureRate = (failures: number, answers: number): number =>
  answers ? failures / answers : 0;
