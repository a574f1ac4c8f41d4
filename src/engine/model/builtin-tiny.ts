import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { normals, Rng } from '../../core/rng.js';
import { builtinTinyTokenizerFiles } from '../tokenizer/builtin-tiny-tokenizer.js';
import { writeSafetensors, type TensorToWrite } from './safetensors-write.js';

export const BUILTIN_TINY = 'builtin:tiny';
/** Bump when the recipe below changes, so stale caches are not reused. */
const RECIPE_VERSION = 1;
const SEED = 20260101;

/** Where generated models are cached: $RLAIF_CACHE_DIR, else $XDG_CACHE_HOME/rlaif-pipeline, else ~/.cache/rlaif-pipeline. */
export function cacheRoot(): string {
  if (process.env.RLAIF_CACHE_DIR) return process.env.RLAIF_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'rlaif-pipeline');
}

/**
 * The embedded default model: a Llama-architecture checkpoint with a few million parameters,
 * created deterministically from a fixed seed on first use (no download), in the ordinary
 * Hugging Face folder format so every code path that reads real checkpoints reads it too.
 * Its weights are random: it is for trying the loop end to end, not for good answers.
 */
export function ensureBuiltinTiny(root = cacheRoot()): string {
  const dir = join(root, `builtin-tiny-v${RECIPE_VERSION}`);
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  mkdirSync(root, { recursive: true });
  // Build in a private folder and rename: concurrent first runs never see a half-written model.
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  try {
    writeBuiltinTiny(tmp);
    try {
      renameSync(tmp, dir);
    } catch (e) {
      if (!existsSync(join(dir, 'model.safetensors'))) throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

/** A Llama's sizes: hidden, MLP, layers, attention heads, KV heads, head. */
export interface LlamaShape {
  H: number;
  I: number;
  L: number;
  NH: number;
  KV: number;
  D: number;
}

// The recipe's sizes.
const TINY_SHAPE: LlamaShape = { H: 256, I: 688, L: 4, NH: 4, KV: 2, D: 64 };

function tinyConfig(vocab: number, { H, I, L, NH, KV, D }: LlamaShape, tag: string) {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: H,
    intermediate_size: I,
    num_hidden_layers: L,
    num_attention_heads: NH,
    num_key_value_heads: KV,
    head_dim: D,
    hidden_act: 'silu',
    max_position_embeddings: 2048,
    rms_norm_eps: 1e-5,
    rope_parameters: { rope_theta: 10000.0, rope_type: 'default' },
    tie_word_embeddings: true,
    attention_bias: false,
    mlp_bias: false,
    vocab_size: vocab,
    bos_token_id: null,
    eos_token_id: 2,
    pad_token_id: 0,
    dtype: 'float32',
    rlaif_builtin: tag,
  };
}

/** The random weights, drawn from one seeded stream in checkpoint order (embeddings first). */
function tinyWeights(
  vocab: number,
  { H, I, L, NH, KV, D }: LlamaShape,
  seed: number,
): Record<string, TensorToWrite> {
  const rng = new Rng(seed);
  const normal = (n: number, std: number): Float32Array => normals(rng, n, std);
  const tensors: Record<string, TensorToWrite> = {};
  const linear = (name: string, out: number, inF: number) => {
    tensors[name] = { dtype: 'F32', shape: [out, inF], data: normal(out * inF, 0.02) };
  };
  const ones = (name: string, n: number) => {
    tensors[name] = { dtype: 'F32', shape: [n], data: new Float32Array(n).fill(1) };
  };
  tensors['model.embed_tokens.weight'] = {
    dtype: 'F32',
    shape: [vocab, H],
    data: normal(vocab * H, 0.02),
  };
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}`;
    ones(`${p}.input_layernorm.weight`, H);
    linear(`${p}.self_attn.q_proj.weight`, NH * D, H);
    linear(`${p}.self_attn.k_proj.weight`, KV * D, H);
    linear(`${p}.self_attn.v_proj.weight`, KV * D, H);
    linear(`${p}.self_attn.o_proj.weight`, H, NH * D);
    ones(`${p}.post_attention_layernorm.weight`, H);
    linear(`${p}.mlp.gate_proj.weight`, I, H);
    linear(`${p}.mlp.up_proj.weight`, I, H);
    linear(`${p}.mlp.down_proj.weight`, H, I);
  }
  ones('model.norm.weight', H);
  return tensors;
}

function writeBuiltinTiny(dir: string): void {
  writeRandomLlama(dir, TINY_SHAPE, SEED, `tiny-v${RECIPE_VERSION}`);
}

/**
 * A random-weight Llama of the given shape with the builtin:tiny tokenizer, in the Hugging Face
 * folder format: builtin:tiny's recipe, and the starting point other embedded models (the sandbox
 * model) are trained from. `tag` is written as config.rlaif_builtin.
 */
export function writeRandomLlama(dir: string, shape: LlamaShape, seed: number, tag: string): void {
  const tok = builtinTinyTokenizerFiles();
  const vocab =
    Math.max(
      ...Object.values(
        (tok['tokenizer.json'] as { model: { vocab: Record<string, number> } }).model.vocab,
      ),
      2,
    ) + 1;
  const config = tinyConfig(vocab, shape, tag);
  const tensors = tinyWeights(vocab, shape, seed);

  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  writeFileSync(
    join(dir, 'generation_config.json'),
    JSON.stringify(
      { eos_token_id: 2, pad_token_id: 0, do_sample: true, temperature: 0.7, top_p: 0.9 },
      null,
      2,
    ) + '\n',
  );
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tok['tokenizer.json']));
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify(tok['tokenizer_config.json'], null, 2) + '\n',
  );
  writeFileSync(join(dir, 'chat_template.jinja'), tok['chat_template.jinja']);
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
}
