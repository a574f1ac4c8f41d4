// A trained reward model on disk, in the format transformers' AutoModelForSequenceClassification
// loads: config.json with the …ForSequenceClassification class, one label and pad_token_id, and
// model.safetensors with the decoder and score.weight (LoRA merged in). A LoRA run also leaves
// its PEFT adapter (task_type SEQ_CLS, score in modules_to_save) in <dir>/adapter.
import { join } from 'node:path';
import type { LoadedModel } from '../../model/load-model.js';
import { saveFullCheckpoint, saveLoraAdapter } from '../save.js';
import type { TrainMode } from '../train-graph.js';

/** Where a LoRA run's adapter goes, inside the checkpoint folder. */
export const RM_ADAPTER_DIR = 'adapter';

/**
 * Write the checkpoint of `rm` (score-head.ts's view of the base, whose config is already the
 * reward model's) with the trained `params`; returns the adapter folder of a LoRA run.
 */
export function saveRewardModel(
  dir: string,
  rm: LoadedModel,
  mode: TrainMode,
  params: Map<string, Float32Array>,
): { adapterDir?: string } {
  if (mode.kind === 'full') {
    saveFullCheckpoint(dir, rm, { override: params });
    return {};
  }
  saveFullCheckpoint(dir, rm, { lora: { spec: mode.lora, params } });
  const adapterDir = join(dir, RM_ADAPTER_DIR);
  saveLoraAdapter(adapterDir, rm, mode.lora, params, {}, 'SEQ_CLS');
  return { adapterDir };
}
