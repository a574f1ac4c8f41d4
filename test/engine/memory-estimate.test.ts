// Issue 18, bad input: a checkpoint too big for the memory left is refused before any weight is
// read, with what it needs and which quantization would fit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseModelConfig } from '../../src/engine/model/config.js';
import {
  checkMemory,
  generationBytes,
  weightBytes,
} from '../../src/engine/model/memory-estimate.js';
import { ModelText } from '../../src/engine/index.js';
import { runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';

/** A Llama-family config.json of the given shape. */
function llama(o: {
  hidden: number;
  inter: number;
  layers: number;
  heads: number;
  kv: number;
  vocab: number;
  tied: boolean;
}) {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: o.hidden,
    intermediate_size: o.inter,
    num_hidden_layers: o.layers,
    num_attention_heads: o.heads,
    num_key_value_heads: o.kv,
    head_dim: o.hidden / o.heads,
    vocab_size: o.vocab,
    max_position_embeddings: 8192,
    rms_norm_eps: 1e-5,
    rope_theta: 500000,
    tie_word_embeddings: o.tied,
    hidden_act: 'silu',
  };
}

const GiB = 2 ** 30;

test('float32 weight bytes are 4 x the parameters; int8 and int4 pack the linear layers', (t) => {
  const dir = fixture(t, 'hf-tiny', 'tiny-llama');
  if (!dir) return;
  const text = ModelText.open(dir);
  const params = text.info({ device: 'cpu' }).parameters;
  assert.equal(weightBytes(text.config), 4 * params);
  // SmolLM2-135M's shape (tied): 538 MB of float32 weights, as bench:generate reads per token
  const smol = parseModelConfig(
    llama({ hidden: 576, inter: 1536, layers: 30, heads: 9, kv: 3, vocab: 49152, tied: true }),
    'smol',
  );
  assert.equal(Math.round(weightBytes(smol) / 1e6), 538);
  const int8 = weightBytes(smol, 'int8');
  const int4 = weightBytes(smol, 'int4');
  assert.ok(int4 < int8 && int8 < weightBytes(smol), `${int4} < ${int8}`);
});

test('an 8B model on 12 GB: refused in float32 and int8, int4 suggested with what it needs', () => {
  const c = parseModelConfig(
    llama({ hidden: 4096, inter: 14336, layers: 32, heads: 32, kv: 8, vocab: 128256, tied: false }),
    '8b',
  );
  const available = 12 * GiB;
  assert.ok(generationBytes(c, 'int4') < available && generationBytes(c, 'int8') > available);
  assert.throws(
    () => checkMemory(c, 'model ./llama-8b', { available }),
    (e: Error & { code?: string; hint?: string }) =>
      e.code === 'E_MODEL_MEMORY' &&
      /model \.\/llama-8b needs about \d+\.\d GB to generate in float32 \(\d+\.\d GB of weights as computed\), but 12\.0 GB is available/.test(
        e.message,
      ) &&
      /quantize: int4 needs about \d+\.\d GB/.test(e.hint ?? '') &&
      !/int8/.test(e.hint ?? ''),
  );
  // the int4 model fits: no error
  checkMemory(c, 'model ./llama-8b', { quantize: 'int4', available });
});

test('the CLI refuses a 70B checkpoint here before reading a weight, and exits non-zero', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-70b-'));
  // config.json alone: the check runs before the tokenizer or any weight file is opened
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify(
      llama({
        hidden: 8192,
        inter: 28672,
        layers: 80,
        heads: 64,
        kv: 8,
        vocab: 128256,
        tied: false,
      }),
    ),
  );
  const r = runCli(['generate', '--model', dir, '--prompt', 'Hi', '--max-new-tokens', '4']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /needs about \d+\.\d GB to generate in float32/);
  assert.match(r.stderr, /int4 would need about \d+\.\d GB/);
  assert.deepEqual(readdirSync(dir), ['config.json'], 'nothing written beside it');
});
