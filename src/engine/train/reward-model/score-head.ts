// A causal LM seen as a reward model before training: transformers'
// AutoModelForSequenceClassification.from_pretrained(causal_lm, num_labels=1) keeps the decoder,
// drops lm_head and draws a new `score` head; TRL's RewardTrainer then sets pad_token_id. This
// file does the same to a LoadedModel, with a seeded draw instead of torch's generator.
import { fail } from '../../../core/errors.js';
import { normals, Rng } from '../../../core/rng.js';
import type { ModelConfig } from '../../model/config.js';
import type { LoadedModel } from '../../model/load-model.js';
import { SCORE_WEIGHT } from './rewards.js';

/** The sequence-classification class of each causal-LM architecture. */
const SEQ_CLS_CLASS: Record<ModelConfig['architecture'], string> = {
  LlamaForCausalLM: 'LlamaForSequenceClassification',
  Qwen2ForCausalLM: 'Qwen2ForSequenceClassification',
  MistralForCausalLM: 'MistralForSequenceClassification',
};

/** Seed stream of the score head's init (1 is LoRA's, 2 the data order's). */
const SCORE_STREAM = 3;

/**
 * config.json of the reward model: the decoder's config with the sequence-classification class,
 * one label as transformers writes it (id2label / label2id; num_labels, which transformers derives
 * from id2label, for readers that look for it) and the pad id its head skips.
 */
export function rewardModelConfigJson(
  raw: Record<string, unknown>,
  architecture: ModelConfig['architecture'],
  padId: number,
): Record<string, unknown> {
  return {
    ...raw,
    architectures: [SEQ_CLS_CLASS[architecture]],
    id2label: { '0': 'LABEL_0' },
    label2id: { LABEL_0: 0 },
    num_labels: 1,
    pad_token_id: padId,
  };
}

/**
 * `base` as a one-label reward model whose batches are padded with `padId`: a sequence-
 * classification checkpoint keeps its own score head, a causal LM gets
 * score.weight [1, hidden] ~ N(0, initializer_range²) from `seed` (transformers' _init_weights).
 */
export function asRewardModel(base: LoadedModel, padId: number, seed: number): LoadedModel {
  const cfg = base.config;
  const head = cfg.scoreHead;
  if (head && head.numLabels !== 1)
    fail(
      'E_RM_LABELS',
      `${base.dir} is a classifier with ${head.numLabels} labels; a reward model has one`,
      'start from a causal LM (a new score head is drawn) or from a reward model with num_labels 1',
    );
  const raw = rewardModelConfigJson(cfg.raw, cfg.architecture, padId);
  const config: ModelConfig = { ...cfg, scoreHead: { numLabels: 1 }, padTokenId: padId, raw };
  if (head) return { ...base, config };
  const H = cfg.hiddenSize;
  const range = typeof cfg.raw.initializer_range === 'number' ? cfg.raw.initializer_range : 0.02;
  const score = normals(new Rng(seed).fork(SCORE_STREAM), H, range);
  return {
    ...base,
    config,
    weights: {
      get: (key) => (key === SCORE_WEIGHT ? { dims: [1, H], data: score } : base.weights.get(key)),
      external: (key) => (key === SCORE_WEIGHT ? undefined : base.weights.external?.(key)),
    },
  };
}
