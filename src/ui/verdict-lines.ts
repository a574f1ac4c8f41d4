// The first lines of a run's end (plain summary and live view): the objective the judges
// optimize, round 0 → last round, in one word with the threshold that word used, then the
// metrics that moved the wrong way most.

import type { MetricRegression, RunVerdict } from '../events.js';
import { formatNumber } from './format.js';

/** `mean_score (anchor judge format) 0.7 → 0.35 (round 0 → 2): worse (|Δ| < 0.02 is unchanged)` */
export function objectiveLine(v: RunVerdict): string {
  const judge = v.judge ? ` (anchor judge ${v.judge})` : '';
  // float noise (0.9583 − 0.9583 = 1.1e-16) would print as a change
  const raw = v.to - v.from;
  const delta = Math.abs(raw) < 1e-12 ? 0 : raw;
  const signed = `${delta >= 0 ? '+' : ''}${formatNumber(delta)}`;
  return (
    `${v.word.toUpperCase()}: ${v.metric}${judge} ${formatNumber(v.from)} → ${formatNumber(v.to)} ` +
    `(Δ ${signed}, round ${v.fromRound} → ${v.toRound}; |Δ| < ${formatNumber(v.threshold)} counts as unchanged)`
  );
}

/** `biggest regressions: kl 0 → 0.3 (new), refusal_rate 0.1 → 0.2 (+100%)`; null when none. */
export function regressionsLine(v: RunVerdict): string | null {
  if (!v.regressions.length) return null;
  return `biggest regressions: ${v.regressions.map(regression).join(', ')}`;
}

function regression(m: MetricRegression): string {
  const how = m.worse == null ? 'from 0' : `${formatNumber(m.worse * 100)}% worse`;
  return `${m.metric} ${formatNumber(m.from)} → ${formatNumber(m.to)} (${how})`;
}

/** `TRUTH WORSE: true_score (sandbox grader) 0.48 → 0.41 (...)`: the ground truth's word. */
export function truthLine(v: RunVerdict): string | null {
  if (!v.truth) return null;
  const line = objectiveLine({ ...v.truth, judge: null, regressions: [] });
  return `TRUTH ${line.replace(`${v.truth.metric} `, `${v.truth.metric} (sandbox grader) `)}`;
}

/** The verdict's lines, objective first, then the ground truth; [] when the run has no verdict. */
export function verdictLines(v: RunVerdict | null): string[] {
  if (!v) return [];
  return [objectiveLine(v), truthLine(v), regressionsLine(v)].filter(
    (l): l is string => l !== null,
  );
}
