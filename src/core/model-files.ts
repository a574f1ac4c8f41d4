/**
 * Files besides the weights that the engine reads from a Hugging Face model folder: what `pull`
 * downloads with the weights, and what a run pins as its model's inputs.
 */
export const MODEL_SIDE_FILES: readonly string[] = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
];
