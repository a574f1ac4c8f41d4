// Continuous batching: one decode loop that takes new requests at step boundaries, so a request
// that arrives while others decode starts at the next step instead of waiting for them to end
// (a server's time to first token), and one that ends leaves the batch at once. Each request is
// prefilled alone (batch 1), its rows join the cache left-padded to where the others are (see
// KvCache.regroup), and from then on every row steps together. A prompt draws from its own seed
// as it would alone (up to float rounding in a different batch).
import { newKeyName, newValueName } from '../model/inference-graphs.js';
import { hostData } from '../runtime/ort-session.js';
import {
  disposeAll,
  drawsOf,
  type GenerateOptions,
  type GenerateResult,
  type GenerateStats,
  type Generator,
  type Row,
} from './generate.js';
import { KvCache } from './kv-cache.js';
import { isGreedy } from './sampling.js';

/** One request: its prompts (token ids), options (n, length, stops, seeds) and its callbacks. */
export interface JoiningRequest {
  prompts: number[][];
  opts: GenerateOptions;
  seeds: number[];
  onText?: (prompt: number, candidate: number, piece: string) => void;
  /** This request's own counts: its prefills, its rows' decoded tokens, the steps it shared. */
  stats: GenerateStats;
  resolve: (results: GenerateResult[]) => void;
  reject: (e: unknown) => void;
}

/** What must agree for requests to share decode steps: the sampling the graph and draws do. */
export function joinKey(o: GenerateOptions): string {
  return JSON.stringify([o.temperature, o.topP, o.topK, !!o.greedy, o.topLogprobs ?? null]);
}

interface Active {
  req: JoiningRequest;
  /** Its rows, prompt-major (prompt j's candidate i is rows[j * n + i]). */
  rows: Row[];
  eos: Set<number>;
}

/**
 * Decode until no request is left: `pull(room)` hands over waiting requests (of this loop's
 * joinKey) with at most `room` rows in all, and is asked again before every step.
 */
export async function decodeJoining(
  gen: Generator,
  maxRows: number,
  pull: (room: number) => JoiningRequest[],
): Promise<void> {
  const cfg = gen.cfg;
  const dims = { layers: cfg.numHiddenLayers, kvHeads: cfg.numKeyValueHeads, headDim: cfg.headDim };
  const vocab = cfg.vocabSize;
  let cache: KvCache | undefined;
  let actives: Active[] = [];
  let shared: GenerateOptions | undefined; // the sampling every active request agrees on
  try {
    for (;;) {
      const room = maxRows - actives.reduce((s, a) => s + a.rows.length, 0);
      const incoming = pull(room).filter((req) => admit(gen, req));
      const finished = actives.filter((a) => a.rows.every((r) => r.done));
      for (const a of finished)
        a.req.resolve(
          a.req.prompts.map((ids, j) => ({
            promptTokenIds: ids,
            completions: a.rows
              .slice(j * a.req.opts.n, (j + 1) * a.req.opts.n)
              .map((r) => gen.completionOf(r)),
          })),
        );
      if (incoming.length || finished.length) {
        const keep: number[] = [];
        let at = 0;
        const kept: Active[] = [];
        for (const a of actives) {
          if (!finished.includes(a)) {
            a.rows.forEach((_, k) => keep.push(at + k));
            kept.push(a);
          }
          at += a.rows.length;
        }
        const joined = incoming.map((req) => newActive(gen, req));
        const room2 = Math.max(0, ...[...kept, ...joined].map((a) => a.req.opts.maxNewTokens)) + 1;
        const added = incoming.flatMap((req) =>
          req.prompts.flatMap((ids) => Array<number>(req.opts.n).fill(ids.length)),
        );
        cache = KvCache.regroup(dims, cache, keep, added, room2);
        actives = [...kept, ...joined];
        shared = actives[0]?.req.opts;
        let row = keep.length;
        for (const a of joined) {
          await prefillInto(gen, a, cache, row);
          row += a.rows.length;
        }
      }
      const rows = actives.flatMap((a) => a.rows);
      if (rows.length === 0) return;
      if (rows.every((r) => r.done)) continue;
      await step(gen, actives, rows, cache!, shared!, vocab);
      // let the worker take the messages that arrived during the step (new requests)
      await new Promise((r) => setImmediate(r));
    }
  } catch (e) {
    for (const a of actives) a.req.reject(e);
    throw e;
  }
}

/** A request the engine can serve (else it is refused alone, the loop goes on). */
function admit(gen: Generator, req: JoiningRequest): boolean {
  try {
    for (const ids of req.prompts) gen.checkRequest(ids, req.opts);
    return true;
  } catch (e) {
    req.reject(e);
    return false;
  }
}

function newActive(gen: Generator, req: JoiningRequest): Active {
  const rows = req.prompts.flatMap((_, j) =>
    gen.newRows(
      { ...req.opts, seed: req.seeds[j] },
      req.onText ? (candidate, piece) => req.onText!(j, candidate, piece) : undefined,
    ),
  );
  const eos = new Set(req.opts.ignoreEos ? [] : gen.tokenizer.eosTokenIds);
  return { req, rows, eos };
}

/** Prefill each prompt of a joining request alone and write it into its rows from `row` on. */
async function prefillInto(gen: Generator, a: Active, cache: KvCache, row: number): Promise<void> {
  const { n } = a.req.opts;
  const stats = a.req.stats;
  const L = gen.cfg.numHiddenLayers;
  const invT = isGreedy(a.req.opts) ? 1 : 1 / a.req.opts.temperature;
  for (const [j, ids] of a.req.prompts.entries()) {
    const t0 = performance.now();
    const out = await gen.prefill(ids, undefined, invT);
    stats.prefillTokens += ids.length;
    stats.prefillMs += performance.now() - t0;
    const keys = Array.from({ length: L }, (_, l) => hostData<Float32Array>(out[newKeyName(l)]));
    const values = Array.from({ length: L }, (_, l) =>
      hostData<Float32Array>(out[newValueName(l)]),
    );
    const from = row + j * n;
    cache.writeRows(keys, values, ids.length, from, from + n, cache.length - ids.length);
    const firstDraw = drawsOf(out, gen.cfg.vocabSize, a.req.opts);
    const firstTop = gen.topOf(out, 0, a.req.opts);
    for (const r of a.rows.slice(j * n, (j + 1) * n)) {
      r.top?.push(firstTop);
      gen.accept(r, firstDraw(0, r.rng), a.req.opts, a.eos);
    }
    disposeAll(out);
  }
}

/** One decode step of every row; finished rows feed padding and are ignored. */
async function step(
  gen: Generator,
  actives: Active[],
  rows: Row[],
  cache: KvCache,
  opts: GenerateOptions,
  vocab: number,
): Promise<void> {
  const n = rows.length;
  const t0 = performance.now();
  const out = await gen.step(rows, cache, opts, isGreedy(opts) ? 1 : 1 / opts.temperature);
  const draw = drawsOf(out, vocab, opts);
  let i = 0;
  for (const a of actives)
    for (const r of a.rows) {
      if (!r.done) {
        r.top?.push(gen.topOf(out, i, a.req.opts));
        gen.accept(r, draw(i, r.rng), a.req.opts, a.eos);
      }
      i++;
    }
  disposeAll(out);
  const ms = performance.now() - t0;
  for (const a of actives) {
    const s = a.req.stats;
    s.decodeTokens += a.rows.length;
    s.decodeMs += ms;
    s.maxStepRows = Math.max(s.maxStepRows ?? 0, n);
  }
}
