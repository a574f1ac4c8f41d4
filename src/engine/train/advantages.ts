// Advantages of the online-RL algorithms, from each completion's scalar reward. Completions come
// in groups of `groupSize` consecutive rows that share a prompt.
//
// GRPO (Shao et al. 2024, DeepSeekMath §4.1.2; TRL GRPOTrainer._generate_and_score_completions):
//   A_i = (r_i − mean_group(r)) / (std_group(r) + 1e-4)       scale_rewards: group
//   A_i = (r_i − mean_group(r)) / (std_batch(r) + 1e-4)       scale_rewards: batch
//   A_i =  r_i − mean_group(r)                                scale_rewards: none (Dr. GRPO)
//   std is torch's default, the unbiased (n − 1) estimator.
// RLOO (Ahmadian et al. 2024, eq. 6; TRL RLOOTrainer): the leave-one-out baseline
//   A_i = r_i − (Σ_group r − r_i) / (G − 1)
// REINFORCE++ (Hu 2025, §3; OpenRLHF `advantage_estimator: reinforce` / `reinforce_baseline`):
//   per token, a KL penalty folded into the reward, the scalar reward on the last token, returns
//   summed to the end (γ = 1), then normalised over every completion token of the batch:
//     r_t = −β · (log π_old − log π_ref)_t  + [t = last] · R_i
//     G_t = Σ_{s ≥ t} r_s,     A_t = (G_t − mean(G)) / (std(G) + 1e-8)
//   `reinforce_pp_baseline` first subtracts the group's mean reward from R_i (OpenRLHF's
//   reinforce_baseline, what makes it robust to reward scale).

export const SCALE_REWARDS = ['group', 'batch', 'none'] as const;
export type ScaleRewards = (typeof SCALE_REWARDS)[number];

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** torch.std: the unbiased estimator (NaN for one value, as torch gives). */
export function unbiasedStd(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

function groups(rewards: number[], groupSize: number): number[][] {
  if (groupSize < 1 || rewards.length % groupSize !== 0)
    throw new Error(`internal: ${rewards.length} rewards do not split into groups of ${groupSize}`);
  const out: number[][] = [];
  for (let i = 0; i < rewards.length; i += groupSize) out.push(rewards.slice(i, i + groupSize));
  return out;
}

/** Group-relative advantages (GRPO), one per completion. */
export function grpoAdvantages(
  rewards: number[],
  groupSize: number,
  scale: ScaleRewards,
): number[] {
  const batchStd = scale === 'batch' ? unbiasedStd(rewards) : 0;
  return groups(rewards, groupSize).flatMap((g) => {
    const m = mean(g);
    const std = scale === 'group' ? unbiasedStd(g) : batchStd;
    return g.map((r) => (scale === 'none' ? r - m : (r - m) / (std + 1e-4)));
  });
}

/** Leave-one-out advantages (RLOO), one per completion; groups need at least 2 completions. */
export function rlooAdvantages(rewards: number[], groupSize: number): number[] {
  if (groupSize < 2) throw new Error('internal: RLOO needs groups of at least 2 completions');
  return groups(rewards, groupSize).flatMap((g) => {
    const sum = g.reduce((a, b) => a + b, 0);
    return g.map((r) => r - (sum - r) / (g.length - 1));
  });
}

/**
 * RLOO's rewards (TRL RLOOTrainer): r_i − β · Σ_t (log π_old − log π_ref), the k1 estimate of the
 * sequence's KL on the sampling policy, not differentiated.
 */
export function klShapedRewards(
  rewards: number[],
  old: number[][],
  ref: number[][] | undefined,
  beta: number,
): number[] {
  if (!ref || beta === 0) return rewards;
  return rewards.map((r, i) => r - beta * old[i].reduce((a, v, t) => a + v - ref[i][t], 0));
}

/** Whether each group's rewards are all equal (std 0): such groups teach GRPO nothing. */
export function zeroStdGroups(rewards: number[], groupSize: number): boolean[] {
  return groups(rewards, groupSize).map((g) => g.every((r) => r === g[0]));
}

/**
 * REINFORCE++ token advantages: `oldLogps[i]` and `refLogps[i]` are row i's per-token log-probs
 * (same length as its completion). Returns per-token advantages, normalised over all tokens.
 */
export function reinforcePpAdvantages(
  rewards: number[],
  oldLogps: number[][],
  refLogps: number[][],
  beta: number,
  opts: { groupSize: number; baseline: boolean },
): number[][] {
  let r = rewards;
  if (opts.baseline) {
    const means = groups(rewards, opts.groupSize).map(mean);
    r = rewards.map((x, i) => x - means[Math.floor(i / opts.groupSize)]);
  }
  const returns = oldLogps.map((old, i) => {
    const g = new Array<number>(old.length).fill(0);
    let acc = 0;
    for (let t = old.length - 1; t >= 0; t--) {
      const kl = old[t] - refLogps[i][t];
      acc += -beta * kl + (t === old.length - 1 ? r[i] : 0);
      g[t] = acc;
    }
    return g;
  });
  const all = returns.flat();
  if (all.length === 0) return returns;
  const m = mean(all);
  // OpenRLHF normalises with the (biased) population std over the batch's valid tokens.
  const std = Math.sqrt(all.reduce((a, x) => a + (x - m) ** 2, 0) / all.length);
  return returns.map((g) => g.map((x) => (x - m) / (std + 1e-8)));
}

/** PPO's per-token reward shaping and GAE (ppoAdvantages). */
export interface PpoAdvantageOptions {
  /** KL coefficient of the reward (PPOConfig.kl_coef, 0.05). */
  klCoef: number;
  /** k1: log π_old − log π_ref; k3: (e^d − 1) − d with d = log π_ref − log π_old (PPOConfig.kl_estimator). */
  klEstimator: 'k1' | 'k3';
  /** Discount γ (PPOConfig.gamma, 1.0). */
  gamma: number;
  /** GAE's λ (PPOConfig.lam, 0.95). */
  lam: number;
  /** Whiten the shaped rewards over the batch's tokens first, keeping their mean (PPOConfig.whiten_rewards). */
  whitenRewards: boolean;
}

export interface PpoAdvantages {
  /** Per token: the whitened GAE advantage. */
  advantages: number[][];
  /** Per token: A + V_old before whitening (the value head's regression target). */
  returns: number[][];
  /** Per token: the shaped reward r_t. */
  rewards: number[][];
  /** Per row: Σ_t −kl_coef · KL_t (TRL's objective/non_score_reward per sequence). */
  nonScoreReward: number[];
  /** Per row: Σ_t KL_t (TRL's objective/kl per sequence). */
  kl: number[];
}

/**
 * PPO's advantages (TRL PPOTrainer.train, steps 4–6; GAE of Schulman et al. 2016, eq. 16): per
 * completion token t of row i, with V the critic's values when the batch was sampled,
 *   r_t = −kl_coef · KL_t + [t = last] · score_i
 *   δ_t = r_t + γ · V_{t+1} − V_t            (V past the last token = 0)
 *   Â_t = δ_t + γλ · Â_{t+1},   R_t = Â_t + V_t,   A = whiten(Â) over every token of the batch
 * whiten(x) = (x − mean) / sqrt(var + 1e-8) with the Bessel-corrected var (TRL masked_whiten).
 * Every completion token is an action here, its end-of-sequence token included; TRL's
 * padding_mask / padding_mask_p1 split is documented in docs/rl-conventions.md.
 */
export function ppoAdvantages(
  scores: number[],
  oldLogps: number[][],
  refLogps: number[][],
  values: number[][],
  o: PpoAdvantageOptions,
): PpoAdvantages {
  const kl = oldLogps.map((old, i) =>
    old.map((lp, t) => {
      const d = refLogps[i][t] - lp;
      return o.klEstimator === 'k1' ? -d : Math.exp(d) - 1 - d;
    }),
  );
  let rewards = kl.map((k, i) =>
    k.map((x, t) => -o.klCoef * x + (t === k.length - 1 ? scores[i] : 0)),
  );
  if (o.whitenRewards) rewards = whiten(rewards, false);
  const returns: number[][] = [];
  const raw = rewards.map((r, i) => {
    const v = values[i];
    const adv = new Array<number>(r.length).fill(0);
    let gae = 0;
    for (let t = r.length - 1; t >= 0; t--) {
      const next = t < r.length - 1 ? v[t + 1] : 0;
      const delta = r[t] + o.gamma * next - v[t];
      gae = delta + o.gamma * o.lam * gae;
      adv[t] = gae;
    }
    returns.push(adv.map((a, t) => a + v[t]));
    return adv;
  });
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    advantages: whiten(raw, true),
    returns,
    rewards,
    nonScoreReward: kl.map((k) => -o.klCoef * sum(k)),
    kl: kl.map(sum),
  };
}

/** TRL masked_whiten over every token of the batch (unchanged when fewer than two tokens). */
function whiten(x: number[][], shiftMean: boolean): number[][] {
  const all = x.flat();
  if (all.length < 2) return x;
  const m = mean(all);
  const variance =
    (all.reduce((a, v) => a + (v - m) ** 2, 0) / all.length) * (all.length / (all.length - 1));
  const s = 1 / Math.sqrt(variance + 1e-8);
  return x.map((row) => row.map((v) => (v - m) * s + (shiftMean ? 0 : m)));
}
