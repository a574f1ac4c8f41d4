// The drift table: every evaluate metric per round, its change vs round 0 (the initial policy
// M_0) and vs the previous evaluated round, and whether that change is a regression by the
// metric's declared better direction (metricInfo). Pure: tests check its numbers directly.

import { EVAL_METRIC_INFO, VIOLATION_PREFIX, metricInfo } from '../spec/eval-metrics.js';
import type { EvalMetricRow } from '../store/types.js';

export interface DriftRow {
  round: number;
  metric: string;
  label: string;
  better: 'higher' | 'lower' | 'none';
  /** Null when the metric was stored as NaN (e.g. no probe could be scored). */
  value: number | null;
  /** The metric at round 0; null when round 0 has no value for it. */
  round0: number | null;
  /** value − round0. */
  deltaVsRound0: number | null;
  /** The closest earlier round with a value for this metric (usually round − 1). */
  previousRound: number | null;
  previous: number | null;
  /** value − previous. */
  deltaVsPrevious: number | null;
  regressionVsRound0: boolean;
  regressionVsPrevious: boolean;
}

export interface DriftTable {
  runId: string | null;
  rounds: number[];
  /** Metric names in display order: the known metrics first, then violation/*, then others. */
  metrics: string[];
  /** One row per stored (round, metric), by round then metric order. */
  rows: DriftRow[];
  /** Rows with a regression vs round 0 or vs the previous round. */
  regressions: number;
}

// Changes this small are float noise from averaging, not a real move.
const EPS = 1e-12;

/** Whether a change of `delta` goes the wrong way for a metric whose `better` is given. */
export function isRegression(better: DriftRow['better'], delta: number | null): boolean {
  if (delta === null || !Number.isFinite(delta)) return false;
  if (better === 'higher') return delta < -EPS;
  if (better === 'lower') return delta > EPS;
  return false;
}

const KNOWN = Object.keys(EVAL_METRIC_INFO);

/** Known metrics in EVAL_METRIC_INFO order, then violation rates, then the rest, alphabetically. */
export function compareMetrics(a: string, b: string): number {
  const rank = (m: string): number => {
    const i = KNOWN.indexOf(m);
    if (i >= 0) return i;
    return m.startsWith(VIOLATION_PREFIX) ? KNOWN.length : KNOWN.length + 1;
  };
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

const finite = (v: number | null): number | null => (v !== null && Number.isFinite(v) ? v : null);

export function driftTable(metrics: readonly EvalMetricRow[], runId?: string): DriftTable {
  const rows = runId === undefined ? metrics : metrics.filter((m) => m.runId === runId);
  const byMetric = new Map<string, Map<number, number | null>>();
  for (const m of rows) {
    let series = byMetric.get(m.metric);
    if (!series) byMetric.set(m.metric, (series = new Map()));
    series.set(m.round, finite(m.value));
  }
  const names = [...byMetric.keys()].sort(compareMetrics);
  const rounds = [...new Set(rows.map((m) => m.round))].sort((a, b) => a - b);
  const out: DriftRow[] = [];
  for (const round of rounds)
    for (const metric of names) {
      const series = byMetric.get(metric)!;
      if (!series.has(round)) continue;
      const value = series.get(round) ?? null;
      const round0 = series.get(0) ?? null;
      let previousRound: number | null = null;
      for (const r of rounds) if (r < round && (series.get(r) ?? null) !== null) previousRound = r;
      const previous = previousRound === null ? null : (series.get(previousRound) ?? null);
      const deltaVsRound0 = value !== null && round0 !== null ? value - round0 : null;
      const deltaVsPrevious = value !== null && previous !== null ? value - previous : null;
      const { label, better } = metricInfo(metric);
      out.push({
        round,
        metric,
        label,
        better,
        value,
        round0,
        deltaVsRound0,
        previousRound,
        previous,
        deltaVsPrevious,
        regressionVsRound0: isRegression(better, deltaVsRound0),
        regressionVsPrevious: isRegression(better, deltaVsPrevious),
      });
    }
  return {
    runId: runId ?? rows[0]?.runId ?? null,
    rounds,
    metrics: names,
    rows: out,
    regressions: out.filter((r) => r.regressionVsRound0 || r.regressionVsPrevious).length,
  };
}
