// Weights outside the graph: a float32 checkpoint's tensors reach onnxruntime as ONNX external
// data pointing into the safetensors file itself (mapped, not copied into every graph). The
// graphs carry no weight bytes and the numbers are the same as with the weights inline; a bf16
// checkpoint is mapped from a float32 copy converted once into the cache (verified by hash, made
// again when corrupt); LoRA-merged layers stay inline; and a checkpoint above the 2 GiB protobuf
// limit — which failed with E_MODEL_TOO_LARGE — now loads and generates.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PipelineError } from '../../src/core/errors.js';
import { toOnnxBytes } from '../../src/engine/graph/serialize.js';
import { LocalEngine } from '../../src/engine/local-engine.js';
import { ensureBuiltinTiny } from '../../src/engine/model/builtin-tiny.js';
import { buildLogprobsGraph, initializerBinder } from '../../src/engine/model/inference-graphs.js';
import { loadModel } from '../../src/engine/model/load-model.js';
import { writeSafetensors, type TensorToWrite } from '../../src/engine/model/safetensors-write.js';
import { OrtSession, hostData, tensor } from '../../src/engine/runtime/ort-session.js';
import { fixture } from '../helpers/fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'rlaif-external-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Run `f` with the weights copied inline (the engine's old path), then restore the setting. */
async function inline<T>(f: () => Promise<T>): Promise<T> {
  process.env.RLAIF_INLINE_WEIGHTS = '1';
  try {
    return await f();
  } finally {
    delete process.env.RLAIF_INLINE_WEIGHTS;
  }
}

/** Token log-probs of one fixed sequence through the logprobs graph. */
async function logprobs(dir: string): Promise<{ lp: Float32Array; bytes: number; ext?: string }> {
  const m = loadModel(dir);
  try {
    const model = toOnnxBytes(buildLogprobsGraph(m.config, initializerBinder(m.weights)));
    const s = await OrtSession.create(model, { threads: 1 });
    const ids = [1, 5, 9, 17, 33, 65, 12, 7];
    const res = await s.run({
      input_ids: tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
      attention_mask: tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
    });
    await s.release();
    const out = res[Object.keys(res)[0]];
    return { lp: hostData<Float32Array>(out), bytes: model.byteLength, ext: model.externalDir };
  } finally {
    m.close();
  }
}

test('a float32 checkpoint is mapped: graphs hold no weight bytes and compute the same numbers', async (t) => {
  const root = fixture(t, 'hf-tiny');
  if (!root) return;
  const dir = join(root, 'tiny-llama');
  const weights = statSync(join(dir, 'model.safetensors')).size;
  const mapped = await logprobs(dir);
  const copied = await inline(() => logprobs(dir));
  assert.equal(mapped.ext, dir, 'external data is read from the checkpoint folder itself');
  assert.equal(copied.ext, undefined);
  assert.ok(mapped.bytes < weights / 10, `graph ${mapped.bytes} bytes, weights ${weights}`);
  assert.ok(copied.bytes > weights * 0.9, `inline graph ${copied.bytes} bytes`);
  assert.deepEqual(mapped.lp, copied.lp, 'the same log-probs, bit for bit');
});

test('a bf16 checkpoint is mapped from a float32 copy made once in the cache; a corrupt copy is made again', async (t) => {
  const root = fixture(t, 'hf-tiny');
  if (!root) return;
  const cache = mkdtempSync(join(tmp, 'cache-'));
  const before = process.env.RLAIF_CACHE_DIR;
  process.env.RLAIF_CACHE_DIR = cache;
  try {
    const dir = join(root, 'tiny-llama-bf16');
    const mapped = await logprobs(dir);
    const copied = await inline(() => logprobs(dir));
    assert.ok(mapped.ext?.startsWith(join(cache, 'float32')), `mapped from ${mapped.ext}`);
    assert.deepEqual(mapped.lp, copied.lp, 'the same log-probs, bit for bit');
    // corrupt the copy: the next load finds its hash wrong and converts again
    const copy = join(mapped.ext!, 'model.safetensors');
    const bytes = readFileSync(copy);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(copy, bytes);
    const again = await logprobs(dir);
    assert.equal(again.ext, mapped.ext);
    assert.deepEqual(again.lp, copied.lp);
    assert.notDeepEqual(readFileSync(copy), bytes, 'the corrupt copy was replaced');
  } finally {
    if (before === undefined) delete process.env.RLAIF_CACHE_DIR;
    else process.env.RLAIF_CACHE_DIR = before;
  }
});

test('LoRA-merged layers stay inline (they are computed), the rest of the model is mapped', (t) => {
  const root = fixture(t, 'hf-tiny');
  if (!root) return;
  const merged = loadModel(join(root, 'tiny-llama'), {
    adapter: join(root, 'dpo', 'tiny-llama', 'lora-adapter'),
  });
  try {
    assert.equal(merged.weights.external?.('model.layers.0.self_attn.q_proj.weight'), undefined);
    assert.ok(merged.weights.external?.('model.layers.0.input_layernorm.weight'));
  } finally {
    merged.close();
  }
});

test('a float32 checkpoint above 2 GiB generates (inline it fails with E_MODEL_TOO_LARGE)', async () => {
  // builtin:tiny's config and tokenizer, one layer with an MLP 720k wide: 2.2 GB of float32.
  const dir = join(tmp, 'big');
  mkdirSync(dir);
  const tiny = ensureBuiltinTiny();
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja'])
    copyFileSync(join(tiny, f), join(dir, f));
  const H = 256;
  const I = 720_000;
  const vocab = 1024;
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: H,
      intermediate_size: I,
      num_hidden_layers: 1,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 64,
      hidden_act: 'silu',
      max_position_embeddings: 512,
      rms_norm_eps: 1e-5,
      rope_parameters: { rope_theta: 10000.0, rope_type: 'default' },
      tie_word_embeddings: true,
      vocab_size: vocab,
      eos_token_id: 2,
      pad_token_id: 0,
      dtype: 'float32',
    }),
  );
  let x = 12345;
  const fill = (n: number, scale: number) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      out[i] = (x / 2 ** 32 - 0.5) * scale;
    }
    return out;
  };
  const t = (shape: number[], scale: number): TensorToWrite => ({
    dtype: 'F32',
    shape,
    data: fill(shape[0] * (shape[1] ?? 1), scale),
  });
  const ones = (n: number): TensorToWrite => ({
    dtype: 'F32',
    shape: [n],
    data: new Float32Array(n).fill(1),
  });
  writeSafetensors(
    join(dir, 'model.safetensors'),
    {
      'model.embed_tokens.weight': t([vocab, H], 0.1),
      'model.layers.0.input_layernorm.weight': ones(H),
      'model.layers.0.self_attn.q_proj.weight': t([H, H], 0.1),
      'model.layers.0.self_attn.k_proj.weight': t([128, H], 0.1),
      'model.layers.0.self_attn.v_proj.weight': t([128, H], 0.1),
      'model.layers.0.self_attn.o_proj.weight': t([H, H], 0.1),
      'model.layers.0.post_attention_layernorm.weight': ones(H),
      'model.layers.0.mlp.gate_proj.weight': t([I, H], 0.01),
      'model.layers.0.mlp.up_proj.weight': t([I, H], 0.01),
      'model.layers.0.mlp.down_proj.weight': t([H, I], 0.001),
      'model.norm.weight': ones(H),
    },
    { format: 'pt' },
  );
  assert.ok(statSync(join(dir, 'model.safetensors')).size > 2 ** 31);

  const opts = {
    n: 1,
    maxNewTokens: 3,
    greedy: true,
    seed: 1,
    temperature: 1,
    topP: 1,
    topK: 0,
    stopStrings: [],
    ignoreEos: true,
  };
  const prompt = [{ messages: [{ role: 'user' as const, content: 'hello there' }] }];
  await inline(async () => {
    const e = LocalEngine.open(dir, { threads: 2 });
    try {
      await assert.rejects(
        e.generate(prompt, opts),
        (err) => err instanceof PipelineError && err.code === 'E_MODEL_TOO_LARGE',
      );
    } finally {
      await e.close();
    }
  });
  const e = LocalEngine.open(dir, { threads: 2 });
  try {
    const { results } = await e.generate(prompt, opts);
    const c = results[0].completions[0];
    assert.equal(c.tokenIds.length, 3);
    assert.ok(c.logprobs!.every((v) => Number.isFinite(v) && v <= 0));
  } finally {
    await e.close();
  }
});
