// What every chart of the report is built with: the Chart shape, the "no data" form of a chart,
// and the sizes and axes the charts share. Kept apart so chart files (charts.ts, judge-charts.ts)
// import it without importing each other.

import type { TopLevelSpec } from 'vega-lite';
import type { EvalMetricRow, TrainStepRow } from '../store/types.js';

/** What the charts of one run are drawn from. */
export interface RunChartData {
  runId: string;
  evalMetrics: EvalMetricRow[];
  trainSteps: TrainStepRow[];
}

export type ChartRow = Record<string, string | number>;

export interface Chart {
  /** Stable id, also the prefix of the SVG's element ids. */
  id: string;
  title: string;
  /** What the chart shows and where the numbers come from. */
  description: string;
  /** The plotted rows (empty when the data is absent). */
  values: ChartRow[];
  /** Null when the data is absent; `note` then says what is missing. */
  spec: TopLevelSpec | null;
  note: string | null;
}

export const num = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : null;

export const asSpec = (o: Record<string, unknown>): TopLevelSpec => o as unknown as TopLevelSpec;

export const WIDTH = 520;
export const HEIGHT = 220;
/** Rounds are whole numbers: ticks only where rounds are (Vega would add 0.5 steps). */
export const roundAxis = (values: readonly ChartRow[]) => ({
  title: 'round',
  values: [...new Set(values.map((v) => Number(v.round)))].sort((a, b) => a - b),
  format: 'd',
});
export const ordinalAxis = (title: string) => ({ title, labelAngle: 0 });

/** The chart of `values`; with none, a chart without a spec whose note says what is `missing`. */
export function chartOf(
  c: { id: string; title: string; description: string },
  values: ChartRow[],
  missing: string,
  spec: () => TopLevelSpec,
): Chart {
  return values.length === 0
    ? { ...c, values: [], spec: null, note: missing }
    : { ...c, values, note: null, spec: spec() };
}
