// Parity of our ONNX Llama graphs with transformers, on the PyTorch reference fixtures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { toOnnxBytes } from '../../src/engine/graph/serialize.js';
import { LocalEngine } from '../../src/engine/local-engine.js';
import { buildLogprobsGraph, initializerBinder } from '../../src/engine/model/inference-graphs.js';
import { loadModel } from '../../src/engine/model/load-model.js';
import { SafetensorsFile } from '../../src/engine/model/safetensors.js';
import { OrtSession, hostData, tensor } from '../../src/engine/runtime/ort-session.js';
import { fixture } from '../helpers/fixtures.js';
import { readI64, readReferenceJson, relMaxDiff } from '../helpers/reference.js';

async function logitsFor(
  modelDir: string,
  ids: BigInt64Array,
  mask: BigInt64Array,
  shape: number[],
) {
  const m = loadModel(modelDir);
  const session = await OrtSession.create(
    toOnnxBytes(buildLogprobsGraph(m.config, initializerBinder(m.weights), { withLogits: true })),
  );
  try {
    const out = await session.run({
      input_ids: tensor('int64', ids, shape),
      attention_mask: tensor('int64', mask, shape),
    });
    return {
      logits: hostData<Float32Array>(out.logits),
      tokenLogprobs: hostData<Float32Array>(out.token_logprobs),
      vocab: m.config.vocabSize,
    };
  } finally {
    await session.release();
    m.close();
  }
}

test('tiny-llama logits match transformers within 1e-4 relative (right-padded batch)', async (t) => {
  const root = fixture(t, 'hf-tiny');
  if (!root) return;
  const ref = SafetensorsFile.open(join(root, 'reference', 'tiny-llama', 'reference.safetensors'));
  const ids = readI64(ref, 'chosen.input_ids');
  const mask = readI64(ref, 'chosen.attention_mask');
  const expected = ref.readFloat32('chosen.logits');
  const { logits, vocab } = await logitsFor(
    join(root, 'tiny-llama'),
    ids.data,
    mask.data,
    ids.shape,
  );
  assert.equal(logits.length, expected.length);
  // Padded positions are not compared: transformers' values there are arbitrary.
  const rel = relMaxDiff(logits, expected, (i) => mask.data[Math.floor(i / vocab)] === 1n);
  assert.ok(rel < 1e-4, `relative max diff ${rel}`);
});

test('bf16 checkpoint loads and its logits match transformers bf16 within bf16 precision', async (t) => {
  const root = fixture(t, 'hf-tiny');
  if (!root) return;
  const ref = SafetensorsFile.open(
    join(root, 'reference', 'tiny-llama-bf16', 'reference.safetensors'),
  );
  const ids = readI64(ref, 'input_ids');
  const expected = ref.readFloat32('logits');
  const shape = ids.shape.length === 1 ? [1, ids.shape[0]] : ids.shape;
  const mask = new BigInt64Array(ids.data.length).fill(1n);
  const { logits, vocab } = await logitsFor(join(root, 'tiny-llama-bf16'), ids.data, mask, shape);
  // transformers computed in bfloat16 (8 mantissa bits); we compute the same weights in float32.
  const rel = relMaxDiff(logits, expected);
  assert.ok(rel < 3e-2, `relative max diff ${rel}`);
  let agree = 0;
  const S = logits.length / vocab;
  for (let s = 0; s < S; s++) {
    let a = 0;
    let b = 0;
    for (let v = 1; v < vocab; v++) {
      if (logits[s * vocab + v] > logits[s * vocab + a]) a = v;
      if (expected[s * vocab + v] > expected[s * vocab + b]) b = v;
    }
    if (a === b) agree++;
  }
  assert.ok(agree / S >= 0.9, `argmax agreement ${agree}/${S}`);
});

test('chosen/rejected log-probs of the fixture pairs match transformers', async (t) => {
  const root = fixture(t, 'hf-tiny');
  if (!root) return;
  const expected = readReferenceJson(root);
  const { readJsonl } = await import('../../src/cli/read-jsonl.js');
  const rows = readJsonl(join(root, 'pairs.jsonl'));
  const engine = LocalEngine.open(join(root, 'tiny-llama'));
  try {
    // batch size 1 and 4: padding never changes a number
    for (const bs of [1, 4]) {
      const scores = await engine.score(
        rows.map((r) => r.value),
        rows.map((r) => r.where),
        bs,
      );
      scores.forEach((s, i) => {
        assert.ok('chosen_logps' in s);
        assert.ok(
          Math.abs(s.chosen_logps - expected.chosen_logps[i]) <
            1e-4 * Math.abs(expected.chosen_logps[i]),
          `chosen ${i}: ${s.chosen_logps} vs ${expected.chosen_logps[i]}`,
        );
        assert.ok(
          Math.abs(s.rejected_logps - expected.rejected_logps[i]) <
            1e-4 * Math.abs(expected.rejected_logps[i]),
          `rejected ${i}`,
        );
      });
    }
  } finally {
    await engine.close();
  }
});

test('greedy decoding with the KV cache reproduces transformers token ids exactly', async (t) => {
  const root = fixture(t, 'hf-tiny');
  if (!root) return;
  const expected = readReferenceJson(root);
  const engine = LocalEngine.open(join(root, 'tiny-llama'));
  try {
    const { results } = await engine.generate(
      expected.greedy.map((g) => ({ ids: g.prompt_ids })),
      {
        n: 1,
        maxNewTokens: 16,
        seed: 0,
        stopStrings: [],
        ignoreEos: true,
        temperature: 1,
        topP: 1,
        topK: 0,
        greedy: true,
      },
    );
    results.forEach((r, i) =>
      assert.deepEqual(r.completions[0].tokenIds, expected.greedy[i].greedy_new_ids),
    );
  } finally {
    await engine.close();
  }
});

for (const greedy of [false, true])
  test(`the KV-cache decoder agrees with the full-sequence graph (tiny-qwen2: biases, untied head; ${greedy ? "greedy: log-probs from the graph's argmax and max logit" : 'sampled'})`, async (t) => {
    const root = fixture(t, 'hf-tiny');
    if (!root) return;
    const engine = LocalEngine.open(join(root, 'tiny-qwen2'));
    try {
      assert.equal(engine.model.config.architecture, 'Qwen2ForCausalLM');
      const prompt = engine.encodePrompt({
        messages: [{ role: 'user', content: 'Write a haiku about compilers.' }],
      });
      const { results } = await engine.generate([{ ids: prompt }], {
        n: 3,
        // 40 new tokens: the cache grows past several 16-position chunks while decoding.
        maxNewTokens: 40,
        seed: 7,
        stopStrings: [],
        ignoreEos: true,
        temperature: 1,
        topP: 1,
        topK: 0,
        greedy,
      });
      // Scoring the sampled continuations with the full-sequence graph must give the same per-token
      // log-probs the sampler recorded from the cached decoder.
      const rows = results[0].completions.map((c) => ({
        prompt: 'x',
        completion: 'y',
        ids: c.tokenIds,
      }));
      const { scoreSequences } = await import('../../src/engine/generate/score.js');
      const m = engine.model;
      const session = await OrtSession.create(
        toOnnxBytes(buildLogprobsGraph(m.config, initializerBinder(m.weights))),
      );
      const scores = await scoreSequences(
        session,
        rows.map((r) => ({ promptIds: prompt, responseIds: r.ids })),
        { padId: 0 },
      );
      await session.release();
      results[0].completions.forEach((c, i) => {
        assert.equal(c.tokenIds.length, 40);
        for (let k = 0; k < c.logprobs.length; k++)
          assert.ok(
            Math.abs(c.logprobs[k] - scores[i].tokenLogprobs[k]) < 1e-4,
            `candidate ${i} token ${k}: ${c.logprobs[k]} vs ${scores[i].tokenLogprobs[k]}`,
          );
      });
    } finally {
      await engine.close();
    }
  });

test('RLAIF_DUMP_GRAPHS writes a readable dump of every graph a session runs', async () => {
  const { mkdtempSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { runCli } = await import('../helpers/cli.js');
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-dump-'));
  const r = runCli(['generate', '--prompt', 'Hi', '--max-new-tokens', '2'], {
    env: { RLAIF_DUMP_GRAPHS: dir, RLAIF_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rlaif-cache-')) },
  });
  assert.equal(r.status, 0, r.stderr);
  const dump = readFileSync(join(dir, 'decoder.txt'), 'utf8');
  assert.match(dump, /^graph decoder \(opset 18\)/);
  assert.match(dump, /input {2}past_key_values\.0\.key: float32\[batch, 2, past, 64\]/);
  assert.match(dump, /\/model\/layers\.0\/self_attn\/q_proj\/Gemm: Gemm\(/);
  assert.match(dump, /output new_key_values\.3\.value/);
});
