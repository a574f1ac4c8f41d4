// Small draws on top of the seeded Rng, which only gives raw numbers.
import type { Rng } from '../core/rng.js';

/** Uniform integer in [lo, hi], both ends included. */
export function int(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng.nextFloat() * (hi - lo + 1));
}

export function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rng.nextFloat() * xs.length)];
}

export { shuffled } from '../core/rng.js';
