import { preflight, type Preflight } from './preflight/index.js';

/**
 * Every check `run` makes before any work (preflight/index.ts); `pipeline validate` and
 * `pipeline run` both call this, so they accept and refuse the same files with the same message.
 */
export function validateWithTemplates(file: string, allowPaths?: readonly string[]): Preflight {
  return preflight(file, allowPaths);
}
