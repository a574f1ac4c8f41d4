// Reading a small file that a person wrote (a pipeline, a rubric, a constitution, a phrase
// list): the size is checked before any byte is read, so a path pointing at a model file fails
// fast, and bytes that are not UTF-8 fail at file:line:col (decodeUtf8) instead of turning into
// U+FFFD. Each caller words its own errors, which is why they are callbacks.
import { readFileSync, statSync } from 'node:fs';
import { decodeUtf8 } from './utf8.js';

export interface ReadFileChecks {
  /** No regular file at the path (missing, a folder, unreadable). */
  notFound(): never;
  maxBytes?: number;
  /** The file is larger than `maxBytes`. */
  tooLarge(size: number): never;
}

export function readUtf8File(path: string, checks: ReadFileChecks): string {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch {
    return checks.notFound();
  }
  if (checks.maxBytes !== undefined && size > checks.maxBytes) return checks.tooLarge(size);
  return decodeUtf8(readFileSync(path), path);
}
