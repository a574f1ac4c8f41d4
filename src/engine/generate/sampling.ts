// Next-token sampling with Hugging Face transformers' semantics, so a pipeline's
// `temperature/top_p/top_k` mean what they mean in `model.generate()` and in vLLM.
//
// Source of the semantics: transformers/generation/logits_process.py (TemperatureLogitsWarper,
// TopKLogitsWarper, TopPLogitsWarper) applied in the order `_get_logits_processor` builds them:
// temperature, then top-k, then top-p, then softmax + multinomial. In particular:
// - top-k removes tokens whose logit is strictly below the k-th largest, so tokens tied with the
//   k-th are all kept; k >= vocab is a no-op; 0 disables it.
// - top-p sorts what survived top-k, renormalises it, and removes a token when the mass of the
//   tokens ranked above it already reaches top_p: the kept set is the smallest prefix whose
//   cumulative probability is >= top_p, and never empty. top_p = 1 disables it.
// - greedy (or temperature 0, which transformers rejects and vLLM treats as greedy) is argmax.
//
// Everything runs in float64 over the float32 logits, except that a full-vocabulary draw picks
// from float32 weights exp((logit − max) / T): the decoder graph's `sampling_weights`, or computed
// here one exp per token. Per call the work is a few linear passes over the vocabulary; top-k uses
// a size-k heap and top-p a radix select plus a weighted quickselect (top-p.ts), so nothing sorts
// the vocabulary. Scratch arrays are reused across calls (each worker thread has its own module
// instance, and sampling is synchronous).

import { fail } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { drawFromNucleus, drawFromRow, nucleusSize, nucleusTarget } from './top-p.js';

export interface SamplingOptions {
  /** Divides the logits before top-k/top-p; 0 means greedy. Must be finite and >= 0. */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 disables it. */
  topP: number;
  /** Keep only the k largest logits (plus ties with the k-th); 0 disables it. */
  topK: number;
  /** Argmax decoding (lowest token id on ties); the other options are then ignored. */
  greedy: boolean;
}

export const DEFAULT_SAMPLING: Readonly<SamplingOptions> = Object.freeze({
  temperature: 1,
  topP: 1,
  topK: 0,
  greedy: false,
});

/**
 * `logprob` is log p(token) under the model's UNMODIFIED distribution: log-softmax of the raw
 * logits, at temperature 1 and before top-k/top-p. This is the convention of vLLM's and TRL's
 * "logprobs" and what DPO scoring needs (a reference model scores the same way, with no sampling
 * warpers), so changing the sampling options changes which token is drawn but never how the
 * drawn token is scored.
 */
export interface SampleResult {
  /** Token id in [0, vocabSize), relative to `offset`. */
  token: number;
  logprob: number;
}

function badOption(name: string, expected: string, got: unknown, hint: string): never {
  fail(
    'E_SAMPLING_OPTION',
    `invalid sampling option ${name}: expected ${expected}, got ${String(got)}`,
    hint,
  );
}

/** Throws E_SAMPLING_OPTION naming the first invalid option. */
export function validateSampling(o: SamplingOptions): void {
  const { temperature, topP, topK, greedy } = o;
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0)
    badOption(
      'temperature',
      'a finite number >= 0',
      temperature,
      'use 0 (or greedy) for argmax decoding; values around 0.6-1.0 are typical for sampling',
    );
  if (typeof topP !== 'number' || !(topP > 0 && topP <= 1))
    badOption(
      'topP',
      'a number in (0, 1]',
      topP,
      'top_p in a pipeline file; 1 disables nucleus sampling, 0.9-0.95 are typical',
    );
  if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 0)
    badOption(
      'topK',
      'an integer >= 0',
      topK,
      'top_k in a pipeline file; 0 disables top-k, 50 is transformers’ usual value',
    );
  if (typeof greedy !== 'boolean')
    badOption('greedy', 'true or false', greedy, 'set greedy: true for argmax decoding');
}

function checkRange(logits: Float32Array, offset: number, length: number): void {
  if (
    !Number.isInteger(offset) ||
    !Number.isInteger(length) ||
    offset < 0 ||
    length < 1 ||
    offset + length > logits.length
  )
    fail(
      'E_SAMPLING_INPUT',
      `logits slice [${offset}, ${offset}+${length}) is not inside an array of ${logits.length}`,
      'pass the row offset (row * vocabSize) and the vocabulary size of the model',
    );
}

/**
 * log(sum(exp(logits[offset .. offset+length)))), max-shifted with float64 accumulation.
 * NaN or +Infinity anywhere gives NaN; all -Infinity gives -Infinity.
 */
export function logSumExp(logits: Float32Array, offset: number, length: number): number {
  checkRange(logits, offset, length);
  const end = offset + length;
  let max = -Infinity;
  for (let i = offset; i < end; i++) if (logits[i] > max) max = logits[i];
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = offset; i < end; i++) sum += Math.exp(logits[i] - max);
  return max + Math.log(sum);
}

/**
 * Log-softmax of one row, numerically stable (max-shifted, float64 accumulation). Writes into
 * `out[0 .. length)` when given (so a caller scoring many rows allocates once) and returns it.
 */
export function logSoftmax(
  logits: Float32Array,
  offset: number,
  length: number,
  out?: Float64Array,
): Float64Array {
  checkRange(logits, offset, length);
  if (out !== undefined && out.length < length)
    fail(
      'E_SAMPLING_INPUT',
      `logSoftmax output holds ${out.length} values but the row has ${length}`,
      'pass an output array at least as long as the vocabulary, or none',
    );
  const res = out ?? new Float64Array(length);
  const end = offset + length;
  let max = -Infinity;
  for (let i = offset; i < end; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = offset; i < end; i++) sum += Math.exp(logits[i] - max);
  const logSum = Math.log(sum);
  for (let i = 0; i < length; i++) res[i] = logits[offset + i] - max - logSum;
  return res;
}

// ---- scratch (grown, never shrunk) ------------------------------------------------------------

let weights = new Float64Array(0);
let weights32 = new Float32Array(0);
let ids = new Int32Array(0);
let heap = new Float64Array(0);

function ensureScratch(n: number): void {
  if (weights.length < n) {
    weights = new Float64Array(n);
    weights32 = new Float32Array(n);
    ids = new Int32Array(n);
  }
}

/**
 * Draws the next token. `logits[offset .. offset+vocabSize)` is one row of raw model logits.
 * Consumes exactly one `rng.nextFloat()` per non-greedy call (whatever top-k/top-p leave), and
 * none when greedy, so the stream position depends only on how many tokens were sampled.
 *
 * `logSumExp`, when given, is the row's log-partition log Σ exp(logits) as the model graph
 * computed it (the decoder's `logsumexp` output); the log-prob is then logit − logSumExp, and
 * greedy and top-k draws skip the exp over the whole vocabulary that dominates this function.
 * `samplingWeights`, when given, holds exp((logits − max) / temperature) at the same offsets,
 * computed by the graph at `opts.temperature` (the decoder's `sampling_weights`), and replaces
 * that exp.
 */
export function sampleToken(
  logits: Float32Array,
  offset: number,
  vocabSize: number,
  opts: SamplingOptions,
  rng: Rng,
  logSumExp?: number,
  samplingWeights?: Float32Array,
): SampleResult {
  checkRange(logits, offset, vocabSize);
  if (samplingWeights !== undefined) checkWeights(logits, samplingWeights);
  validateSampling(opts);
  const end = offset + vocabSize;
  const given = samplingWeights;
  const { max, arg } = rowMax(logits, offset, end);

  const invT = 1 / opts.temperature;
  // A subnormal temperature overflows 1/T like 0 does; both mean argmax.
  const greedy = isGreedy(opts);
  const topK = opts.topK > 0 && opts.topK < vocabSize ? opts.topK : 0;
  // Without top-k every token is a candidate, drawn from float32 weights over the whole row: the
  // graph's, or computed here into scratch (then src[base + t] is token t's weight either way).
  const fullVocab = !greedy && topK === 0;
  let src = given;
  let base = offset;
  let total = 0;
  let exactTotal = 0; // float64 exps at temperature 1 give the log-partition to full precision
  if (fullVocab && !given) {
    ({ w: src, total, exactTotal } = hostWeights(logits, offset, vocabSize, max, invT));
    base = 0;
  }
  // log p(token) = logit − max − logSum, logSum = log Σ exp(logit − max): the caller's
  // log-partition when given, else the weights' total when they are at temperature 1, else a pass.
  let logSum: number;
  if (logSumExp !== undefined) {
    logSum = logSumExp - max;
  } else if (fullVocab && !given && invT === 1) {
    logSum = Math.log(exactTotal);
  } else {
    let sum = 0;
    for (let i = offset; i < end; i++) sum += Math.exp(logits[i] - max);
    logSum = Math.log(sum);
  }
  if (Number.isNaN(logSum) || Number.isNaN(total)) badLogits(NaN);

  let token: number;
  if (greedy) {
    token = arg - offset;
  } else if (fullVocab && src) {
    // The host weights' total is known; the graph's is summed (or histogrammed) by the draw.
    token = drawFromWeights(src, base, vocabSize, opts.topP, rng, given ? undefined : total);
  } else {
    token = drawTopK(logits, offset, end, { topK, max, invT, given, topP: opts.topP }, rng);
  }
  return { token, logprob: logits[offset + token] - max - logSum };
}

/** The row's largest logit and its index (the first one on ties); refuses NaN/+∞ rows. */
function rowMax(logits: Float32Array, offset: number, end: number): { max: number; arg: number } {
  let max = -Infinity;
  let arg = -1;
  for (let i = offset; i < end; i++) {
    if (logits[i] > max) {
      max = logits[i];
      arg = i;
    }
  }
  if (arg < 0 || max === Infinity) badLogits(max);
  return { max, arg };
}

/**
 * exp((logit − max) / T) of the whole row into the float32 scratch, with their float32 total
 * (what the draw scans) and float64 total (the log-partition at temperature 1).
 */
function hostWeights(
  logits: Float32Array,
  offset: number,
  vocabSize: number,
  max: number,
  invT: number,
): { w: Float32Array; total: number; exactTotal: number } {
  const end = offset + vocabSize;
  let total = 0;
  let exactTotal = 0;
  ensureScratch(vocabSize);
  const w = weights32;
  for (let i = offset; i < end; i++) {
    const e = Math.exp((logits[i] - max) * invT); // at temperature 1 the product is exact
    exactTotal += e;
    w[i - offset] = e;
    total += w[i - offset];
  }
  return { w, total, exactTotal };
}

/**
 * Top-k (then top-p within it): the candidates are compacted into weights/ids[0 .. m) in token
 * order, weighted by the graph's sampling weights or exp((logit − max) / T).
 */
function drawTopK(
  logits: Float32Array,
  offset: number,
  end: number,
  o: { topK: number; max: number; invT: number; given?: Float32Array; topP: number },
  rng: Rng,
): number {
  const { max, invT, given } = o;
  const threshold = kthLargest(logits, offset, end, o.topK);
  ensureScratch(end - offset);
  const w = weights;
  const id = ids;
  let total = 0;
  let m = 0;
  for (let i = offset; i < end; i++) {
    if (logits[i] >= threshold) {
      const e = given ? given[i] : Math.exp((logits[i] - max) * invT);
      w[m] = e;
      id[m] = i - offset;
      total += e;
      m++;
    }
  }
  if (o.topP < 1) {
    m = nucleusSize(w, id, m, 0, nucleusTarget(o.topP, total));
    total = 0;
    for (let j = 0; j < m; j++) total += w[j];
  }
  return id[pickIndex(w, m, rng.nextFloat() * total)];
}

/** Whether `opts` draw the argmax: greedy, or a temperature so small that 1/T overflows. */
export function isGreedy(opts: SamplingOptions): boolean {
  return opts.greedy || 1 / opts.temperature === Infinity;
}

/**
 * The greedy draw of one row from the statistics the decoder graph computes over its logits
 * (argmax, max logit, log-partition), so the logits need not leave the graph. Same token, same
 * log-prob and same errors as `sampleToken` on the logits with `isGreedy` options.
 */
export function greedyToken(argMax: number, maxLogit: number, logSumExp: number): SampleResult {
  const logSum = graphLogSum(maxLogit, logSumExp);
  return { token: argMax, logprob: maxLogit - maxLogit - logSum };
}

/**
 * log Σ exp(logit − max) from the graph's max logit and log-partition, with the errors
 * `sampleToken` raises for logits holding Infinity, NaN or only -Infinity.
 */
function graphLogSum(maxLogit: number, logSumExp: number): number {
  if (!Number.isFinite(maxLogit)) badLogits(maxLogit);
  const logSum = logSumExp - maxLogit;
  if (Number.isNaN(logSum)) badLogits(NaN);
  return logSum;
}

/** What the decoder graph computes over one row of logits (see inference-graphs.ts). */
export interface GraphRowStats {
  /** log Σ exp(logits): the row's log-partition at temperature 1. */
  logSumExp: number;
  maxLogit: number;
  /**
   * exp((logits − maxLogit) / T) at the options' temperature, the whole batch laid out like the
   * logits (the row at the same offset).
   */
  weights: Float32Array;
}

/**
 * A non-greedy draw of one row from the decoder graph's statistics: the same distribution, log-prob
 * and errors as `sampleToken(logits, offset, vocabSize, opts, rng, logSumExp, weights)`, without
 * the passes over the vocabulary that the graph already made (max, total). Top-k goes through
 * `sampleToken`.
 */
export function sampleFromGraph(
  logits: Float32Array,
  offset: number,
  vocabSize: number,
  opts: SamplingOptions,
  rng: Rng,
  row: GraphRowStats,
): SampleResult {
  if (isGreedy(opts) || (opts.topK > 0 && opts.topK < vocabSize))
    return sampleToken(logits, offset, vocabSize, opts, rng, row.logSumExp, row.weights);
  checkRange(logits, offset, vocabSize);
  checkWeights(logits, row.weights);
  validateSampling(opts);
  const logSum = graphLogSum(row.maxLogit, row.logSumExp);
  const token = drawFromWeights(row.weights, offset, vocabSize, opts.topP, rng);
  return { token, logprob: logits[offset + token] - row.maxLogit - logSum };
}

/**
 * A draw of token t over float32 weights src[base + t], t in [0, V), with top-p applied; `total`
 * is their sum when the caller already has it. NaN weights raise E_SAMPLING_LOGITS.
 */
function drawFromWeights(
  src: Float32Array,
  base: number,
  V: number,
  topP: number,
  rng: Rng,
  total?: number,
): number {
  if (topP < 1) {
    const token = drawFromNucleus(src, base, V, topP, rng);
    if (token < 0) badLogits(NaN);
    return token;
  }
  let sum = total ?? 0;
  if (total === undefined) for (let i = base; i < base + V; i++) sum += src[i];
  if (Number.isNaN(sum)) badLogits(NaN);
  return drawFromRow(src, base, V, rng.nextFloat() * sum);
}

function checkWeights(logits: Float32Array, weights: Float32Array): void {
  if (weights.length !== logits.length)
    fail(
      'E_SAMPLING_INPUT',
      `sampling weights hold ${weights.length} values but the logits ${logits.length}`,
      'pass the sampling_weights output of the same decoder run as the logits',
    );
}

function badLogits(max: number): never {
  fail(
    'E_SAMPLING_LOGITS',
    `cannot sample from logits containing ${Number.isNaN(max) || max === -Infinity ? 'NaN or only -Infinity' : 'Infinity'}`,
    'the model produced non-finite logits: check the weights (float16 overflow?) and the inputs',
  );
}

/** Inverse-CDF draw over w[0 .. m); `u` is uniform in [0, sum of w[0 .. m)). */
function pickIndex(w: Float64Array, m: number, u: number): number {
  let acc = 0;
  let last = 0;
  for (let j = 0; j < m; j++) {
    const x = w[j];
    if (x > 0) {
      acc += x;
      if (u < acc) return j;
      last = j;
    }
  }
  // Only reachable by rounding in u = f * total; zero-weight (underflowed) tokens stay excluded.
  return last;
}

/** The k-th largest logit (1-based), via a size-k min-heap: O(V) compares plus few sifts. */
function kthLargest(logits: Float32Array, start: number, end: number, k: number): number {
  if (heap.length < k) heap = new Float64Array(k);
  const h = heap;
  for (let n = 0; n < k; n++) {
    // Sift up.
    const v = logits[start + n];
    let c = n;
    while (c > 0) {
      const p = (c - 1) >> 1;
      if (h[p] <= v) break;
      h[c] = h[p];
      c = p;
    }
    h[c] = v;
  }
  for (let i = start + k; i < end; i++) {
    const v = logits[i];
    if (v <= h[0]) continue;
    // Replace the root and sift down.
    let c = 0;
    for (;;) {
      const l = 2 * c + 1;
      if (l >= k) break;
      const r = l + 1;
      const s = r < k && h[r] < h[l] ? r : l;
      if (h[s] >= v) break;
      h[c] = h[s];
      c = s;
    }
    h[c] = v;
  }
  return h[0];
}
