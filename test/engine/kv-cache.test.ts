import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KvCache } from '../../src/engine/generate/kv-cache.js';
import { hostData } from '../../src/engine/runtime/ort-session.js';

// Values that encode where they belong: layer, kind (key 0 / value 1), row, head, position, dim.
const tag = (l: number, kind: number, r: number, h: number, t: number, d: number): number =>
  l * 1e5 + kind * 1e4 + r * 1e3 + h * 100 + t * 10 + d + 1;

/** New positions [rows, KV, seq, D] for positions from..from+seq-1, tagged as above. */
function newBlock(
  l: number,
  kind: number,
  rows: number,
  KV: number,
  seq: number,
  D: number,
  from: number,
  sameRows = false,
): Float32Array {
  const a = new Float32Array(rows * KV * seq * D);
  for (let r = 0; r < rows; r++)
    for (let h = 0; h < KV; h++)
      for (let s = 0; s < seq; s++)
        for (let d = 0; d < D; d++)
          a[((r * KV + h) * seq + s) * D + d] = tag(l, kind, sameRows ? 0 : r, h, from + s, d);
  return a;
}

test('KvCache keeps every appended position in place across growth, rows broadcast from a shared prefill', () => {
  const [L, rows, KV, D] = [2, 3, 2, 4];
  const cache = new KvCache(L, rows, KV, D, 40, 4);
  const P = 5;
  cache.append(
    [0, 1].map((l) => newBlock(l, 0, 1, KV, P, D, 0)),
    [0, 1].map((l) => newBlock(l, 1, 1, KV, P, D, 0)),
    P,
  );
  assert.equal(cache.length, 5);
  assert.equal(cache.capacity, 8, 'capacity rounds up to the chunk');
  for (let t = P; t < 14; t++) {
    cache.append(
      [0, 1].map((l) => newBlock(l, 0, rows, KV, 1, D, t)),
      [0, 1].map((l) => newBlock(l, 1, rows, KV, 1, D, t)),
      1,
    );
  }
  assert.equal(cache.length, 14);
  assert.equal(cache.capacity, 16);
  const feeds = cache.feeds();
  for (let l = 0; l < L; l++) {
    for (const [kind, name] of [
      [0, `past_key_values.${l}.key`],
      [1, `past_key_values.${l}.value`],
    ] as const) {
      const f = feeds[name];
      assert.deepEqual(f.dims, [rows, KV, 16, D]);
      const data = hostData<Float32Array>(f);
      // The feed is a view of exactly [rows, KV, capacity, D] (onnxruntime reads it in place).
      assert.equal(data.length, rows * KV * 16 * D);
      for (let r = 0; r < rows; r++)
        for (let h = 0; h < KV; h++)
          for (let t = 0; t < 14; t++)
            for (let d = 0; d < D; d++) {
              const got = data[((r * KV + h) * 16 + t) * D + d];
              // Prefill positions are the same for every row (tagged row 0). Spare capacity
              // (positions 14, 15) holds whatever growth left there: the mask hides it.
              const want = tag(l, kind, t < P ? 0 : r, h, t, d);
              assert.equal(
                got,
                want,
                `layer ${l} kind ${kind} row ${r} head ${h} pos ${t} dim ${d}`,
              );
            }
    }
  }
});

test('KvCache attention mask covers the filled positions and the new ones, not the spare capacity', () => {
  const cache = new KvCache(1, 2, 1, 1, 100, 8);
  cache.append([new Float32Array(3)], [new Float32Array(3)], 3);
  const mask = cache.attentionMask(1);
  assert.deepEqual(mask.dims, [2, 9]);
  const row = [1, 1, 1, 0, 0, 0, 0, 0, 1].map(BigInt);
  assert.deepEqual([...hostData<BigInt64Array>(mask)], [...row, ...row]);
});

test('KvCache never grows past its maximum length, and refuses positions beyond it', () => {
  const cache = new KvCache(1, 1, 1, 1, 10, 8);
  cache.append([new Float32Array(9)], [new Float32Array(9)], 9);
  assert.equal(cache.capacity, 10);
  cache.append([new Float32Array(1)], [new Float32Array(1)], 1);
  assert.throws(
    () => cache.append([new Float32Array(1)], [new Float32Array(1)], 1),
    /the KV cache holds 10 positions, 11 were asked for/,
  );
  assert.equal(cache.length, 10, 'a refused append leaves the cache as it was');
});

test('KvCache.reserve before the first append lays the cache out at that capacity', () => {
  const [rows, KV, D] = [2, 2, 3];
  const cache = new KvCache(1, rows, KV, D, 40, 4);
  cache.reserve(6);
  assert.equal(cache.capacity, 8, 'rounded up to the chunk');
  cache.append([newBlock(0, 0, 1, KV, 5, D, 0)], [newBlock(0, 1, 1, KV, 5, D, 0)], 5);
  cache.append([newBlock(0, 0, rows, KV, 1, D, 5)], [newBlock(0, 1, rows, KV, 1, D, 5)], 1);
  assert.equal(cache.capacity, 8, 'the appends fit without growing');
  const keys = hostData<Float32Array>(cache.feeds()['past_key_values.0.key']);
  for (let r = 0; r < rows; r++)
    for (let h = 0; h < KV; h++)
      for (let t = 0; t < 6; t++)
        for (let d = 0; d < D; d++)
          assert.equal(keys[((r * KV + h) * 8 + t) * D + d], tag(0, 0, t < 5 ? 0 : r, h, t, d));
  cache.reserve(3);
  assert.equal(cache.capacity, 8, 'reserving less than the capacity changes nothing');
  assert.throws(() => cache.reserve(41), /the KV cache holds 40 positions, 41 were asked for/);
});
