// Training curves of bounded size: a long run keeps its whole trend in at most SERIES_MAX points
// by halving the resolution (doubling the stride) instead of dropping old steps.

import type { Series } from './types.js';

/** Points kept per training series; beyond that, adjacent points are averaged (stride doubles). */
export const SERIES_MAX = 256;

export function emptySeries(): Series {
  return {
    points: [],
    stride: 1,
    pendSum: 0,
    pendFinite: 0,
    pendCount: 0,
    last: null,
    first: null,
  };
}

/** The series' points plus the mean of its unfinished bucket, for drawing. */
export function seriesValues(s: Series): number[] {
  const out = s.points.slice();
  if (s.pendCount > 0) out.push(s.pendFinite ? s.pendSum / s.pendFinite : NaN);
  return out;
}

export function appendSeries(s: Series, v: number): Series {
  const finite = Number.isFinite(v);
  let pendSum = s.pendSum + (finite ? v : 0);
  let pendFinite = s.pendFinite + (finite ? 1 : 0);
  let pendCount = s.pendCount + 1;
  let points = s.points;
  let stride = s.stride;
  if (pendCount === stride) {
    points = [...points, pendFinite ? pendSum / pendFinite : NaN];
    pendSum = 0;
    pendFinite = 0;
    pendCount = 0;
    if (points.length >= SERIES_MAX) {
      // Halve resolution instead of dropping old steps: the sparkline keeps the whole trend.
      const halved: number[] = [];
      for (let i = 0; i + 1 < points.length; i += 2)
        halved.push(meanFinite(points[i], points[i + 1]));
      points = halved;
      stride *= 2;
    }
  }
  return {
    points,
    stride,
    pendSum,
    pendFinite,
    pendCount,
    last: v,
    first: s.first ?? (finite ? v : null),
  };
}

function meanFinite(a: number, b: number): number {
  const fa = Number.isFinite(a);
  const fb = Number.isFinite(b);
  if (fa && fb) return (a + b) / 2;
  return fa ? a : fb ? b : NaN;
}
