import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { fail } from '../core/errors.js';
import { decodeUtf8 } from '../core/utf8.js';

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Read a UTF-8 text file that a researcher edits by hand. The byte-order mark some editors add is
 * dropped (it would otherwise glue itself to the first heading or JSON value); `maxBytes` guards
 * against pointing a rubric path at a model file by mistake. Bytes that are not UTF-8 are an
 * error at file:line:col, never a silent U+FFFD.
 */
export function readTextFile(
  path: string,
  opts: { code: string; what: string; hint: string; maxBytes?: number },
): string {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch {
    return fail(opts.code, `${opts.what} not found: ${path}`, opts.hint);
  }
  if (opts.maxBytes !== undefined && size > opts.maxBytes) {
    return fail(
      opts.code,
      `${path}: ${opts.what} is ${size} bytes, more than the ${opts.maxBytes}-byte limit`,
      `check that the path points at a ${opts.what}`,
    );
  }
  const text = decodeUtf8(readFileSync(path), path);
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}
