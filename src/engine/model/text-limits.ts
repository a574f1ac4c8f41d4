import { Tokenizer } from '../tokenizer/tokenizer.js';
import type { ChatMessage } from '../tokenizer/tokenizer.js';
import { loadModelConfig } from './config.js';
import { resolveModelDir } from './load-model.js';

/** What a prompt's length is measured against: the model's positions and its tokenizer. */
export interface ModelTextLimits {
  dir: string;
  /** max_position_embeddings: prompt tokens + generated tokens must fit in it. */
  positions: number;
  /** Tokens of a chat as the engine feeds it (chat template, generation prompt added). */
  chatTokens(messages: ChatMessage[]): number;
}

/**
 * Reads config.json and the tokenizer files only, never the weights, so a pipeline can be
 * checked against a large checkpoint in a moment.
 */
export function loadModelTextLimits(ref: string): ModelTextLimits {
  const dir = resolveModelDir(ref);
  const config = loadModelConfig(dir);
  const tokenizer = Tokenizer.fromDir(dir);
  return {
    dir,
    positions: config.maxPositionEmbeddings,
    chatTokens: (messages) => tokenizer.encodeChat(messages, { addGenerationPrompt: true }).length,
  };
}
