// A stage's rate and ETA from its recent progress: a window of at most RATE_SAMPLES samples at
// least RATE_SAMPLE_MS apart, so an event flood costs O(1) and the rate follows the recent pace.

import type { StageView } from './types.js';

/** Progress samples kept per stage for the items/s rate, and their minimum spacing. */
export const RATE_SAMPLES = 30;
export const RATE_SAMPLE_MS = 500;

export function withProgress(st: StageView, t: number, done: number, total: number): StageView {
  let samples = st.samples;
  const prev = samples[samples.length - 1];
  if (prev && done < prev.done) samples = []; // the count restarted (a retried batch)
  const beforeLast = samples[samples.length - 2];
  // Keep samples at least RATE_SAMPLE_MS apart: a flood of events only moves the newest one.
  if (samples.length >= 2 && t - beforeLast.t < RATE_SAMPLE_MS)
    samples = [...samples.slice(0, -1), { t, done }];
  else samples = [...samples.slice(-(RATE_SAMPLES - 1)), { t, done }];

  const first = samples[0];
  const last = samples[samples.length - 1];
  const dt = (last.t - first.t) / 1000;
  const rate = dt > 0 && last.done > first.done ? (last.done - first.done) / dt : st.rate;
  const left = Math.max(0, total - done);
  const eta = total > 0 && left === 0 ? 0 : rate && rate > 0 && total > 0 ? left / rate : null;
  return { ...st, done, total, samples, rate, eta };
}
