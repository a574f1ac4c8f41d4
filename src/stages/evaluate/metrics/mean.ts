// The arithmetic mean every drift metric averages with, summed left to right from 0 (the order
// the stored values were always computed in, so they stay identical to the last digit):
//
//   mean(x) = (x_1 + … + x_n) / n,   NaN when n = 0
//
// NaN rather than 0 for no data: the metric log stores NaN as null and emits nothing, so a
// metric without inputs shows as missing, not as a real zero.
export const mean = (xs: readonly number[]): number =>
  xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
