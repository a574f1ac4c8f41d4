import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../src/core/rng.js';
import { cacheRoot } from '../src/engine/model/builtin-tiny.js';
import { writeSafetensors, type TensorToWrite } from '../src/engine/model/safetensors-write.js';
import { builtinTinyTokenizerFiles } from '../src/engine/tokenizer/builtin-tiny-tokenizer.js';

/** SmolLM2-135M's shapes (hidden 576, 30 layers, 9 heads / 3 KV heads, MLP 1536, vocab 49152, tied). */
export const SMOLLM2_135M_SHAPES = {
  hidden_size: 576,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  head_dim: 64,
  intermediate_size: 1536,
  vocab_size: 49152,
};

/**
 * A randomly initialised float32 checkpoint with SmolLM2-135M's shapes, written once into the cache
 * (both our engine and the PyTorch baseline load this same file). The tokenizer files are the
 * builtin ones: benchmarks feed token ids, so only their presence matters.
 */
export function ensureBenchCheckpoint(): string {
  const dir = join(cacheRoot(), 'bench-smollm2-135m-shapes-v2');
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  const s = SMOLLM2_135M_SHAPES;
  const tmp = `${dir}.tmp-${process.pid}`;
  mkdirSync(tmp, { recursive: true });
  const rng = new Rng(135);
  const normal = (n: number, std: number): Float32Array => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      // sum of 4 uniforms: cheap, bell-shaped; exact normality does not matter for speed
      out[i] =
        (rng.nextFloat() + rng.nextFloat() + rng.nextFloat() + rng.nextFloat() - 2) * std * 1.732;
    }
    return out;
  };
  const t: Record<string, TensorToWrite> = {};
  const H = s.hidden_size;
  const D = s.head_dim;
  const lin = (k: string, o: number, i: number) =>
    (t[k] = { dtype: 'F32', shape: [o, i], data: normal(o * i, 0.02) });
  const ones = (k: string, n: number) =>
    (t[k] = { dtype: 'F32', shape: [n], data: new Float32Array(n).fill(1) });
  lin('model.embed_tokens.weight', s.vocab_size, H);
  for (let l = 0; l < s.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    ones(`${p}.input_layernorm.weight`, H);
    ones(`${p}.post_attention_layernorm.weight`, H);
    lin(`${p}.self_attn.q_proj.weight`, s.num_attention_heads * D, H);
    lin(`${p}.self_attn.k_proj.weight`, s.num_key_value_heads * D, H);
    lin(`${p}.self_attn.v_proj.weight`, s.num_key_value_heads * D, H);
    lin(`${p}.self_attn.o_proj.weight`, H, s.num_attention_heads * D);
    lin(`${p}.mlp.gate_proj.weight`, s.intermediate_size, H);
    lin(`${p}.mlp.up_proj.weight`, s.intermediate_size, H);
    lin(`${p}.mlp.down_proj.weight`, H, s.intermediate_size);
  }
  ones('model.norm.weight', H);
  writeSafetensors(join(tmp, 'model.safetensors'), t, { format: 'pt' });
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    ...s,
    hidden_act: 'silu',
    max_position_embeddings: 8192,
    rms_norm_eps: 1e-5,
    rope_parameters: { rope_theta: 100000.0, rope_type: 'default' },
    tie_word_embeddings: true,
    attention_bias: false,
    mlp_bias: false,
    eos_token_id: 2,
    pad_token_id: 0,
    bos_token_id: null,
    dtype: 'float32',
  };
  writeFileSync(join(tmp, 'config.json'), JSON.stringify(config, null, 2));
  // Random weights emit any of the 49152 ids: pad the builtin vocab with decodable filler tokens.
  const tok = builtinTinyTokenizerFiles();
  const vocab = (tok['tokenizer.json'] as { model: { vocab: Record<string, number> } }).model.vocab;
  for (let id = Math.max(...Object.values(vocab)) + 1; id < s.vocab_size; id++)
    vocab[`t${id}`] = id;
  writeFileSync(join(tmp, 'tokenizer.json'), JSON.stringify(tok['tokenizer.json']));
  writeFileSync(join(tmp, 'tokenizer_config.json'), JSON.stringify(tok['tokenizer_config.json']));
  writeFileSync(join(tmp, 'chat_template.jinja'), tok['chat_template.jinja']);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}
