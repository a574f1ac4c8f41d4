// The charts of the report's "Judge" section that read the judge's own scores: its calibration
// against an independent reference, and each loop judge's score distribution per round. The
// evaluate stage stores every number on 0–1 already (it owns the judges' ranges, judge-mix.ts);
// these only bin and draw, so tests check the binned rows.

import { JUDGE_SCORE_PREFIX } from '../spec/eval-metrics.js';
import {
  HEIGHT,
  WIDTH,
  asSpec,
  chartOf,
  num,
  type Chart,
  type ChartRow,
  type RunChartData,
} from './chart-kit.js';

/**
 * The charts shown under the report's "Judge" heading (html.ts), by id, in buildCharts order;
 * every other chart stays under "Charts". 'audit' and 'meta-judge' are the ids kept for the
 * audit results and meta-judge win rates charts: a listed id without a chart is simply absent.
 */
export const JUDGE_SECTION: readonly string[] = [
  'judge-watch',
  'truth',
  'calibration',
  'judge-score-histograms',
  'audit',
  'meta-judge',
];

/** The judge charts built here, in report order (buildCharts appends them). */
export function judgeCharts(runs: readonly RunChartData[]): Chart[] {
  return [calibrationChart(runs), judgeScoreHistogramChart(runs)];
}

/** Bins of the calibration curve over the judge's 0–1 score. */
export const CALIBRATION_BINS = 5;
/** Bins of the per-judge histograms over 0–1. */
export const HISTOGRAM_BINS = 10;

/** The bin of x in [0, 1] among `bins` equal ones: ⌊x·bins⌋, with x = 1 in the last bin. */
export const unitBin = (x: number, bins: number): number =>
  Math.min(bins - 1, Math.max(0, Math.floor(x * bins)));

// ---- calibration curve -------------------------------------------------------------------------

/** Where the pairs are stored and what the reference is called on the chart. */
const CALIBRATION_SOURCES = [
  { metric: 'judge_agreement', label: (ref: string) => `anchor judge '${ref}'` },
  { metric: 'candidate_judge_accuracy', label: () => 'sandbox grader' },
] as const;

/**
 * Calibration rows {run, round, judge, reference, bin, lo, hi, mid, mean, count}: the judge's 0–1
 * scores cut into CALIBRATION_BINS equal bins, and per bin the mean 0–1 reference score of the
 * same answers,
 *
 *   mean_b = (1/|B_b|) Σ_{(s, r) : s ∈ bin b} r
 *
 * (a calibrated judge sits on y = x). Pairs come from the detail.calibration of judge_agreement
 * (the self-judge vs the frozen anchor on the round's probe answers) where the run stored any,
 * otherwise of candidate_judge_accuracy (the judge stage's score vs the sandbox grader's
 * points / max on the round's candidates): one reference per run, so its rounds compare.
 * Empty bins have no row.
 */
export function calibrationRows(runs: readonly RunChartData[]): ChartRow[] {
  const rows: ChartRow[] = [];
  for (const run of runs)
    for (const source of CALIBRATION_SOURCES) {
      const found = run.evalMetrics.flatMap((m) => {
        const c = m.metric === source.metric ? storedCalibration(m.detail?.calibration) : null;
        return c && c.pairs.length ? [{ round: m.round, ...c }] : [];
      });
      if (!found.length) continue;
      for (const c of found.sort((a, b) => a.round - b.round)) {
        const sums = new Array<number>(CALIBRATION_BINS).fill(0);
        const counts = new Array<number>(CALIBRATION_BINS).fill(0);
        for (const [s, r] of c.pairs) {
          const b = unitBin(s, CALIBRATION_BINS);
          sums[b] += r;
          counts[b]++;
        }
        counts.forEach((count, b) => {
          if (count)
            rows.push({
              run: run.runId,
              round: c.round,
              judge: c.judge,
              reference: source.label(c.reference),
              bin: b,
              lo: b / CALIBRATION_BINS,
              hi: (b + 1) / CALIBRATION_BINS,
              mid: (b + 0.5) / CALIBRATION_BINS,
              mean: sums[b] / count,
              count,
            });
        });
      }
      break; // the first source with pairs is the run's reference
    }
  return rows;
}

/** A stored detail.calibration (metrics/calibration.ts), its unusable pairs dropped. */
function storedCalibration(
  v: unknown,
): { judge: string; reference: string; pairs: [number, number][] } | null {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const c = v as Record<string, unknown>;
  if (!Array.isArray(c.pairs)) return null;
  const pairs = c.pairs.flatMap((p): [number, number][] => {
    if (!Array.isArray(p)) return [];
    const [s, r] = [num(p[0]), num(p[1])];
    return s !== null && r !== null ? [[s, r]] : [];
  });
  return { judge: String(c.judge ?? '?'), reference: String(c.reference ?? '?'), pairs };
}

/** The judge's score (binned) against the reference's mean, one line per round, with y = x. */
function calibrationChart(runs: readonly RunChartData[]): Chart {
  const multiRun = runs.length > 1;
  const id = 'calibration';
  const title = 'Judge calibration: its score vs an independent reference, per round';
  const description =
    `detail.calibration of eval metric 'judge_agreement' (self-judge vs the anchor, probe answers) ` +
    `or else of 'candidate_judge_accuracy' (judge stage vs the sandbox grader): judge score in ` +
    `${CALIBRATION_BINS} bins, mean reference score per bin (point size: answers); dashed: y = x`;
  const values = calibrationRows(runs);
  const references = [...new Set(values.map((v) => String(v.reference)))];
  const judges = [...new Set(values.map((v) => String(v.judge)))];
  const unit = { domain: [0, 1] };
  return chartOf(
    { id, title, description },
    values,
    "no calibration pairs in 'judge_agreement' or 'candidate_judge_accuracy'",
    () =>
      asSpec({
        width: WIDTH,
        height: HEIGHT,
        layer: [
          {
            data: {
              values: [
                { x: 0, y: 0 },
                { x: 1, y: 1 },
              ],
            },
            mark: { type: 'line', color: '#999', strokeDash: [4, 4] },
            encoding: {
              x: { field: 'x', type: 'quantitative', scale: unit },
              y: { field: 'y', type: 'quantitative', scale: unit },
            },
          },
          {
            data: { values },
            layer: [
              { mark: { type: 'line' } },
              { mark: { type: 'point', filled: true }, encoding: { size: sizeByCount } },
            ],
            encoding: {
              x: {
                field: 'mid',
                type: 'quantitative',
                scale: unit,
                title: `${judges.length === 1 ? judges[0] : 'judge'} score (0-1, bin centre)`,
              },
              y: {
                field: 'mean',
                type: 'quantitative',
                scale: unit,
                title: `mean ${references.length === 1 ? references[0] : 'reference'} score (0-1)`,
              },
              color: { field: 'round', type: 'ordinal', title: 'round' },
              ...(multiRun ? { strokeDash: { field: 'run', type: 'nominal', title: 'run' } } : {}),
              detail: { field: 'run', type: 'nominal' },
            },
          },
        ],
      }),
  );
}

const sizeByCount = {
  field: 'count',
  type: 'quantitative',
  title: 'answers',
  legend: { format: 'd', tickMinStep: 1 },
};

// ---- score histograms per judge ----------------------------------------------------------------

/**
 * Histogram rows {run, round, judge, bin, lo, hi, count} of each loop judge's 0–1 scores of the
 * round's candidates (eval metrics 'judge_score/<judge>', detail.scores), HISTOGRAM_BINS equal
 * bins over 0–1, empty bins included so rounds line up bin for bin.
 */
export function judgeScoreRows(runs: readonly RunChartData[]): ChartRow[] {
  const rows: ChartRow[] = [];
  for (const run of runs)
    for (const m of run.evalMetrics) {
      if (!m.metric.startsWith(JUDGE_SCORE_PREFIX)) continue;
      const scores = m.detail?.scores;
      if (!Array.isArray(scores)) continue;
      const counts = new Array<number>(HISTOGRAM_BINS).fill(0);
      for (const s of scores) {
        const x = num(s);
        if (x !== null) counts[unitBin(x, HISTOGRAM_BINS)]++;
      }
      const judge = m.metric.slice(JUDGE_SCORE_PREFIX.length);
      counts.forEach((count, bin) =>
        rows.push({
          run: run.runId,
          round: m.round,
          judge,
          bin,
          lo: bin / HISTOGRAM_BINS,
          hi: (bin + 1) / HISTOGRAM_BINS,
          count,
        }),
      );
    }
  return rows.sort(
    (a, b) =>
      String(a.run).localeCompare(String(b.run)) ||
      String(a.judge).localeCompare(String(b.judge)) ||
      Number(a.round) - Number(b.round) ||
      Number(a.bin) - Number(b.bin),
  );
}

/** One histogram per judge (rows) and round (columns). */
function judgeScoreHistogramChart(runs: readonly RunChartData[]): Chart {
  const multiRun = runs.length > 1;
  const id = 'judge-score-histograms';
  const title = "Each judge's scores of the round's candidates (0-1), per round";
  const description = `eval metrics '${JUDGE_SCORE_PREFIX}<judge>', detail.scores: the judge stage's scores put on 0-1 by each judge's range, ${HISTOGRAM_BINS} bins`;
  // Two runs: one facet row per run and judge (a facet has only rows and columns).
  const values = judgeScoreRows(runs).map((v) =>
    multiRun ? { ...v, judge: `${v.run}: ${v.judge}` } : v,
  );
  return chartOf({ id, title, description }, values, `no '${JUDGE_SCORE_PREFIX}*' metrics`, () =>
    asSpec({
      data: { values },
      mark: 'bar',
      width: 120,
      height: 90,
      encoding: {
        x: { field: 'lo', type: 'quantitative', scale: { domain: [0, 1] }, title: 'score (0-1)' },
        x2: { field: 'hi' },
        y: { field: 'count', type: 'quantitative', title: 'candidates' },
        row: { field: 'judge', type: 'nominal', title: 'judge' },
        column: { field: 'round', type: 'ordinal', title: 'round' },
      },
    }),
  );
}
