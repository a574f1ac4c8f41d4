// The decoder graph's per-row statistics (logsumexp, max_logit, argmax), which let generation
// score and draw tokens without scanning the logits on the host.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import onnxProto from 'onnx-proto';
import { GraphBuilder } from '../../src/engine/graph/builder.js';
import { toOnnxBytes } from '../../src/engine/graph/serialize.js';
import {
  buildDecoderGraph,
  initializerBinder,
  pastKeyName,
  pastValueName,
} from '../../src/engine/model/inference-graphs.js';
import { OrtSession, hostData, tensor, type Tensor } from '../../src/engine/runtime/ort-session.js';
import { testRng, tinyConfig, tinyWeights } from '../helpers/tiny-config.js';

test('decoder graph: argmax, max_logit, logsumexp and sampling weights agree with a host scan of its logits', async () => {
  // A vocabulary of 4096 makes the reductions run in several blocks.
  const cfg = tinyConfig({ vocabSize: 4096 });
  const graph = buildDecoderGraph(cfg, initializerBinder(tinyWeights(cfg, testRng(3))));
  const session = await OrtSession.create(toOnnxBytes(graph));
  try {
    const [B, S] = [4, 6];
    const { numKeyValueHeads: KV, headDim: D } = cfg;
    const feeds: Record<string, Tensor> = {
      input_ids: tensor(
        'int64',
        BigInt64Array.from({ length: B * S }, (_, i) => BigInt((i * 37) % cfg.vocabSize)),
        [B, S],
      ),
      attention_mask: tensor('int64', new BigInt64Array(B * S).fill(1n), [B, S]),
      position_ids: tensor(
        'int64',
        BigInt64Array.from({ length: B * S }, (_, i) => BigInt(i % S)),
        [B, S],
      ),
      inv_temperature: tensor('float32', Float32Array.of(1 / 0.8), [1]),
    };
    for (let l = 0; l < cfg.numHiddenLayers; l++) {
      feeds[pastKeyName(l)] = tensor('float32', new Float32Array(0), [B, KV, 0, D]);
      feeds[pastValueName(l)] = tensor('float32', new Float32Array(0), [B, KV, 0, D]);
    }
    const out = await session.run(feeds);
    assert.deepEqual(out.argmax.dims, [B, 1]);
    assert.deepEqual(out.max_logit.dims, [B, 1]);
    const logits = hostData<Float32Array>(out.logits);
    const V = cfg.vocabSize;
    const argmaxes = new Set<number>();
    for (let r = 0; r < B; r++) {
      let max = -Infinity;
      let arg = -1;
      let sum = 0;
      for (let v = 0; v < V; v++) if (logits[r * V + v] > max) [max, arg] = [logits[r * V + v], v];
      for (let v = 0; v < V; v++) sum += Math.exp(logits[r * V + v] - max);
      assert.equal(Number(hostData<BigInt64Array>(out.argmax)[r]), arg, `row ${r} argmax`);
      assert.equal(hostData<Float32Array>(out.max_logit)[r], max, `row ${r} max logit`);
      const lse = hostData<Float32Array>(out.logsumexp)[r];
      assert.ok(Math.abs(lse - (max + Math.log(sum))) < 1e-5, `row ${r} logsumexp ${lse}`);
      const weights = hostData<Float32Array>(out.sampling_weights);
      for (let v = 0; v < V; v++) {
        // float32 rounding of (logit − max) · invT moves the exponent by ~1e-7 of its size.
        const arg = (logits[r * V + v] - max) / 0.8;
        const want = Math.exp(arg);
        const got = weights[r * V + v];
        const tol = 2e-7 * (1 + Math.abs(arg)) * want;
        assert.ok(Math.abs(got - want) <= tol, `row ${r} token ${v}: ${got} vs ${want}`);
      }
      argmaxes.add(arg);
    }
    assert.ok(argmaxes.size > 1, 'the rows should not all pick the same token');
  } finally {
    await session.release();
  }
});

test('GraphBuilder.argMax gives ties to the lowest index, as the host sampler does', async () => {
  const b = new GraphBuilder('argmax');
  const x = b.input('x', 'float32', [2, 5]);
  b.output(b.argMax(x, -1, false), 'arg', 'int64', [2]);
  const session = await OrtSession.create(toOnnxBytes(b.build()));
  try {
    const out = await session.run({
      x: tensor('float32', new Float32Array([1, 5, 2, 5, 5, -3, -1, -1, -2, -9]), [2, 5]),
    });
    assert.deepEqual([...hostData<BigInt64Array>(out.arg)].map(Number), [1, 1]);
  } finally {
    await session.release();
  }
});

test('onnxruntime fuses every RMSNorm of the decoder into one SimplifiedLayerNormalization', async () => {
  const cfg = tinyConfig({ numHiddenLayers: 3 });
  const graph = buildDecoderGraph(cfg, initializerBinder(tinyWeights(cfg, testRng(5))));
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-fused-'));
  try {
    const path = join(dir, 'decoder.onnx');
    const session = await OrtSession.create(toOnnxBytes(graph), { optimizedModelPath: path });
    await session.release();
    const ops = onnxProto.onnx.ModelProto.decode(readFileSync(path)).graph!.node!.map(
      (n) => n.opType,
    );
    // Two norms per layer and the final one; a pattern onnxruntime does not recognise (x·x, a
    // Reciprocal) would leave six kernels each.
    const fused = ops.filter((op) => op === 'SimplifiedLayerNormalization').length;
    assert.equal(fused, 2 * cfg.numHiddenLayers + 1, ops.join(','));
    assert.ok(!ops.includes('ReduceMean'), 'an RMSNorm was left unfused');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
