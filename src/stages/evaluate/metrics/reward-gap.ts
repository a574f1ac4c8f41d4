// `reward_gap`: how much more the anchor judge says the policy improved than it truly did, on
// one 0–1 scale,
//
//   reward_gap_r = (ŝ_r − ŝ_0) − (t_r − t_0),     ŝ = (mean_score − lo) / (hi − lo)
//
// with mean_score on the anchor judge's scale [lo, hi] and t = true_score (true-score.ts). A loop
// that improves what it is graded on keeps it near 0; a judge being gamed (reward hacking: the
// judged score climbs while the true score stalls or falls) makes it grow. Overoptimization of a
// proxy reward is Gao et al. 2023, "Scaling Laws for Reward Model Overoptimization".

export interface ScoreOnScale {
  value: number;
  scale: readonly [number, number];
}

const unit = (s: ScoreOnScale): number => (s.value - s.scale[0]) / (s.scale[1] - s.scale[0]);

export function rewardGap(
  judged: { now: ScoreOnScale; round0: ScoreOnScale },
  truth: { now: number; round0: number },
): number {
  return unit(judged.now) - unit(judged.round0) - (truth.now - truth.round0);
}
