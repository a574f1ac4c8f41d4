// The report's charts as Vega-Lite specs over plain data rows, and their rendering to static
// SVG in Node (no browser, no scripts in the report). Building a spec is pure, so tests check
// the rows each chart plots; rendering is the only part that runs Vega.

import { View, parse } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { VIOLATION_PREFIX } from '../spec/eval-metrics.js';
import type { RunStore } from '../store/run-store.js';
import {
  HEIGHT,
  WIDTH,
  asSpec,
  chartOf,
  num,
  ordinalAxis,
  roundAxis,
  type Chart,
  type ChartRow,
  type RunChartData,
} from './chart-kit.js';
import { judgeCharts } from './judge-charts.js';

export function loadChartData(store: RunStore): RunChartData {
  const evalMetrics = store.evalMetrics();
  const rounds = new Set(store.listRounds().map((r) => r.round));
  // Train steps can exist for a round whose row was never written (an interrupted run).
  for (const r of store.db
    .prepare('SELECT DISTINCT round FROM train_steps WHERE run_id = ?')
    .all(store.runId) as { round: number }[])
    rounds.add(r.round);
  const trainSteps = [...rounds].sort((a, b) => a - b).flatMap((r) => store.trainStepsForRound(r));
  return { runId: store.runId, evalMetrics, trainSteps };
}

export type { Chart, ChartRow, RunChartData } from './chart-kit.js';

// ---- per-round distributions -------------------------------------------------------------------

/** Judge-score histogram rows {run, round, score, count} from mean_score's detail.histogram. */
export function scoreHistogramRows(runs: readonly RunChartData[]): ChartRow[] {
  const rows: ChartRow[] = [];
  for (const run of runs)
    for (const m of run.evalMetrics) {
      if (m.metric !== 'mean_score') continue;
      const h = m.detail?.histogram;
      if (!h || typeof h !== 'object' || Array.isArray(h)) continue;
      const counts = new Map<number, number>();
      for (const [k, v] of Object.entries(h as Record<string, unknown>)) {
        const score = Number(k);
        const count = num(v);
        if (k.trim() !== '' && Number.isFinite(score) && count !== null) counts.set(score, count);
      }
      // Empty bins of an integer scale are drawn as zero, so rounds line up bin for bin.
      // Fractional scores (averaged samples, log-prob expectations) are binned by the chart.
      const scale = m.detail?.scale;
      const integral = [...counts.keys()].every((k) => Number.isInteger(k));
      if (integral && Array.isArray(scale) && scale.length === 2) {
        const [lo, hi] = scale.map(num);
        if (lo !== null && hi !== null && Number.isInteger(lo) && Number.isInteger(hi))
          if (hi >= lo && hi - lo <= 20)
            for (let s = lo; s <= hi; s++) if (!counts.has(s)) counts.set(s, 0);
      }
      for (const [score, count] of [...counts].sort((a, b) => a[0] - b[0]))
        rows.push({ run: run.runId, round: m.round, score, count });
    }
  return rows;
}

/** Response-length rows {run, round, length} from mean_length's detail.lengths. */
export function lengthRows(runs: readonly RunChartData[]): ChartRow[] {
  const rows: ChartRow[] = [];
  for (const run of runs)
    for (const m of run.evalMetrics) {
      if (m.metric !== 'mean_length') continue;
      const lengths = m.detail?.lengths;
      if (!Array.isArray(lengths)) continue;
      for (const l of lengths) {
        const length = num(l);
        if (length !== null) rows.push({ run: run.runId, round: m.round, length });
      }
    }
  return rows;
}

// ---- training ----------------------------------------------------------------------------------

/**
 * Rows {run, round, step, globalStep, value} of one train-step metric. Steps restart at every
 * round; globalStep counts on across rounds so the rounds sit side by side on one axis.
 */
export function trainMetricRows(runs: readonly RunChartData[], metric: string): ChartRow[] {
  const rows: ChartRow[] = [];
  for (const run of runs) {
    let offset = 0;
    const rounds = [...new Set(run.trainSteps.map((s) => s.round))].sort((a, b) => a - b);
    for (const round of rounds) {
      const steps = run.trainSteps.filter((s) => s.round === round).sort((a, b) => a.step - b.step);
      steps.forEach((s, i) => {
        const value = num(s.metrics[metric]);
        if (value !== null)
          rows.push({ run: run.runId, round, step: s.step, globalStep: offset + i + 1, value });
      });
      offset += steps.length;
    }
  }
  return rows;
}

// ---- metrics over rounds -----------------------------------------------------------------------

/** Rows {run, round, series, value} of the eval metrics `pick` selects (series = its name). */
export function metricRows(
  runs: readonly RunChartData[],
  pick: (metric: string) => string | null,
): ChartRow[] {
  const rows: ChartRow[] = [];
  for (const run of runs)
    for (const m of run.evalMetrics) {
      const series = pick(m.metric);
      const value = num(m.value);
      if (series !== null && value !== null)
        rows.push({ run: run.runId, round: m.round, series, value });
    }
  return rows.sort(
    (a, b) =>
      String(a.run).localeCompare(String(b.run)) ||
      String(a.series).localeCompare(String(b.series)) ||
      Number(a.round) - Number(b.round),
  );
}

function lineOverRounds(
  values: ChartRow[],
  yTitle: string,
  multiRun: boolean,
  multiSeries: boolean,
  yDomain?: [number, number],
): TopLevelSpec {
  const encoding: Record<string, unknown> = {
    x: { field: 'round', type: 'quantitative', axis: roundAxis(values) },
    y: {
      field: 'value',
      type: 'quantitative',
      title: yTitle,
      scale: yDomain ? { domain: yDomain } : { zero: true },
    },
    tooltip: null,
  };
  if (multiSeries) {
    encoding.color = { field: 'series', type: 'nominal', title: null };
    if (multiRun) encoding.strokeDash = { field: 'run', type: 'nominal', title: 'run' };
  } else if (multiRun) encoding.color = { field: 'run', type: 'nominal', title: 'run' };
  return asSpec({
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: 'line', point: true },
    encoding,
  });
}

function trainChart(
  id: string,
  title: string,
  metric: string,
  runs: readonly RunChartData[],
  yTitle: string,
  yDomain?: [number, number],
): Chart {
  const description = `train_steps metric '${metric}' per optimizer step, rounds one after another`;
  const values = trainMetricRows(runs, metric);
  const multiRun = runs.length > 1;
  return chartOf({ id, title, description }, values, `no training step recorded '${metric}'`, () =>
    asSpec({
      width: WIDTH,
      height: HEIGHT,
      data: { values },
      mark: { type: 'line', point: values.length <= 60 },
      encoding: {
        x: { field: 'globalStep', type: 'quantitative', title: 'training step (all rounds)' },
        y: {
          field: 'value',
          type: 'quantitative',
          title: yTitle,
          scale: yDomain ? { domain: yDomain } : { zero: false },
        },
        color: multiRun
          ? { field: 'run', type: 'nominal', title: 'run' }
          : { field: 'round', type: 'nominal', title: 'round' },
        ...(multiRun ? { detail: { field: 'round', type: 'nominal' } } : {}),
      },
    }),
  );
}

/**
 * Every chart of the report, in order; charts without data have spec null and a note. With
 * two runs, each chart shows both (colour, dash or a facet per run).
 */
export function buildCharts(runs: readonly RunChartData[]): Chart[] {
  return [
    scoreHistogramChart(runs),
    lengthChart(runs),
    trainChart(
      'reward-margins',
      'Reward margin over training steps',
      'rewards/margins',
      runs,
      'chosen − rejected implicit reward',
    ),
    trainChart(
      'reward-accuracies',
      'Reward accuracy over training steps',
      'rewards/accuracies',
      runs,
      'fraction with chosen > rejected',
      [0, 1],
    ),
    trainChart('loss', 'Training loss', 'loss', runs, 'loss'),
    trainChart(
      'rl-reward',
      'RL reward over training steps',
      'reward',
      runs,
      "mean judge reward of each step's sampled batch (rl stages)",
    ),
    trainChart(
      'rl-kl',
      'RL KL to the reference over training steps',
      'kl',
      runs,
      'token mean KL estimate (rl stages with beta > 0)',
    ),
    trainChart(
      'ppo-value-loss',
      'PPO value loss over training steps',
      'value_loss',
      runs,
      "the value head's clipped squared error to the GAE returns (rl stages with algorithm ppo)",
    ),
    trainChart(
      'ppo-explained-variance',
      'PPO explained variance over training steps',
      'val/explained_variance',
      runs,
      '1 − Var(returns − values) / Var(returns) of each batch: how much the critic explains',
    ),
    winRateChart(runs),
    violationChart(runs),
    judgeRatesChart(runs),
    judgeWatchChart(runs),
    truthChart(runs),
    ...judgeCharts(runs),
    auditChart(runs),
    metaJudgeChart(runs),
  ];
}

/** Histogram of the probe answers' judge scores, one facet per round. */
function scoreHistogramChart(runs: readonly RunChartData[]): Chart {
  const multiRun = runs.length > 1;
  const id = 'judge-scores';
  const title = 'Judge-score histogram per round';
  const description = "eval metric 'mean_score', detail.histogram: probe answers per score";
  const values = scoreHistogramRows(runs);

  return chartOf(
    { id, title, description },
    values,
    "no 'mean_score' metric with detail.histogram",
    () =>
      asSpec({
        data: { values },
        mark: 'bar',
        width: 120,
        height: 120,
        encoding: {
          ...(values.every((v) => Number.isInteger(v.score))
            ? {
                x: { field: 'score', type: 'ordinal', axis: ordinalAxis('score') },
                y: { field: 'count', type: 'quantitative', title: 'answers' },
              }
            : {
                x: {
                  field: 'score',
                  type: 'quantitative',
                  bin: { maxbins: 12 },
                  title: 'score (binned)',
                },
                y: {
                  field: 'count',
                  aggregate: 'sum',
                  type: 'quantitative',
                  title: 'answers',
                },
              }),
          column: { field: 'round', type: 'ordinal', title: 'round' },
          ...(multiRun ? { row: { field: 'run', type: 'nominal', title: 'run' } } : {}),
        },
      }),
  );
}

/** Box plot of probe-answer lengths per round. */
function lengthChart(runs: readonly RunChartData[]): Chart {
  const multiRun = runs.length > 1;
  const id = 'lengths';
  const title = 'Response length per round';
  const description =
    "eval metric 'mean_length', detail.lengths: characters per probe answer (box: quartiles, whiskers: 1.5 IQR)";
  const values = lengthRows(runs);

  return chartOf(
    { id, title, description },
    values,
    "no 'mean_length' metric with detail.lengths",
    () =>
      asSpec({
        data: { values },
        mark: { type: 'boxplot', extent: 1.5, size: 24 },
        width: multiRun ? WIDTH / 2 : WIDTH,
        height: HEIGHT,
        encoding: {
          x: { field: 'round', type: 'ordinal', axis: ordinalAxis('round') },
          y: { field: 'length', type: 'quantitative', title: 'characters' },
          ...(multiRun
            ? {
                color: { field: 'run', type: 'nominal', title: 'run' },
                column: { field: 'run', type: 'nominal', title: 'run' },
              }
            : {}),
        },
      }),
  );
}

/** Win rate against round 0's answers over rounds. */
function winRateChart(runs: readonly RunChartData[]): Chart {
  const multiRun = runs.length > 1;
  const id = 'win-rate';
  const title = 'Win rate vs round 0';
  const description = "eval metric 'win_rate': pairwise vs M_0's answers, ties count half";
  const values = metricRows(runs, (m) => (m === 'win_rate' ? m : null));

  return chartOf({ id, title, description }, values, "no 'win_rate' metric", () =>
    lineOverRounds(values, 'win rate', multiRun, false, [0, 1]),
  );
}

/** Per-principle violation rates over rounds. */
function violationChart(runs: readonly RunChartData[]): Chart {
  const multiRun = runs.length > 1;
  const id = 'violations';
  const title = 'Violation rate per principle';
  const description = `eval metrics '${VIOLATION_PREFIX}<principle>': share of probe answers violating it`;
  const values = metricRows(runs, (m) =>
    m.startsWith(VIOLATION_PREFIX) ? m.slice(VIOLATION_PREFIX.length) : null,
  );

  return chartOf({ id, title, description }, values, `no '${VIOLATION_PREFIX}*' metrics`, () =>
    lineOverRounds(values, 'violation rate', multiRun, true),
  );
}

/** The judge's tie and parse-failure rates over rounds. */
function judgeRatesChart(runs: readonly RunChartData[]): Chart {
  const multiRun = runs.length > 1;
  const id = 'judge-rates';
  const title = 'Judge tie and parse-failure rates';
  const description = "eval metrics 'tie_rate' and 'parse_failure_rate'";
  const values = metricRows(runs, (m) =>
    m === 'tie_rate' || m === 'parse_failure_rate' ? m : null,
  );

  return chartOf(
    { id, title, description },
    values,
    "no 'tie_rate' or 'parse_failure_rate' metric",
    () => lineOverRounds(values, 'rate', multiRun, true),
  );
}

/**
 * Rows of the judged score next to the true one (ground_truth: sandbox): the anchor's
 * mean_score put on 0–1 by its stored scale, and true_score, per round. Runs without a
 * true_score are left out: there is nothing to set the judged score beside.
 */
export function truthRows(runs: readonly RunChartData[]): ChartRow[] {
  const rows: ChartRow[] = [];
  for (const run of runs) {
    if (!run.evalMetrics.some((m) => m.metric === 'true_score' && num(m.value) !== null)) continue;
    for (const m of run.evalMetrics) {
      const value = num(m.value);
      if (value === null) continue;
      if (m.metric === 'true_score')
        rows.push({ run: run.runId, round: m.round, series: 'true score (grader)', value });
      const scale = m.detail?.scale as [number, number] | undefined;
      if (m.metric === 'mean_score' && scale)
        rows.push({
          run: run.runId,
          round: m.round,
          series: 'judged score (anchor, 0-1)',
          value: (value - scale[0]) / (scale[1] - scale[0]),
        });
    }
  }
  return rows.sort(
    (a, b) =>
      String(a.run).localeCompare(String(b.run)) ||
      String(a.series).localeCompare(String(b.series)) ||
      Number(a.round) - Number(b.round),
  );
}

/** What the judge says happened beside what really happened (issue 15's story). */
function truthChart(runs: readonly RunChartData[]): Chart {
  const id = 'truth';
  const title = 'Judged vs true score per round';
  const description =
    "eval metrics 'mean_score' (on 0-1 by its scale) and 'true_score' (ground_truth: sandbox)";
  const values = truthRows(runs);
  return chartOf({ id, title, description }, values, "no 'true_score' metric", () =>
    lineOverRounds(values, 'score (0-1)', runs.length > 1, true, [0, 1]),
  );
}

/** The metrics that watch the judge (README "Watching the judge"; sandbox ground truth too). */
export const JUDGE_WATCH_METRICS: readonly string[] = [
  'judge_agreement',
  'judge_tau',
  'judge_score_drift',
  'judge_flip_rate',
  'position_bias',
  'inter_judge_agreement',
  'judge_accuracy',
  'candidate_judge_accuracy',
  'pair_accuracy',
  'judge_human_agreement',
  'judge_human_kappa',
];

/** Meta-Rewarding's meta-judge (stages/evaluate/meta-judge-stats.ts), on a chart of its own. */
export const META_JUDGE_METRICS: readonly string[] = [
  'meta_judge_win_rate',
  'meta_judge_position_bias',
  'meta_judge_agreement',
];

/** The meta-judge per round: how clearly the chosen judgements won, and how much order mattered. */
function metaJudgeChart(runs: readonly RunChartData[]): Chart {
  const id = 'meta-judge';
  const title = 'Meta-judge: win rates and position bias per round';
  const description = `eval metrics ${META_JUDGE_METRICS.map((m) => `'${m}'`).join(', ')}`;
  const values = metricRows(runs, (m) => (META_JUDGE_METRICS.includes(m) ? m : null));
  return chartOf({ id, title, description }, values, 'no meta-judge metric (no meta_judge)', () =>
    lineOverRounds(values, 'share (0-1)', runs.length > 1, true, [0, 1]),
  );
}

/**
 * The human audit per round, from audit_complete's detail (src/audit/agreement.ts): how many of
 * the drawn pairs the human sided with the judge on, reversed, called a tie, skipped, or has not
 * labelled yet.
 */
export function auditRows(runs: readonly RunChartData[]): ChartRow[] {
  const rows: ChartRow[] = [];
  for (const run of runs)
    for (const m of run.evalMetrics) {
      if (m.metric !== 'audit_complete' || !m.detail) continue;
      const [drawn, labelled, compared, ties, reversed] = [
        'drawn',
        'labelled',
        'compared',
        'ties',
        'reversed',
      ].map((k) => num(m.detail?.[k]) ?? 0);
      const parts: [string, number][] = [
        ['agrees with the judge', compared - ties - reversed],
        ['prefers the rejected answer', reversed],
        ['tie', ties],
        ['skipped', labelled - compared],
        ['not labelled yet', drawn - labelled],
      ];
      for (const [verdict, count] of parts)
        rows.push({ run: run.runId, round: m.round, verdict, count });
    }
  return rows;
}

function auditChart(runs: readonly RunChartData[]): Chart {
  const id = 'audit';
  const title = "Human audit: the human's verdict on the judge's pairs per round";
  const description =
    "eval metric 'audit_complete' (its detail: drawn, labelled, compared, ties, reversed); " +
    'agreement and kappa are on the judge-watch chart';
  const values = auditRows(runs);
  const multiRun = runs.length > 1;
  return chartOf({ id, title, description }, values, 'no audit sample (no audit stage)', () =>
    asSpec({
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      width: WIDTH,
      height: HEIGHT,
      data: { values },
      mark: 'bar',
      encoding: {
        x: { field: 'round', type: 'ordinal', axis: ordinalAxis('round') },
        ...(multiRun ? { xOffset: { field: 'run', type: 'nominal' } } : {}),
        y: { field: 'count', type: 'quantitative', title: 'audited pairs', stack: 'zero' },
        color: {
          field: 'verdict',
          type: 'nominal',
          sort: [
            'agrees with the judge',
            'prefers the rejected answer',
            'tie',
            'skipped',
            'not labelled yet',
          ],
          title: 'human',
        },
      },
    }),
  );
}

/** The judge over rounds: agreement with the anchor and other judges, drift, accuracy. */
function judgeWatchChart(runs: readonly RunChartData[]): Chart {
  const multiRun = runs.length > 1;
  const id = 'judge-watch';
  const title = 'Watching the judge: agreement, drift and accuracy per round';
  const description = `eval metrics ${JUDGE_WATCH_METRICS.map((m) => `'${m}'`).join(', ')}`;
  const values = metricRows(runs, (m) => (JUDGE_WATCH_METRICS.includes(m) ? m : null));
  return chartOf({ id, title, description }, values, 'no judge-watching metric', () =>
    lineOverRounds(values, 'value (tau in [-1, 1], the rest in [0, 1])', multiRun, true),
  );
}

/**
 * Renders a spec to a standalone SVG string. Element ids (Vega's clip paths) get `idPrefix`, so
 * several charts inlined in one HTML page never resolve each other's `url(#clip1)`.
 */
export async function renderSvg(spec: TopLevelSpec, idPrefix: string): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return svg
      .replace(/\bid="([^"]+)"/g, (_m, id: string) => `id="${idPrefix}-${id}"`)
      .replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${idPrefix}-${id})`)
      .replace(/href="#([^"]+)"/g, (_m, id: string) => `href="#${idPrefix}-${id}"`);
  } finally {
    view.finalize();
  }
}
