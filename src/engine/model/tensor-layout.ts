// The checkpoint tensors a model config implies (Hugging Face names, torch shapes), and the
// check that a checkpoint's weights match them before any graph is built.

import { fail } from '../../core/errors.js';
import type { WeightSource } from './checkpoint.js';
import type { ModelConfig } from './config.js';
import { isFloatDtype } from './safetensors.js';

/** Checkpoint tensor names the model needs, with their shapes (torch Linear weights are [out, in]). */
export function modelTensorShapes(cfg: ModelConfig): Map<string, number[]> {
  const h = cfg.hiddenSize;
  const q = cfg.numAttentionHeads * cfg.headDim;
  const kv = cfg.numKeyValueHeads * cfg.headDim;
  const ff = cfg.intermediateSize;
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [cfg.vocabSize, h]);
  for (let i = 0; i < cfg.numHiddenLayers; i++) {
    const p = `model.layers.${i}.`;
    m.set(`${p}input_layernorm.weight`, [h]);
    const proj = (name: string, out: number, inp: number, bias: boolean) => {
      m.set(`${p}${name}.weight`, [out, inp]);
      if (bias) m.set(`${p}${name}.bias`, [out]);
    };
    proj('self_attn.q_proj', q, h, cfg.attentionBias);
    proj('self_attn.k_proj', kv, h, cfg.attentionBias);
    proj('self_attn.v_proj', kv, h, cfg.attentionBias);
    proj('self_attn.o_proj', h, q, cfg.oProjBias);
    m.set(`${p}post_attention_layernorm.weight`, [h]);
    proj('mlp.gate_proj', ff, h, cfg.mlpBias);
    proj('mlp.up_proj', ff, h, cfg.mlpBias);
    proj('mlp.down_proj', h, ff, cfg.mlpBias);
  }
  m.set('model.norm.weight', [h]);
  // A sequence-classification model has its score head instead of an lm_head (tied or not).
  if (cfg.scoreHead) m.set('score.weight', [cfg.scoreHead.numLabels, h]);
  else if (!cfg.tieWordEmbeddings) m.set('lm_head.weight', [cfg.vocabSize, h]);
  return m;
}

export function modelTensorNames(cfg: ModelConfig): string[] {
  return [...modelTensorShapes(cfg).keys()];
}

/**
 * Verifies that every tensor the model needs is present with the expected shape and a float
 * dtype. Extra tensors are allowed (transformers ignores them too, e.g. a tied lm_head.weight or
 * rotary_emb.inv_freq from old exports).
 */
export function checkWeights(cfg: ModelConfig, weights: WeightSource, dir: string): void {
  const problems: string[] = [];
  const missing: string[] = [];
  for (const [name, expected] of modelTensorShapes(cfg)) {
    if (!weights.has(name)) {
      missing.push(name);
      problems.push(`tensor '${name}' is missing (expected shape [${expected.join(', ')}])`);
      continue;
    }
    const info = weights.info(name);
    if (!isFloatDtype(info.dtype))
      problems.push(`tensor '${name}' has dtype ${info.dtype}, expected F32, F16, BF16 or F64`);
    if (info.shape.length !== expected.length || info.shape.some((d, i) => d !== expected[i]))
      problems.push(
        `tensor '${name}' has shape [${info.shape.join(', ')}], expected [${expected.join(', ')}]`,
      );
  }
  if (problems.length === 0) return;

  const shown = problems.slice(0, 5).join('; ');
  const more = problems.length > 5 ? `; and ${problems.length - 5} more problems` : '';
  let hint =
    'the weights and config.json must come from the same model: check hidden_size, intermediate_size, ' +
    'num_attention_heads, num_key_value_heads, head_dim, vocab_size and tie_word_embeddings';
  if (missing.length === 1 && missing[0] === 'score.weight')
    hint =
      `config.json names ${String(cfg.raw.architectures)} (a sequence-classification model) but the ` +
      'checkpoint has no score.weight: save the trained reward model with its score head, or load ' +
      'a causal LM (architectures …ForCausalLM) to train a new head';
  else if (missing.length === 1 && missing[0] === 'lm_head.weight')
    hint =
      'config.json says tie_word_embeddings is false but the checkpoint has no lm_head.weight; ' +
      'if the output layer shares the embedding matrix, set "tie_word_embeddings": true';
  else if (missing.length > 0 && missing.length === problems.length) {
    const names = weights.names();
    if (names.some((n) => n.startsWith('layers.') || n.startsWith('embed_tokens.')))
      hint =
        'the checkpoint names tensors without the "model." prefix (a bare LlamaModel export); ' +
        'save it again from the ForCausalLM class';
  }
  fail(
    'E_CHECKPOINT_MISMATCH',
    `checkpoint in ${dir} does not match its config.json (${cfg.architecture}): ${shown}${more}`,
    hint,
  );
}
