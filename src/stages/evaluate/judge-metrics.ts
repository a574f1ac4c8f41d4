import { VIOLATION_PREFIX } from '../../spec/eval-metrics.js';
import type { AnchorVerdicts } from './anchor-judge.js';
import type { MetricLog } from './metric-log.js';
import { meanScore, parseFailureRate, scoreHistogram } from './metrics/judge-scores.js';
import { countViolations, violationRate } from './metrics/violations.js';
import { winRate } from './metrics/win-rate.js';
import type { ProbeAnswer } from './probe-answers.js';

/** The anchor scores by probe id, in probe order (null: did not parse). */
export type ProbeScores = Map<string, number | null>;

/**
 * Step 3: `mean_score` (its detail keeps every probe's score, for later rounds' win rate),
 * `parse_failure_rate` and, for a rule judge, `violation/<rule>`.
 */
export function recordJudgeMetrics(
  log: MetricLog,
  answers: readonly ProbeAnswer[],
  anchor: AnchorVerdicts,
): { scores: ProbeScores; scored: number; parseFailures: number } {
  const scores: ProbeScores = new Map();
  answers.forEach((a, i) => {
    const v = anchor.verdicts[i];
    if (v !== undefined) scores.set(a.probe.id, v.score);
  });
  const valid = [...scores.values()].filter((s): s is number => s !== null);
  log.record('mean_score', meanScore(valid), {
    histogram: scoreHistogram(valid),
    judge: anchor.judgeId,
    scale: anchor.rubric?.scale ?? [0, 1],
    scores: Object.fromEntries(scores),
  });
  const parseFailures = anchor.verdicts.filter((v) => v?.parseFailed).length;
  log.record('parse_failure_rate', parseFailureRate(parseFailures, answers.length));
  const violations = countViolations(anchor.verdicts.map((v) => v?.checks ?? []));
  for (const [name, n] of violations)
    log.record(`${VIOLATION_PREFIX}${name}`, violationRate(n, answers.length));
  return { scores, scored: valid.length, parseFailures };
}

/**
 * Step 5: `win_rate` and `tie_rate` against round 0's answers, by the same anchor scores (from
 * round 1 on, when round 0 stored its scores).
 */
export function recordWinRate(
  log: MetricLog,
  scores: ProbeScores,
  judgeId: string,
  round: number,
): void {
  const round0 = log.atRound0('mean_score');
  if (!(round > 0 && round0?.detail?.scores)) return;
  const before = round0.detail.scores as Record<string, number | null>;
  const w = winRate(scores, before);
  log.record('win_rate', w.winRate, {
    wins: w.wins,
    losses: w.losses,
    ties: w.ties,
    judge: judgeId,
  });
  log.record('tie_rate', w.tieRate);
}
