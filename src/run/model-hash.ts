import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Content hash of a model's weights file (or of the builtin name), recorded with the base checkpoint. */
export function modelHash(path: string): string {
  const f = join(path, 'model.safetensors');
  if (!existsSync(f)) return createHash('sha256').update(path).digest('hex');
  // Hashing gigabytes of weights at every start is too slow; config + size + mtime identify them.
  const st = statSync(f);
  return createHash('sha256')
    .update(readFileSync(join(path, 'config.json')))
    .update(`${st.size}:${st.mtimeMs}`)
    .digest('hex');
}
