// What a generation batch measured before training on it, with TRL GRPOTrainer's metric names:
// reward (mean), reward_std (torch's unbiased std over the batch), rewards/<judge>/mean,
// completions/mean_length, completions/clipped_ratio (share cut at max_completion_length) and
// frac_reward_zero_std (share of groups whose rewards are all equal: no GRPO signal).

export interface SampledCompletion {
  tokens: number;
  truncated: boolean;
  reward: number;
  perJudge: Record<string, number>;
}

export function batchMetrics(rows: SampledCompletion[], groupSize: number): Record<string, number> {
  const n = rows.length;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const rewards = rows.map((r) => r.reward);
  const m = mean(rewards);
  const std = n > 1 ? Math.sqrt(rewards.reduce((a, x) => a + (x - m) ** 2, 0) / (n - 1)) : 0;
  let zeroStd = 0;
  for (let i = 0; i < n; i += groupSize) {
    const g = rewards.slice(i, i + groupSize);
    if (g.every((x) => x === g[0])) zeroStd++;
  }
  const out: Record<string, number> = {
    reward: m,
    reward_std: std,
    'completions/mean_length': mean(rows.map((r) => r.tokens)),
    'completions/clipped_ratio': rows.filter((r) => r.truncated).length / n,
    frac_reward_zero_std: zeroStd / Math.ceil(n / groupSize),
  };
  for (const judge of Object.keys(rows[0]?.perJudge ?? {}))
    out[`rewards/${judge}/mean`] = mean(rows.map((r) => r.perJudge[judge]));
  return out;
}
