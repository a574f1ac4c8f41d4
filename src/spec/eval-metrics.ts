// Names of the evaluate stage's drift metrics, as stored in eval_metrics (run, round, metric) and
// shown by `pipeline drift` / `pipeline report`. Round 0 is the initial policy M_0, evaluated
// before any training; round r (r >= 1) is M_r, the policy after r rounds of training.

export interface EvalMetricInfo {
  /** One line for tables and chart titles. */
  label: string;
  /** Which direction is better, for highlighting regressions (`none`: just a change). */
  better: 'higher' | 'lower' | 'none';
}

export const EVAL_METRIC_INFO = {
  // detail: { histogram: Record<score, count>, scale: [lo, hi], judge: string }
  mean_score: { label: 'mean judge score on probes (anchor judge)', better: 'higher' },
  // detail: { wins, losses, ties, judge } — pairwise vs round 0's answers to the same probes
  win_rate: { label: 'win rate vs round 0 (anchor judge; ties count half)', better: 'higher' },
  // detail: { lengths: number[] } (characters per probe answer)
  mean_length: { label: 'mean response length (characters)', better: 'none' },
  mean_tokens: { label: 'mean response length (tokens)', better: 'none' },
  // mean over probe reference answers of (log p_r − log p_0) / tokens
  logprob_shift: {
    label: 'log-prob shift of fixed reference answers vs round 0 (nats/token)',
    better: 'none',
  },
  // Schulman's k3, (r − 1) − log r with r = p_0 / p_r per token, on answers sampled from M_r at
  // temperature 1 (stages/evaluate/metrics/kl.ts): a KL(M_r || M_0) estimate that is never negative
  kl: { label: 'KL(M_r || M_0), k3 on sampled probe answers (nats/token)', better: 'lower' },
  refusal_rate: { label: 'refusal-phrase rate', better: 'lower' },
  boilerplate_rate: { label: 'boilerplate-phrase rate', better: 'lower' },
  parse_failure_rate: { label: 'judge parse-failure rate', better: 'lower' },
  tie_rate: { label: 'judge tie rate (pairwise)', better: 'none' },
  // the policy as its own judge (judge stage rubric, greedy) against the anchor on the round's
  // probe answers, and against itself on round 0's (stages/evaluate/metrics/judge-agreement.ts)
  judge_agreement: {
    label: 'self-judge pairwise agreement with the anchor on probe answers',
    better: 'higher',
  },
  judge_tau: { label: "self-judge vs anchor Kendall's tau-b on probe answers", better: 'higher' },
  judge_score_drift: {
    label: "self-judge score drift on round 0's probe answers (0-1 scale)",
    better: 'lower',
  },
  judge_flip_rate: {
    label: "share of round 0's self-judge orderings now reversed",
    better: 'lower',
  },
  // the round's judge stage, from its stored judgements (stages/evaluate/round-judge-stats.ts)
  position_bias: {
    label: 'pairwise judge verdicts that follow the answer order (same slot both orders)',
    better: 'lower',
  },
  inter_judge_agreement: {
    label: "pairwise agreement between the judge stage's judges on the round's candidates",
    better: 'higher',
  },
  // ground_truth: sandbox (stages/evaluate/metrics/true-score.ts, judge-accuracy.ts, reward-gap.ts)
  true_score: { label: 'true score on probes (sandbox grader, 0-1)', better: 'higher' },
  judge_accuracy: {
    label: 'self-judge pairwise accuracy vs the sandbox grader',
    better: 'higher',
  },
  reward_gap: {
    label: 'judged gain minus true gain since round 0 (0-1 scale)',
    better: 'lower',
  },
  // round r >= 1: the judgements the round-start policy M_{r-1} made of round r's candidates
  candidate_judge_accuracy: {
    label: "self-judge pairwise accuracy vs the sandbox grader on the round's candidates",
    better: 'higher',
  },
  pair_accuracy: {
    label: "share of the round's training pairs the sandbox grader agrees with",
    better: 'higher',
  },
  // the human audit (src/audit/agreement.ts), refreshed whenever `pipeline audit` stores a label
  audit_complete: {
    label: "share of the round's audit sample labelled (skips count as labelled)",
    better: 'higher',
  },
  judge_human_agreement: {
    label: "share of audited pairs where the human prefers the judge's chosen answer",
    better: 'higher',
  },
  judge_human_kappa: {
    label: "Cohen's kappa, judge vs human, on the audited pairs (A / B / tie)",
    better: 'higher',
  },
  // Meta-Rewarding: the round's meta-judge battles (stages/evaluate/meta-judge-stats.ts)
  meta_judge_position_bias: {
    label: 'meta-judge verdicts that follow the order of the judgements (same slot both orders)',
    better: 'lower',
  },
  meta_judge_agreement: {
    label: 'meta-judge battles whose two orders name the same judgement',
    better: 'higher',
  },
  meta_judge_win_rate: {
    label: "trained judge pairs: chosen judgement's mean win probability in its battles",
    better: 'none',
  },
} satisfies Record<string, EvalMetricInfo>;

/** A metric the evaluate stage stores under a fixed name (violation rates are named per rule). */
export type EvalMetric = keyof typeof EVAL_METRIC_INFO;

/** The table indexed by any name (a stored metric may be one this version does not know). */
const KNOWN: Record<string, EvalMetricInfo | undefined> = EVAL_METRIC_INFO;

/** Per-principle (or per-rule) violation rates are stored as `violation/<id>`, lower is better. */
export const VIOLATION_PREFIX = 'violation/';

/**
 * Each judge of the round's judge stage: its mean score of the round's candidates on 0–1, stored
 * as `judge_score/<judge>` with detail { judge, scale: [lo, hi], candidates, scores: number[] }
 * (stages/evaluate/loop-judge-scores.ts). No better direction: a rise is good news only if the
 * answers really improved.
 */
export const JUDGE_SCORE_PREFIX = 'judge_score/';

export function metricInfo(metric: string): EvalMetricInfo {
  if (metric.startsWith(VIOLATION_PREFIX))
    return { label: `violation rate: ${metric.slice(VIOLATION_PREFIX.length)}`, better: 'lower' };
  if (metric.startsWith(JUDGE_SCORE_PREFIX))
    return {
      label: `mean 0-1 score of the round's candidates by judge '${metric.slice(JUDGE_SCORE_PREFIX.length)}'`,
      better: 'none',
    };
  return KNOWN[metric] ?? { label: metric, better: 'none' };
}
