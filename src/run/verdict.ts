// The run's outcome in one word, for the end of the run (run-end event → summary, live view).
//
// The objective is what the judges optimize, measured by the frozen anchor judge on the fixed
// probes: the evaluate stage's `mean_score`. Round 0 (the initial model M_0) against the last
// evaluated round:
//
//   Δ = score_last − score_0
//   word = unchanged   if |Δ| < VERDICT_TOLERANCE · (hi − lo)     [lo, hi]: the rubric's score scale
//          improved    if Δ > 0
//          worse       if Δ < 0
//
// Then the other metrics with a good direction (spec/eval-metrics.ts), ranked by how far they
// moved the bad way relative to where they started:
//
//   worse_m = s_m · (v_last − v_0) / |v_0|      s_m = +1 if lower is better, −1 if higher is
//                                                (none when v_0 = 0: such a metric ranks first)
//
// and the REGRESSIONS_SHOWN largest positive ones are listed. With `ground_truth: sandbox` the
// true score (the grader's, 0–1) gets its own word the same way, beside the judged one, since a
// judged gain with a true loss is exactly what a researcher must not miss.

import type { MetricRegression, RunVerdict } from '../events.js';
import { metricInfo } from '../spec/eval-metrics.js';
import type { RunStore } from '../store/run-store.js';
import type { EvalMetricRow } from '../store/types.js';

/**
 * |Δ| below 2% of the score scale reads as `unchanged` (0.02 on a 0–1 scale, 0.08 on 1–5): on
 * the shipped probe sets one probe moving one rubric point moves the mean by more than that,
 * so "unchanged" means no probe's grade moved on balance.
 */
export const VERDICT_TOLERANCE = 0.02;
/** How many regressions the end of a run lists. */
export const REGRESSIONS_SHOWN = 3;

/** The objective: the anchor judge's mean score on the probes. */
const OBJECTIVE = 'mean_score';
/** With ground_truth: sandbox, what the objective stands for: the grader's score (own line). */
const TRUTH = 'true_score';

type Row = Pick<EvalMetricRow, 'round' | 'metric' | 'stageIndex' | 'value' | 'detail'>;

/** The verdict from the stored eval metrics; null without a round-0 and a later objective value. */
export function runVerdict(rows: readonly Row[]): RunVerdict | null {
  const objective = rows.filter((r) => r.metric === OBJECTIVE && r.value != null);
  if (!objective.length) return null;
  // several evaluate stages: the first one in the pipeline file is the one reported
  const stage = Math.min(...objective.map((r) => r.stageIndex ?? 0));
  const ofStage = rows.filter((r) => (r.stageIndex ?? 0) === stage && r.value != null);
  const first = ofStage.find((r) => r.metric === OBJECTIVE && r.round === 0);
  const lastRound = Math.max(...ofStage.filter((r) => r.metric === OBJECTIVE).map((r) => r.round));
  const last = ofStage.find((r) => r.metric === OBJECTIVE && r.round === lastRound);
  if (!first || !last || lastRound === 0) return null;
  const threshold = VERDICT_TOLERANCE * scaleWidth(last.detail ?? first.detail);
  const truth0 = ofStage.find((r) => r.metric === TRUTH && r.round === 0);
  const truthLast = ofStage.find((r) => r.metric === TRUTH && r.round === lastRound);
  return {
    ...change(OBJECTIVE, lastRound, first.value!, last.value!, threshold),
    judge: typeof last.detail?.judge === 'string' ? last.detail.judge : null,
    regressions: regressions(ofStage, lastRound).filter((m) => m.metric !== TRUTH),
    ...(truth0 && truthLast
      ? { truth: change(TRUTH, lastRound, truth0.value!, truthLast.value!, VERDICT_TOLERANCE) }
      : {}),
  };
}

/** Round 0 → `toRound` of one metric, in one word (true_score is on a 0–1 scale). */
function change(metric: string, toRound: number, from: number, to: number, threshold: number) {
  const delta = to - from;
  const word: RunVerdict['word'] =
    Math.abs(delta) < threshold ? 'unchanged' : delta > 0 ? 'improved' : 'worse';
  return { metric, fromRound: 0, toRound, from, to, word, threshold };
}

/** hi − lo of the stored `scale` detail; 1 when it is missing or malformed. */
function scaleWidth(detail: Record<string, unknown> | null): number {
  const scale = detail?.scale;
  if (Array.isArray(scale) && scale.length === 2) {
    const [lo, hi] = scale as unknown[];
    if (typeof lo === 'number' && typeof hi === 'number' && hi > lo) return hi - lo;
  }
  return 1;
}

/** The metrics (other than the objective) that moved the bad way most, largest first. */
export function regressions(rows: readonly Row[], lastRound: number): MetricRegression[] {
  const out: MetricRegression[] = [];
  for (const r0 of rows) {
    if (r0.round !== 0 || r0.metric === OBJECTIVE) continue;
    const { better } = metricInfo(r0.metric);
    const now = rows.find((r) => r.metric === r0.metric && r.round === lastRound);
    if (better === 'none' || !now) continue;
    const from = r0.value!;
    const to = now.value!;
    const sign = better === 'lower' ? 1 : -1;
    const bad = sign * (to - from);
    if (!(bad > 0)) continue;
    out.push({ metric: r0.metric, from, to, worse: from === 0 ? null : bad / Math.abs(from) });
  }
  // a metric that rose from 0 has no relative change; it ranks first
  const key = (m: MetricRegression): number => m.worse ?? Infinity;
  return out.sort((a, b) => key(b) - key(a)).slice(0, REGRESSIONS_SHOWN);
}

/** `{ verdict }` for the run-end event from the run's stored metrics; `{}` when there is none. */
export function storedVerdict(store: RunStore): { verdict?: RunVerdict } {
  try {
    const verdict = runVerdict(store.evalMetrics());
    return verdict ? { verdict } : {};
  } catch {
    // a store that failed under the run cannot say more; the run's own error is what matters
    return {};
  }
}
