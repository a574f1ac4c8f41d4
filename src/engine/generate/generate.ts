import { PipelineError } from '../../core/errors.js';
import type { ModelConfig } from '../model/config.js';
import { newKeyName, newValueName, pastKeyName, pastValueName } from '../model/inference-graphs.js';
import { KvCache } from './kv-cache.js';
import { hostData, tensor, type OrtSession, type Tensor } from '../runtime/ort-session.js';
import { StreamDecoder, type Tokenizer } from '../tokenizer/tokenizer.js';
import { Rng } from '../../core/rng.js';
import {
  greedyToken,
  isGreedy,
  sampleFromGraph,
  validateSampling,
  type SampleResult,
  type SamplingOptions,
} from './sampling.js';
import { StopStringMatcher } from './stop.js';

export interface GenerateOptions extends SamplingOptions {
  /** Candidates per prompt; they share one prefill. */
  n: number;
  maxNewTokens: number;
  seed: number;
  /** Generation ends (finish_reason "stop") when the text contains one of these; it is cut before it. */
  stopStrings: string[];
  /** Keep going past end-of-sequence tokens (for parity checks and benchmarks). */
  ignoreEos: boolean;
  /**
   * When set (0 to 20), every completion also carries each sampled token's text (`tokens`) and,
   * per step, this many most likely tokens with their log-probs (`topLogprobs`). Off by default:
   * a greedy step then has to fetch the logits it otherwise leaves in onnxruntime.
   */
  topLogprobs?: number;
  /**
   * Per-prompt seeds for a several-prompt call: prompt i draws from seeds[i] instead of
   * seed + i * 1_000_003, so a caller that batches unrelated requests (a server) keeps each
   * request's output what it would be alone.
   */
  seeds?: number[];
  /**
   * Decode the candidates of all the prompts of a call together in one batch (a server grouping
   * concurrent requests) instead of one prompt after another. Results then all arrive at the end.
   */
  batchPrompts?: boolean;
  /**
   * Continuous batching (a server): this call's prompts join the decode loop that is running,
   * at its next step, if their sampling agrees (joinKey), else they wait for it to end; calls made
   * while it runs join too. The loop holds at most `maxBatchRows` rows (prompts x n).
   */
  continuous?: boolean;
  maxBatchRows?: number;
}

export const DEFAULT_GENERATE: GenerateOptions = {
  n: 1,
  maxNewTokens: 128,
  seed: 0,
  stopStrings: [],
  ignoreEos: false,
  temperature: 1,
  topP: 1,
  topK: 0,
  greedy: false,
};

export interface Completion {
  text: string;
  /** Sampled ids, including the end-of-sequence token when generation stopped on one. */
  tokenIds: number[];
  finishReason: 'stop' | 'length';
  /** log p(token) under the model's unmodified distribution, one per token id. */
  logprobs: number[];
  /** Each token id's own text (special tokens included); only with `topLogprobs`. */
  tokens?: string[];
  /** Per step, the most likely tokens, most likely first; only with `topLogprobs`. */
  topLogprobs?: TopLogprob[][];
}

export interface TopLogprob {
  id: number;
  token: string;
  logprob: number;
}

export interface GenerateResult {
  promptTokenIds: number[];
  completions: Completion[];
}

export interface GenerateStats {
  prefillTokens: number;
  prefillMs: number;
  decodeTokens: number;
  decodeMs: number;
  /** Continuous batching: the most sequences (of every request) one of this call's steps decoded. */
  maxStepRows?: number;
}

/** One candidate being decoded. */
export interface Row {
  ids: number[];
  logprobs: number[];
  text: string;
  done: boolean;
  finishReason: 'stop' | 'length';
  rng: Rng;
  decoder: StreamDecoder;
  stop?: StopStringMatcher;
  top?: TopLogprob[][];
  /** Called with each piece of text as it is added (streaming). */
  onText?: (piece: string) => void;
}

/** A candidate's new text, as generation adds it: `candidate` is its index in the prompt's n. */
export type OnText = (candidate: number, piece: string) => void;

/**
 * Batched sampling with a KV cache over the decoder graph (see inference-graphs.ts): one prefill
 * of the prompt at batch 1, its cache copied to the n candidates, then one decode step per token
 * for all candidates together. Candidate i draws from its own random stream (seed, i), so its text
 * does not depend on n or on the other candidates.
 */
export class Generator {
  constructor(
    readonly session: OrtSession,
    readonly cfg: ModelConfig,
    readonly tokenizer: Tokenizer,
  ) {}

  /** Next-token logits [vocab] after `ids` (one prefill at batch 1). */
  async lastLogits(ids: number[]): Promise<Float32Array> {
    const out = await this.prefill(ids, ['logits']);
    const logits = hostData<Float32Array>(out.logits).slice();
    out.logits.dispose();
    return logits;
  }

  /**
   * One forward pass over `ids` at batch 1 with an empty cache (decoder graph, see
   * inference-graphs.ts), its sampling weights at inverse temperature `invT`. Also used by
   * continuous.ts.
   */
  async prefill(ids: number[], fetch?: string[], invT = 1): Promise<Record<string, Tensor>> {
    const P = ids.length;
    const { numHiddenLayers: L, numKeyValueHeads: KV, headDim: D } = this.cfg;
    const empty = new Float32Array(0);
    const feeds: Record<string, Tensor> = {
      input_ids: tensor('int64', BigInt64Array.from(ids, BigInt), [1, P]),
      attention_mask: tensor('int64', new BigInt64Array(P).fill(1n), [1, P]),
      position_ids: tensor(
        'int64',
        BigInt64Array.from(ids, (_, i) => BigInt(i)),
        [1, P],
      ),
      inv_temperature: invTemperature(invT),
    };
    for (let l = 0; l < L; l++) {
      feeds[pastKeyName(l)] = tensor('float32', empty, [1, KV, 0, D]);
      feeds[pastValueName(l)] = tensor('float32', empty, [1, KV, 0, D]);
    }
    const out = await this.session.run(feeds, fetch);
    disposeAll(feeds);
    return out;
  }

  /** Refuse options and prompts that cannot be generated (E_GENERATE_*). Also used by continuous.ts. */
  checkRequest(promptIds: number[], opts: GenerateOptions): void {
    validateSampling(opts);
    if (!Number.isInteger(opts.n) || opts.n < 1) {
      throw new PipelineError({
        code: 'E_GENERATE_OPTION',
        message: `n must be a positive integer, got ${opts.n}`,
        hint: 'ask for at least one candidate per prompt',
      });
    }
    if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 1) {
      throw new PipelineError({
        code: 'E_GENERATE_OPTION',
        message: `max_new_tokens must be a positive integer, got ${opts.maxNewTokens}`,
        hint: 'use e.g. --max-new-tokens 128',
      });
    }
    const k = opts.topLogprobs;
    if (k !== undefined && (!Number.isInteger(k) || k < 0 || k > 20)) {
      throw new PipelineError({
        code: 'E_GENERATE_OPTION',
        message: `topLogprobs must be an integer from 0 to 20, got ${k}`,
        hint: 'ask for at most 20 alternatives per token',
      });
    }
    if (promptIds.length === 0) {
      throw new PipelineError({
        code: 'E_GENERATE_EMPTY_PROMPT',
        message: 'the prompt encodes to zero tokens',
        hint: 'give a non-empty prompt',
      });
    }
    const P = promptIds.length;
    const limit = this.cfg.maxPositionEmbeddings;
    if (P + opts.maxNewTokens > limit) {
      throw new PipelineError({
        code: 'E_GENERATE_TOO_LONG',
        message: `prompt (${P} tokens) + max_new_tokens (${opts.maxNewTokens}) exceeds the model's ${limit} positions`,
        hint: 'shorten the prompt or lower --max-new-tokens',
      });
    }
  }

  /** One row per candidate; candidate i draws from its own stream (seed, i). Also used by continuous.ts. */
  newRows(opts: GenerateOptions, onText?: OnText): Row[] {
    const base = new Rng(opts.seed);
    return Array.from({ length: opts.n }, (_, i) => ({
      ids: [],
      logprobs: [],
      text: '',
      done: false,
      finishReason: 'length',
      rng: base.fork(i),
      decoder: new StreamDecoder(this.tokenizer, { skipSpecialTokens: true }),
      stop: opts.stopStrings.length ? new StopStringMatcher(opts.stopStrings) : undefined,
      top: opts.topLogprobs !== undefined ? [] : undefined,
      onText: onText ? (piece: string) => onText(i, piece) : undefined,
    }));
  }

  async generate(
    promptIds: number[],
    opts: GenerateOptions,
    stats?: GenerateStats,
    onText?: OnText,
  ): Promise<GenerateResult> {
    this.checkRequest(promptIds, opts);
    const P = promptIds.length;
    const { n } = opts;
    const eos = new Set(opts.ignoreEos ? [] : this.tokenizer.eosTokenIds);
    const vocab = this.cfg.vocabSize;
    const rows = this.newRows(opts, onText);

    // ---- prefill: batch 1, empty past
    const t0 = performance.now();
    const L = this.cfg.numHiddenLayers;
    const KV = this.cfg.numKeyValueHeads;
    const D = this.cfg.headDim;
    // The graph computes the sampling weights at this temperature (unused when greedy).
    const invT = isGreedy(opts) ? 1 : 1 / opts.temperature;
    const out = await this.prefill(promptIds, undefined, invT);
    if (stats) {
      stats.prefillTokens += P;
      stats.prefillMs += performance.now() - t0;
    }

    // The prompt's keys and values go to every candidate's rows of the cache.
    const cache = new KvCache(L, n, KV, D, P + opts.maxNewTokens);
    // Room for the first decode step too: otherwise that step grows the cache it just filled.
    cache.reserve(P + 1);
    this.appendNew(cache, out, P);
    // Every candidate samples its first token from the same prefill logits.
    const firstDraw = drawsOf(out, vocab, opts);
    const firstTop = this.topOf(out, 0, opts);
    for (const row of rows) {
      row.top?.push(firstTop);
      this.accept(row, firstDraw(0, row.rng), opts, eos);
    }
    disposeAll(out);
    await this.decode(rows, cache, opts, eos, invT, stats);

    return {
      promptTokenIds: promptIds,
      completions: rows.map((r) => this.completionOf(r)),
    };
  }

  /** A row's completion (its text flushed). Also used by continuous.ts. */
  completionOf(r: Row): Completion {
    if (!r.done) this.finishText(r);
    return {
      text: r.text,
      tokenIds: r.ids,
      finishReason: r.finishReason,
      logprobs: r.logprobs,
      ...(r.top ? { tokens: r.ids.map((id) => this.tokenText(id)), topLogprobs: r.top } : {}),
    };
  }

  /**
   * Several prompts at once: each is prefilled alone (batch 1), then the candidates of all of
   * them decode together in one batch, the shorter prompts left-padded in the cache and masked.
   * Prompt j draws from seeds[j] exactly as `generate` would with that seed alone (up to float
   * rounding in a larger batch). Every prompt is checked before anything is decoded.
   */
  async generateMany(
    prompts: number[][],
    opts: GenerateOptions,
    seeds: number[],
    stats?: GenerateStats,
    onText?: (prompt: number, candidate: number, piece: string) => void,
  ): Promise<GenerateResult[]> {
    for (const ids of prompts) this.checkRequest(ids, opts);
    const { n } = opts;
    const eos = new Set(opts.ignoreEos ? [] : this.tokenizer.eosTokenIds);
    const vocab = this.cfg.vocabSize;
    const L = this.cfg.numHiddenLayers;
    const KV = this.cfg.numKeyValueHeads;
    const D = this.cfg.headDim;
    const invT = isGreedy(opts) ? 1 : 1 / opts.temperature;
    const Pmax = Math.max(...prompts.map((p) => p.length));
    const rows = prompts.flatMap((_, j) =>
      this.newRows(
        { ...opts, seed: seeds[j] },
        onText ? (candidate, piece) => onText(j, candidate, piece) : undefined,
      ),
    );
    const starts = prompts.flatMap((p) => Array<number>(n).fill(Pmax - p.length));
    const cache = new KvCache(L, rows.length, KV, D, Pmax + opts.maxNewTokens, 16, starts);
    cache.reserve(Pmax + 1);
    for (const [j, ids] of prompts.entries()) {
      const t0 = performance.now();
      const out = await this.prefill(ids, undefined, invT);
      if (stats) {
        stats.prefillTokens += ids.length;
        stats.prefillMs += performance.now() - t0;
      }
      const keys = Array.from({ length: L }, (_, l) => hostData<Float32Array>(out[newKeyName(l)]));
      const values = Array.from({ length: L }, (_, l) =>
        hostData<Float32Array>(out[newValueName(l)]),
      );
      cache.writeRows(keys, values, ids.length, j * n, (j + 1) * n, Pmax - ids.length);
      const firstDraw = drawsOf(out, vocab, opts);
      const firstTop = this.topOf(out, 0, opts);
      for (const row of rows.slice(j * n, (j + 1) * n)) {
        row.top?.push(firstTop);
        this.accept(row, firstDraw(0, row.rng), opts, eos);
      }
      disposeAll(out);
    }
    cache.length = Pmax;
    await this.decode(rows, cache, opts, eos, invT, stats);
    return prompts.map((ids, j) => ({
      promptTokenIds: ids,
      completions: rows.slice(j * n, (j + 1) * n).map((r) => this.completionOf(r)),
    }));
  }

  /** Decode: all candidates step together; finished rows feed padding and are ignored. */
  private async decode(
    rows: Row[],
    cache: KvCache,
    opts: GenerateOptions,
    eos: Set<number>,
    invT: number,
    stats: GenerateStats | undefined,
  ): Promise<void> {
    const n = rows.length;
    const vocab = this.cfg.vocabSize;
    const t1 = performance.now();
    let steps = 0;
    for (let t = 1; t < opts.maxNewTokens && rows.some((r) => !r.done); t++) {
      const out = await this.step(rows, cache, opts, invT);
      const draw = drawsOf(out, vocab, opts);
      rows.forEach((row, i) => {
        if (row.done) return;
        row.top?.push(this.topOf(out, i, opts));
        this.accept(row, draw(i, row.rng), opts, eos);
      });
      disposeAll(out);
      steps++;
    }
    if (stats) {
      stats.decodeTokens += steps * n;
      stats.decodeMs += performance.now() - t1;
    }
  }

  /**
   * One decode step of every row (finished rows feed padding, masked by nothing but ignored):
   * the new keys and values go into the cache, the outputs (draw inputs) are the caller's to
   * dispose. Also used by continuous.ts.
   */
  async step(
    rows: Row[],
    cache: KvCache,
    opts: GenerateOptions,
    invT: number,
  ): Promise<Record<string, Tensor>> {
    const n = rows.length;
    const L = this.cfg.numHiddenLayers;
    const pad = this.tokenizer.batchPadId;
    // A greedy step needs only the graph's per-row argmax and log-prob terms: the logits (1.5 MB
    // at batch 8 for a 49k vocabulary) stay in onnxruntime, and the host scans nothing.
    const fetch =
      isGreedy(opts) && opts.topLogprobs === undefined
        ? [
            'argmax',
            'max_logit',
            'logsumexp',
            ...Array.from({ length: L }, (_, l) => [newKeyName(l), newValueName(l)]).flat(),
          ]
        : undefined;
    const feeds: Record<string, Tensor> = {
      input_ids: tensor(
        'int64',
        BigInt64Array.from(rows, (r) => BigInt(r.done ? pad : r.ids[r.ids.length - 1])),
        [n, 1],
      ),
      attention_mask: cache.attentionMask(1),
      position_ids: tensor(
        'int64',
        BigInt64Array.from(rows, (_, i) => BigInt(cache.length - cache.startOf(i))),
        [n, 1],
      ),
      inv_temperature: invTemperature(invT),
      ...cache.feeds(),
    };
    const out = await this.session.run(feeds, fetch);
    disposeAll(feeds);
    this.appendNew(cache, out, 1);
    return out;
  }

  /** Row i's `topLogprobs` most likely next tokens (none when the option is off or 0). Also used by continuous.ts. */
  topOf(out: Record<string, Tensor>, i: number, opts: GenerateOptions): TopLogprob[] {
    const k = opts.topLogprobs ?? 0;
    if (k === 0) return [];
    const vocab = this.cfg.vocabSize;
    const logits = hostData<Float32Array>(out.logits);
    const lse = hostData<Float32Array>(out.logsumexp)[i];
    const ids = topIds(logits, i * vocab, vocab, k);
    return ids.map((id) => ({
      id,
      token: this.tokenText(id),
      logprob: logits[i * vocab + id] - lse,
    }));
  }

  /** One id's text; '' for the padding ids of a vocabulary larger than the tokenizer's. */
  private tokenText(id: number): string {
    return this.tokenizer.idToToken(id) === undefined ? '' : this.tokenizer.decode([id]);
  }

  /** Write a run's new keys and values (`seq` positions per layer) into the cache. Also used by continuous.ts. */
  appendNew(cache: KvCache, out: Record<string, Tensor>, seq: number): void {
    const L = this.cfg.numHiddenLayers;
    cache.append(
      Array.from({ length: L }, (_, l) => hostData<Float32Array>(out[newKeyName(l)])),
      Array.from({ length: L }, (_, l) => hostData<Float32Array>(out[newValueName(l)])),
      seq,
    );
  }

  /** Take one row's drawn token and update its text, stop state and finish reason. Also used by continuous.ts. */
  accept(
    row: Row,
    { token, logprob }: SampleResult,
    opts: GenerateOptions,
    eos: Set<number>,
  ): void {
    row.ids.push(token);
    row.logprobs.push(logprob);
    if (eos.has(token)) {
      row.finishReason = 'stop';
      this.finishText(row);
      return;
    }
    const delta = row.decoder.update(row.ids);
    if (row.stop) {
      const { emit, stopped } = row.stop.push(delta);
      addText(row, emit);
      if (stopped) {
        row.done = true;
        row.finishReason = 'stop';
        return;
      }
    } else {
      addText(row, delta);
    }
    if (row.ids.length >= opts.maxNewTokens) this.finishText(row);
  }

  private finishText(row: Row): void {
    if (row.done) return;
    row.done = true;
    const rest = row.decoder.flush();
    if (row.stop) {
      const { emit, stopped } = row.stop.push(rest);
      addText(row, emit);
      if (stopped) row.finishReason = 'stop';
      else addText(row, row.stop.flush());
    } else {
      addText(row, rest);
    }
  }
}

function addText(row: Row, piece: string): void {
  if (!piece) return;
  row.text += piece;
  row.onText?.(piece);
}

/**
 * How row i of a decoder run draws its next token: from the graph's argmax and log-prob terms
 * when greedy (the logits may not have been fetched), else by sampling its logits with the
 * weights the graph computed at the options' temperature.
 */
export function drawsOf(
  out: Record<string, Tensor>,
  vocab: number,
  opts: SamplingOptions,
): (i: number, rng: Rng) => SampleResult {
  const lse = hostData<Float32Array>(out.logsumexp);
  const max = hostData<Float32Array>(out.max_logit);
  if (isGreedy(opts)) {
    const arg = hostData<BigInt64Array>(out.argmax);
    return (i) => greedyToken(Number(arg[i]), max[i], lse[i]);
  }
  const logits = hostData<Float32Array>(out.logits);
  const weights = hostData<Float32Array>(out.sampling_weights);
  return (i, rng) =>
    sampleFromGraph(logits, i * vocab, vocab, opts, rng, {
      logSumExp: lse[i],
      maxLogit: max[i],
      weights,
    });
}

/** The k largest of logits[offset, offset + length), largest first (a k-slot insertion list). */
function topIds(logits: Float32Array, offset: number, length: number, k: number): number[] {
  const ids: number[] = [];
  for (let j = 0; j < length; j++) {
    const v = logits[offset + j];
    if (ids.length === k && v <= logits[offset + ids[k - 1]]) continue;
    let at = ids.length === k ? k - 1 : ids.length;
    while (at > 0 && logits[offset + ids[at - 1]] < v) at--;
    ids.splice(at, 0, j);
    if (ids.length > k) ids.pop();
  }
  return ids;
}

function invTemperature(invT: number): Tensor {
  return tensor('float32', Float32Array.of(invT), [1]);
}

export function disposeAll(feeds: Record<string, Tensor>): void {
  for (const t of Object.values(feeds)) t.dispose();
}
