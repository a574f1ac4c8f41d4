import { fail } from '../../core/errors.js';
import { pastKeyName, pastValueName } from '../model/inference-graphs.js';
import { tensor, type Tensor } from '../runtime/ort-session.js';

/**
 * Runs up to this many floats are copied by a loop: a decode step appends one head_dim run per
 * (layer, row, head), 1440 of them at batch 8 for SmolLM2, and a `subarray` view per run made
 * the append cost ~0.5 ms of each step (object allocation and the collections it sets off).
 */
const SMALL_RUN = 256;

/**
 * The KV cache of a batch of candidates, kept on the host and fed to the decoder graph as its
 * `past` inputs without copying (onnxruntime reads the buffers in place). Each layer's keys and
 * values are one buffer [rows, kv_heads, capacity, head_dim]; positions at or past `length` are
 * spare capacity that the attention mask hides. The graph only returns the new positions, which
 * are written in here, so a decode step moves O(new tokens) bytes instead of the whole cache
 * (which a concat-and-return graph copied twice per step).
 *
 * Capacity grows in steps of `chunk` positions: a larger step wastes attention reads on masked
 * positions, a smaller one moves the cache more often. Each buffer is allocated once, for
 * `maxLength` positions (the OS commits pages only as they are written), and growing moves the
 * (row, head) runs apart inside it. Allocating new buffers instead cost 7-45 ms per growth at
 * batch 8 (page faults and the garbage collections that 60 fresh ~1 MB arrays set off), ~2 ms of
 * every decode step. Positions past `length` hold stale values; the attention mask hides them.
 */
export class KvCache {
  private readonly keys: Float32Array[];
  private readonly values: Float32Array[];
  private cap = 0;
  /** Positions filled in every row. */
  length = 0;

  constructor(
    private readonly layers: number,
    private readonly rows: number,
    private readonly kvHeads: number,
    private readonly headDim: number,
    /** The most positions this cache will ever hold (prompt + new tokens). */
    private readonly maxLength: number,
    private readonly chunk = 16,
    /**
     * Per row, the first position it attends to (default 0): several prompts of different
     * lengths share a cache left-padded to the longest, each row masking its padding.
     */
    private readonly starts: readonly number[] = [],
  ) {
    const size = rows * kvHeads * maxLength * headDim;
    this.keys = Array.from({ length: layers }, () => new Float32Array(size));
    this.values = Array.from({ length: layers }, () => new Float32Array(size));
  }

  get capacity(): number {
    return this.cap;
  }

  /**
   * Continuous batching: a cache for a new set of rows, rows `keep` of `old` (in that order)
   * followed by one empty row per entry of `added` (a prompt length), left-padded so every
   * prompt ends where the kept rows end. The kept rows' common left padding is dropped, and each
   * row keeps its positions relative to its own start (position ids are length − start), so a
   * row decodes on as if nothing had moved. Room for `room` more positions after the longest.
   * The added rows' prompt keys and values are then written with writeRows at length − P.
   */
  static regroup(
    dims: { layers: number; kvHeads: number; headDim: number },
    old: KvCache | undefined,
    keep: readonly number[],
    added: readonly number[],
    room: number,
  ): KvCache {
    const m = old && keep.length ? Math.min(...keep.map((r) => old.startOf(r))) : 0;
    const kept = old && keep.length ? old.length - m : 0;
    const length = Math.max(kept, ...added);
    const shift = length - kept;
    const starts = [
      ...keep.map((r) => old!.startOf(r) - m + shift),
      ...added.map((P) => length - P),
    ];
    const c = new KvCache(
      dims.layers,
      keep.length + added.length,
      dims.kvHeads,
      dims.headDim,
      length + room,
      old?.chunk,
      starts,
    );
    c.reserve(length + 1);
    if (old && keep.length) {
      const { kvHeads: KV, headDim: D } = c;
      for (let l = 0; l < c.layers; l++)
        for (const [src, dst] of [
          [old.keys[l], c.keys[l]],
          [old.values[l], c.values[l]],
        ] as const)
          keep.forEach((r, k) => {
            for (let h = 0; h < KV; h++) {
              const from = ((r * KV + h) * old.cap + m) * D;
              dst.set(src.subarray(from, from + kept * D), ((k * KV + h) * c.cap + shift) * D);
            }
          });
    }
    c.length = length;
    return c;
  }

  /**
   * Append `seq` new positions per layer from the graph's new key/value outputs
   * [srcRows, kv_heads, seq, head_dim]; srcRows is `rows`, or 1 to give every row the same
   * positions (the shared prompt prefill).
   */
  append(newKeys: Float32Array[], newValues: Float32Array[], seq: number): void {
    this.reserve(this.length + seq);
    const { kvHeads: KV, headDim: D, rows, cap } = this;
    const block = seq * D; // one (row, head) run of new positions
    for (let l = 0; l < this.layers; l++) {
      for (const [src, dst] of [
        [newKeys[l], this.keys[l]],
        [newValues[l], this.values[l]],
      ] as const) {
        const srcRows = src.length / (KV * block);
        for (let r = 0; r < rows; r++) {
          const s = srcRows === 1 ? 0 : r;
          for (let h = 0; h < KV; h++) {
            const from = (s * KV + h) * block;
            const to = ((r * KV + h) * cap + this.length) * D;
            if (block > SMALL_RUN) dst.set(src.subarray(from, from + block), to);
            else for (let j = 0; j < block; j++) dst[to + j] = src[from + j];
          }
        }
      }
    }
    this.length += seq;
  }

  /** Row r's first attended position (its left padding's length). */
  startOf(r: number): number {
    return this.starts[r] ?? 0;
  }

  /**
   * Write a batch-1 run's `seq` new positions (outputs [1, kv_heads, seq, head_dim]) into rows
   * [rowFrom, rowTo) at position `at`, without moving `length` (set it when every prompt is in).
   * The capacity must already hold them (`reserve`).
   */
  writeRows(
    newKeys: Float32Array[],
    newValues: Float32Array[],
    seq: number,
    rowFrom: number,
    rowTo: number,
    at: number,
  ): void {
    const { kvHeads: KV, headDim: D, cap } = this;
    if (at + seq > cap)
      fail(
        'E_KV_CACHE_FULL',
        `writeRows past the capacity (${at + seq} > ${cap})`,
        'reserve first',
      );
    const block = seq * D;
    for (let l = 0; l < this.layers; l++) {
      for (const [src, dst] of [
        [newKeys[l], this.keys[l]],
        [newValues[l], this.values[l]],
      ] as const) {
        for (let r = rowFrom; r < rowTo; r++)
          for (let h = 0; h < KV; h++) {
            const from = h * block;
            dst.set(src.subarray(from, from + block), ((r * KV + h) * cap + at) * D);
          }
      }
    }
  }

  /** The decoder's past_key_values feeds: every layer's buffers at full capacity. */
  feeds(): Record<string, Tensor> {
    const dims = [this.rows, this.kvHeads, this.cap, this.headDim];
    const n = this.rows * this.kvHeads * this.cap * this.headDim;
    const out: Record<string, Tensor> = {};
    for (let l = 0; l < this.layers; l++) {
      out[pastKeyName(l)] = tensor('float32', this.keys[l].subarray(0, n), dims);
      out[pastValueName(l)] = tensor('float32', this.values[l].subarray(0, n), dims);
    }
    return out;
  }

  /** attention_mask [rows, capacity + seq]: the filled positions and the `seq` new ones. */
  attentionMask(seq: number): Tensor {
    const width = this.cap + seq;
    const mask = new BigInt64Array(this.rows * width);
    for (let r = 0; r < this.rows; r++) {
      mask.fill(1n, r * width + this.startOf(r), r * width + this.length);
      mask.fill(1n, r * width + this.cap, (r + 1) * width);
    }
    return tensor('int64', mask, [this.rows, width]);
  }

  /**
   * Grow every buffer to hold at least `needed` positions, keeping what is filled. Reserving
   * before the first append lays it out at that capacity directly: a growth moves the whole cache
   * (~4 ms at batch 8 for SmolLM2 at 128 positions).
   */
  reserve(needed: number): void {
    if (needed <= this.cap) return;
    if (needed > this.maxLength)
      fail(
        'E_KV_CACHE_FULL',
        `the KV cache holds ${this.maxLength} positions, ${needed} were asked for`,
        'size the cache for the prompt plus max_new_tokens (this is a bug in the caller)',
      );
    const cap = Math.min(Math.ceil(needed / this.chunk) * this.chunk, this.maxLength);
    const { kvHeads: KV, headDim: D, rows } = this;
    const filled = this.length * D;
    for (const buf of [...this.keys, ...this.values]) {
      // Last run first: each run moves up, onto space whose old contents have already moved.
      for (let rh = rows * KV - 1; rh > 0; rh--) {
        const from = rh * this.cap * D;
        buf.copyWithin(rh * cap * D, from, from + filled);
      }
    }
    this.cap = cap;
  }
}
