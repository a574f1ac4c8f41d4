// `true_score`: the sandbox grader's mean over the probe answers that are sandbox tasks,
//
//   true_score = (1/|P|) Σ_{p ∈ P} points(p, a_r(p)) / MAX_POINTS        (NaN when P is empty)
//
// where a_r(p) is M_r's answer to probe p and points() the world's exact additive grade
// (src/sandbox). Unlike mean_score it is not a judge's opinion: it is what the loop is meant to
// improve, so a judged gain without a true gain is visible (reward_gap).
import { mean } from './mean.js';

/** `points` are the grader's points per sandbox probe (non-sandbox probes are left out). */
export function trueScore(points: readonly number[], maxPoints: number): number {
  return mean(points.map((p) => p / maxPoints));
}
