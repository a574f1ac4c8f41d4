// Weight-only int8/int4 quantization (onnxruntime's MatMulNBits): our packing is the layout the
// kernel reads (a MatMulNBits graph equals MatMul on the dequantized weights to float rounding),
// the quantized models stay close to float32 on the hf-tiny checkpoints, the quantized copy is
// cached and rebuilt when corrupt, and the CLI refuses an unknown kind.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder } from '../../src/engine/graph/builder.js';
import { toOnnxBytes } from '../../src/engine/graph/serialize.js';
import {
  buildLogprobsGraph,
  inferenceBinder,
  initializerBinder,
  type WeightTable,
} from '../../src/engine/model/inference-graphs.js';
import { loadModel } from '../../src/engine/model/load-model.js';
import {
  dequantizeWeight,
  matMulNBits,
  quantizeWeight,
  type Quantize,
} from '../../src/engine/model/quantize.js';
import { OrtSession, hostData, tensor } from '../../src/engine/runtime/ort-session.js';
import { runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';

const cache = mkdtempSync(join(tmpdir(), 'rlaif-quant-'));
process.env.RLAIF_CACHE_DIR = cache;
after(() => rmSync(cache, { recursive: true, force: true }));

/** Park-Miller uniform in [-0.5, 0.5), a few larger outliers as real weights have. */
function randomWeights(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, (_, i) => {
    s = (s * 16807) % 2147483647;
    const u = s / 2147483647 - 0.5;
    return i % 97 === 0 ? u * 8 : u;
  });
}

test('MatMulNBits on our packing equals MatMul on the dequantized weights (int4/int8, K padded)', async () => {
  // K = 80 is not a multiple of 32: the last block is padded in the packed blob.
  for (const [bits, k, n, block] of [
    [4, 80, 24, 32],
    [8, 80, 24, 32],
    [4, 64, 16, 16],
    [8, 256, 8, 128],
  ] as const) {
    const w = randomWeights(n * k, 11 + bits + k);
    const p = quantizeWeight(w, n, k, bits, block);
    const deq = dequantizeWeight(p);
    // Round trip: each weight within one quantization step (half a step except the clamped end).
    for (let r = 0; r < n; r++)
      for (let c = 0; c < k; c++) {
        const step = Math.abs(p.scales[r * p.nBlocks + Math.floor(c / block)]);
        assert.ok(Math.abs(deq[r * k + c] - w[r * k + c]) <= step * 1.0001 + 1e-12);
      }
    const m = 3;
    const x = randomWeights(2 * m * k, 5).subarray(0, m * k);
    const b = new GraphBuilder('mmnb');
    const xin = b.input('x', 'float32', [1, m, k]);
    const q = b.initializer('q', 'uint8', [n, p.nBlocks, p.blobSize], p.packed);
    const s = b.initializer('s', 'float32', [n * p.nBlocks], p.scales);
    // accuracy_level 0: float32 compute, so the only difference is float rounding (the engine's
    // default, 4, also rounds the activations to int8: the accuracy tests below cover that).
    b.output(matMulNBits(b, xin, q, s, p, 0), 'y', 'float32', [1, m, n]);
    const session = await OrtSession.create(toOnnxBytes(b.build()), { threads: 1 });
    const y = hostData<Float32Array>((await session.run({ x: tensor('float32', x, [1, m, k]) })).y);
    await session.release();
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let ref = 0;
        let mag = 0;
        for (let c = 0; c < k; c++) {
          ref += x[i * k + c] * deq[j * k + c];
          mag += Math.abs(x[i * k + c] * deq[j * k + c]);
        }
        // float32 accumulation over k products: a few ulps of the magnitude summed
        assert.ok(
          Math.abs(y[i * n + j] - ref) <= mag * 1e-6,
          `bits ${bits} k ${k}: y[${i},${j}] = ${y[i * n + j]}, reference ${ref}`,
        );
      }
  }
});

/** Teacher-forced log-probs and argmax tokens of `ids` through the scoring graph. */
async function teacherForced(
  dir: string,
  ids: number[],
  quantize?: Quantize,
): Promise<{ lp: Float32Array; argmax: number[]; built?: boolean }> {
  const m = loadModel(dir, { quantize });
  try {
    const g = buildLogprobsGraph(m.config, inferenceBinder(m), { withLogits: true });
    const s = await OrtSession.create(toOnnxBytes(g), { threads: 1 });
    const res = await s.run({
      input_ids: tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
      attention_mask: tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
    });
    await s.release();
    const logits = hostData<Float32Array>(res.logits);
    const V = m.config.vocabSize;
    const argmax: number[] = [];
    for (let t = 0; t + 1 < ids.length; t++) {
      let best = 0;
      for (let v = 1; v < V; v++) if (logits[t * V + v] > logits[t * V + best]) best = v;
      argmax.push(best);
    }
    return { lp: hostData<Float32Array>(res.token_logprobs), argmax, built: m.quantized?.built };
  } finally {
    m.close();
  }
}

const TEXT =
  'The quick brown fox jumps over the lazy dog. A constitution is a list of principles; ' +
  'the judge rates each answer against them and the pairs train the next round.';

// Measured on these checkpoints (random weights, hidden 64; onnxruntime-node 1.30, accuracy_level
// 4): mean |Δ log-prob| 0.03-0.04 (int8) and 0.34 (int4); greedy agreement 0.91-0.94 (int8) and
// 0.36-0.55 (int4; on the 135M benchmark checkpoint int4 agrees at ~0.84, see bench/RESULTS.md:
// these random hidden-64 models likely have flatter next-token distributions). The bounds leave
// margin; the test after this one checks the int4 graph exactly against its dequantized weights.
const BOUNDS: Record<Quantize, { meanAbs: number; agree: number }> = {
  int8: { meanAbs: 0.08, agree: 0.8 },
  int4: { meanAbs: 0.5, agree: 0.25 },
};

for (const name of ['tiny-llama', 'tiny-qwen2']) {
  test(`${name}: int8 and int4 log-probs and greedy tokens stay close to float32`, async (t) => {
    const dir = fixture(t, 'hf-tiny', name);
    if (!dir) return;
    const m = loadModel(dir);
    const ids = m.tokenizer.encode(TEXT);
    m.close();
    const f32 = await teacherForced(dir, ids);
    for (const q of ['int8', 'int4'] as const) {
      const r = await teacherForced(dir, ids, q);
      let sum = 0;
      for (let i = 0; i < f32.lp.length; i++) sum += Math.abs(r.lp[i] - f32.lp[i]);
      const meanAbs = sum / f32.lp.length;
      const agree = r.argmax.filter((a, i) => a === f32.argmax[i]).length / f32.argmax.length;
      t.diagnostic(`${q}: mean |Δ log-prob| ${meanAbs.toFixed(4)}, greedy agreement ${agree}`);
      assert.ok(meanAbs < BOUNDS[q].meanAbs, `${q}: mean |Δ log-prob| ${meanAbs}`);
      assert.ok(agree >= BOUNDS[q].agree, `${q}: greedy agreement ${agree}`);
    }
  });
}

test('tiny-qwen2 int4 (biases, untied lm_head, K = 176 padded) equals float32 on its dequantized weights', async (t) => {
  const dir = fixture(t, 'hf-tiny', 'tiny-qwen2');
  if (!dir) return;
  const ids = [1, 5, 9, 17, 33, 65, 12, 7, 300, 1999, 42];
  // accuracy_level 0: MatMulNBits computes in float32, so only rounding separates the two.
  process.env.RLAIF_MATMULNBITS_ACCURACY = '0';
  try {
    const q = await teacherForced(dir, ids, 'int4');
    const m = loadModel(dir, { quantize: 'int4' });
    const layouts = m.quantized!.layouts;
    assert.ok(
      layouts.has('lm_head.weight') &&
        layouts.get('model.layers.0.mlp.down_proj.weight')!.k === 176,
    );
    const deq: WeightTable = {
      get(key) {
        const w = m.weights.get(key);
        const l = layouts.get(key);
        if (!l) return w;
        return {
          dims: w.dims,
          data: dequantizeWeight(quantizeWeight(w.data, l.n, l.k, 4, l.blockSize)),
        };
      },
    };
    const g = buildLogprobsGraph(m.config, initializerBinder(deq));
    const s = await OrtSession.create(toOnnxBytes(g), { threads: 1 });
    const res = await s.run({
      input_ids: tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
      attention_mask: tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
    });
    await s.release();
    m.close();
    const ref = hostData<Float32Array>(res.token_logprobs);
    for (let i = 0; i < ref.length; i++)
      assert.ok(Math.abs(ref[i] - q.lp[i]) < 1e-4, `position ${i}: ${q.lp[i]} vs ${ref[i]}`);
  } finally {
    delete process.env.RLAIF_MATMULNBITS_ACCURACY;
  }
});

test('the quantized copy is reused on the second load and rebuilt when a byte flips', async (t) => {
  const dir = fixture(t, 'hf-tiny', 'tiny-qwen2');
  if (!dir) return;
  const ids = [1, 5, 9, 17, 33, 65, 12, 7];
  // The first load in this file may have been the accuracy test's: ask twice, then compare.
  const first = await teacherForced(dir, ids, 'int4');
  const second = await teacherForced(dir, ids, 'int4');
  assert.equal(second.built, false, 'the second load reuses the cached copy');
  assert.deepEqual(second.lp, first.lp);
  const m = loadModel(dir, { quantize: 'int4' });
  const qdir = m.quantized!.dir;
  m.close();
  const path = join(qdir, 'model.safetensors');
  const bytes = readFileSync(path);
  bytes[bytes.length - 3] ^= 0x5a;
  writeFileSync(path, bytes);
  const third = await teacherForced(dir, ids, 'int4');
  assert.equal(third.built, true, 'a corrupt copy is made again');
  assert.deepEqual(third.lp, first.lp);
  assert.deepEqual(
    readdirSync(join(cache, 'int4-b32')).filter((d) => d.includes('.tmp-')),
    [],
    'nothing half-written is left',
  );
});

test('the CLI refuses an unknown --quantize value and names the allowed ones', () => {
  const r = runCli(['generate', '--quantize', 'int3', '--prompt', 'hi']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--quantize <kind>' argument 'int3' is invalid/);
  assert.match(r.stderr, /int8, int4/);
});
