// Top-p (nucleus) selection and inverse-CDF draws over a row of float32 sampling weights
// w_t = exp((logit_t − max) / T), with transformers' TopPLogitsWarper semantics (see sampling.ts):
// the kept set is the smallest prefix of the tokens ranked by weight (ties: lower id first) whose
// mass reaches top_p of the total. Nothing sorts the vocabulary: a radix select on the weights'
// bits narrows the boundary, and a weighted quickselect ranks what is left.

import type { Rng } from '../../core/rng.js';

// float32 logits carry ~1e-7 relative error, so a nucleus whose mass equals top_p up to that
// noise counts as having reached it; otherwise top_p 0.8 over probabilities 0.5, 0.3, ... would
// keep a third token or not depending on rounding. Far below any meaningful top_p step.
const TOP_P_TOLERANCE = 1e-6;

/** The boundary bucket's weights and ids (grown, never shrunk). */
let edgeW = new Float64Array(0);
let edgeIds = new Int32Array(0);

/**
 * The mass the nucleus must reach. The argmax has weight exp(0) = 1, so a positive target always
 * keeps it, and only it when top_p is below the tolerance.
 */
export function nucleusTarget(topP: number, total: number): number {
  return Math.max((topP - TOP_P_TOLERANCE) * total, Number.MIN_VALUE);
}

/** Inverse-CDF draw of a token t over src[base + t], t in [0, V), in token order. */
export function drawFromRow(src: Float32Array, base: number, V: number, u: number): number {
  let acc = 0;
  let last = 0;
  for (let t = 0; t < V; t++) {
    const x = src[base + t];
    if (x > 0) {
      acc += x;
      if (u < acc) return t;
      last = t;
    }
  }
  // Only reachable by rounding in u = f * total; zero-weight (underflowed) tokens stay excluded.
  return last;
}

/**
 * Top-p draw over a whole row of float32 weights src[base + t], t in [0, V), in token order over
 * the kept tokens (see `nucleusCut`); -1 when the weights hold NaN.
 */
export function drawFromNucleus(
  src: Float32Array,
  base: number,
  V: number,
  topP: number,
  rng: Rng,
): number {
  const cut = nucleusCut(src, base, V, topP);
  if (!cut) return -1;
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const u = rng.nextFloat() * cut.mass;
  let acc = 0;
  let last = 0;
  for (let t = 0; t < V; t++) {
    const x = src[base + t];
    if (x > 0 && inNucleus(cut, bits[base + t] >>> 16, x, t)) {
      acc += x;
      if (u < acc) return t;
      last = t;
    }
  }
  return last; // rounding in u, as in drawFromRow
}

/**
 * Which tokens of a row the nucleus keeps: those in radix buckets above `edge`, and those of the
 * `edge` bucket ranked at or above (keepW, keepId). `mass` is the kept tokens' total weight.
 */
interface NucleusCut {
  edge: number;
  keepW: number;
  keepId: number;
  mass: number;
}

/** Whether token t, of weight x in radix bucket k (its float32 bits >>> 16), is kept. */
function inNucleus(cut: NucleusCut, k: number, x: number, t: number): boolean {
  return (
    k > cut.edge || (k === cut.edge && (x > cut.keepW || (x === cut.keepW && t <= cut.keepId)))
  );
}

/**
 * The top-p nucleus of a row of float32 weights src[base + t], without moving them, by one level of
 * radix select: a histogram of (count, mass) keyed by each weight's top 16 bits (sign, exponent,
 * 7 mantissa bits; for non-negative floats larger bits mean a larger value) puts the buckets
 * above the one where the running mass reaches the target wholly in the nucleus and those below
 * wholly out. Only that boundary bucket is copied out and ranked (`nucleusSize`), which gives the
 * lowest-ranked token kept. A sampling model's flat early distributions keep ~80% of a 49k
 * vocabulary at top_p 0.95; ranking them all cost ~0.9 ms a row.
 */
function nucleusCut(
  src: Float32Array,
  base: number,
  V: number,
  topP: number,
): NucleusCut | undefined {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const count = bucketCount;
  const mass = bucketMass;
  let top = 0;
  let bottom = BUCKETS - 1;
  for (let t = 0; t < V; t++) {
    const k = bits[base + t] >>> 16;
    count[k]++;
    mass[k] += src[base + t];
    if (k > top) top = k;
    if (k < bottom) bottom = k;
  }
  // The row's total from the bucket masses saves a pass. NaN weights (bits above every finite
  // float's) make it and the target NaN; boundaryBucket still clears the histogram, and the
  // caller reports them.
  let total = 0;
  for (let k = bottom; k <= top; k++) total += mass[k];
  const target = nucleusTarget(topP, total);
  const { edge, before } = boundaryBucket(bottom, top, 0, target);
  if (Number.isNaN(total)) return undefined;
  // Rounding can leave the whole mass below target: then every token is kept.
  if (edge < bottom) return { edge: -1, keepW: Infinity, keepId: -1, mass: before };

  if (edgeW.length < V) {
    edgeW = new Float64Array(V);
    edgeIds = new Int32Array(V);
  }
  const w = edgeW;
  const id = edgeIds;
  let m = 0;
  for (let t = 0; t < V; t++) {
    if (bits[base + t] >>> 16 === edge) {
      w[m] = src[base + t];
      id[m] = t;
      m++;
    }
  }
  const kept = nucleusSize(w, id, m, before, target);
  const cut = { edge, keepW: Infinity, keepId: -1, mass: before };
  for (let j = 0; j < kept; j++) {
    cut.mass += w[j];
    if (w[j] < cut.keepW || (w[j] === cut.keepW && id[j] > cut.keepId)) {
      cut.keepW = w[j];
      cut.keepId = id[j];
    }
  }
  return cut;
}

/**
 * The token ids top-p keeps from a row of (unnormalised, float32) weights, ascending. For tests:
 * it runs the same selection as sampling.
 */
export function nucleusTokens(row: Float32Array, topP: number): number[] {
  const cut = nucleusCut(row, 0, row.length, topP);
  if (!cut) throw new Error('the weights hold NaN');
  const bits = new Uint32Array(row.buffer, row.byteOffset, row.length);
  const out: number[] = [];
  for (let t = 0; t < row.length; t++)
    if (row[t] > 0 && inNucleus(cut, bits[t] >>> 16, row[t], t)) out.push(t);
  return out;
}

/**
 * Reorders w/id[0 .. m) so that the nucleus comes first and returns its size: the tokens, in
 * descending weight (ties: lower id first), whose preceding mass (plus `massAbove`, the mass of
 * tokens ranked above all of these) is < target.
 *
 * Large sets are narrowed by radix select on the weights' float64 bits, 16 bits a level from the
 * top (for non-negative floats, larger bits mean a larger value): a histogram of (count, mass)
 * per bucket puts the buckets above the one where the running mass reaches the target wholly in
 * the nucleus and those below wholly out, and only that boundary bucket goes on to the next
 * level, then to the exact ranking. A sampling model's flat early distributions keep ~80% of a
 * 49k vocabulary at top_p 0.95; ranking all of them took ~0.9 ms a row.
 */
export function nucleusSize(
  w: Float64Array,
  id: Int32Array,
  m: number,
  massAbove: number,
  target: number,
): number {
  const bits = new Uint32Array(w.buffer, w.byteOffset, 2 * m);
  const count = bucketCount;
  const mass = bucketMass;
  let lo = 0;
  let hi = m;
  let before = massAbove;
  for (let level = 0; level < 4 && hi - lo > BUCKET_MIN; level++) {
    const word = level < 2 ? HIGH : 1 - HIGH;
    const shift = level % 2 === 0 ? 16 : 0;
    let top = 0;
    let bottom = BUCKETS - 1;
    for (let j = lo; j < hi; j++) {
      const k = (bits[2 * j + word] >>> shift) & 0xffff;
      count[k]++;
      mass[k] += w[j];
      if (k > top) top = k;
      if (k < bottom) bottom = k;
    }
    const boundary = boundaryBucket(bottom, top, before, target);
    const edge = boundary.edge;
    before = boundary.before;
    if (edge < bottom) return hi; // rounding left the mass below target: all of [lo, hi) is in
    // Three-way partition: buckets above the edge, then the edge bucket, then the rest.
    let rest = hi;
    for (let j = lo; j < rest;) {
      const k = (bits[2 * j + word] >>> shift) & 0xffff;
      if (k > edge) swapEntries(w, id, j++, lo++);
      else if (k < edge) swapEntries(w, id, j, --rest);
      else j++;
    }
    hi = rest;
  }
  return rankedNucleus(w, id, lo, hi, before, target);
}

/**
 * The boundary bucket of the histogram in bucketCount/bucketMass over [bottom, top]: the first,
 * from the top, whose mass takes the running total (from `before`) to `target`, and the mass of
 * the buckets above it; edge < bottom when the whole mass stays below. Clears the histogram
 * (it is all zeros between uses; only [bottom, top] was touched).
 */
function boundaryBucket(
  bottom: number,
  top: number,
  before: number,
  target: number,
): { edge: number; before: number } {
  const count = bucketCount;
  const mass = bucketMass;
  let edge = top;
  for (; edge >= bottom; edge--) {
    if (count[edge] === 0) continue;
    if (before + mass[edge] >= target) break;
    before += mass[edge];
  }
  count.fill(0, bottom, top + 1);
  mass.fill(0, bottom, top + 1);
  return { edge, before };
}

/** Sets at most this large are ranked directly, without the histogram. */
const BUCKET_MIN = 2048;
/** Radix buckets per level: 16 bits of the float64. */
const BUCKETS = 1 << 16;
const bucketCount = new Int32Array(BUCKETS);
const bucketMass = new Float64Array(BUCKETS);
/** Index of a float64's high 32-bit word in a Uint32Array view: 1 on little-endian machines. */
const HIGH = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1 ? 1 : 0;

function swapEntries(w: Float64Array, id: Int32Array, a: number, b: number): void {
  const tw = w[a];
  w[a] = w[b];
  w[b] = tw;
  const ti = id[a];
  id[a] = id[b];
  id[b] = ti;
}

/**
 * The nucleus end within w/id[lo .. hi), where `before` is the mass of the tokens ranked above
 * the whole range: reorders the range so its nucleus part comes first, in rank order where it
 * matters, and returns the index one past it. Weighted quickselect: expected O(hi − lo), and
 * only the final small range is sorted.
 */
function rankedNucleus(
  w: Float64Array,
  id: Int32Array,
  lo: number,
  hi: number,
  before: number,
  target: number,
): number {
  // `a` ranks above `b`: larger weight, or equal weight and lower id (deterministic ties).
  const above = (a: number, b: number): boolean => w[a] > w[b] || (w[a] === w[b] && id[a] < id[b]);
  while (hi - lo > 16) {
    // Median of three as pivot, parked at hi-1.
    const last = hi - 1;
    const mid = (lo + hi) >>> 1;
    if (above(mid, lo)) swapEntries(w, id, mid, lo);
    if (above(last, lo)) swapEntries(w, id, last, lo);
    if (above(mid, last)) swapEntries(w, id, mid, last);
    const pw = w[last];
    const pid = id[last];
    let store = lo;
    let massAbove = 0;
    for (let j = lo; j < last; j++) {
      const x = w[j];
      if (x > pw || (x === pw && id[j] < pid)) {
        massAbove += x;
        w[j] = w[store];
        w[store] = x;
        const t = id[j];
        id[j] = id[store];
        id[store] = t;
        store++;
      }
    }
    swapEntries(w, id, store, last);
    if (before + massAbove >= target) {
      hi = store;
    } else {
      before += massAbove + pw;
      if (before >= target) return store + 1;
      lo = store + 1;
    }
  }
  for (let i = lo + 1; i < hi; i++) {
    for (let j = i; j > lo && above(j, j - 1); j--) swapEntries(w, id, j, j - 1);
  }
  for (let j = lo; j < hi; j++) {
    if (before >= target) return j;
    before += w[j];
  }
  return hi;
}
