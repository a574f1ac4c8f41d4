import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fail } from '../../core/errors.js';

export const BUILTIN_SANDBOX = 'builtin:sandbox';

/**
 * The sandbox chat model: a few-million-parameter Llama trained by this engine (SFT on the sandbox
 * world's instruction and evaluation data, `npm run build:sandbox-model`) and shipped with the
 * repository in assets/sandbox-model/, an ordinary Hugging Face folder. Unlike builtin:tiny it is
 * not built on first use: training takes minutes, so its weights are committed with the script
 * that makes them and the training curve it printed.
 */
export function sandboxModelDir(): string {
  // dist/src/engine/model/builtin-sandbox.js -> <package root>/assets/sandbox-model
  const dir = fileURLToPath(new URL('../../../../assets/sandbox-model', import.meta.url));
  if (!existsSync(`${dir}/model.safetensors`))
    fail(
      'E_MODEL_NOT_FOUND',
      `the sandbox model is missing from ${dir}`,
      'build it with `npm run build:sandbox-model` (deterministic from its seed), or restore ' +
        'assets/sandbox-model/ from git',
    );
  return dir;
}
