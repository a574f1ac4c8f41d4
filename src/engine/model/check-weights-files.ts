import { openCheckpointWeights } from './checkpoint.js';
import { loadModelConfig } from './config.js';
import { resolveModelDir } from './load-model.js';
import { checkWeights } from './tensor-layout.js';

/**
 * Reads a checkpoint's safetensors headers (never the tensor data) and checks that every tensor
 * its config needs is there with the right shape and a float dtype, so a damaged, truncated or
 * mismatched checkpoint fails `pipeline validate` and `run`'s preflight instead of a run it had
 * already created.
 */
export function checkModelWeightFiles(ref: string): void {
  const dir = resolveModelDir(ref);
  const config = loadModelConfig(dir);
  const source = openCheckpointWeights(dir);
  try {
    checkWeights(config, source, dir);
  } finally {
    source.close();
  }
}
