import { createHash } from 'node:crypto';
import { fail } from '../core/errors.js';
import { readUtf8File } from '../core/read-file.js';

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A kind of hand-edited file: the error code and hint when one is missing, and a size cap. */
export interface TextFileKind {
  code: string;
  what: string;
  hint: string;
  maxBytes?: number;
}

/**
 * Read a UTF-8 text file that a researcher edits by hand. The byte-order mark some editors add is
 * dropped (it would otherwise glue itself to the first heading or JSON value); `maxBytes` guards
 * against pointing a rubric path at a model file by mistake. Bytes that are not UTF-8 are an
 * error at file:line:col, never a silent U+FFFD.
 */
export function readTextFile(path: string, opts: TextFileKind): string {
  const text = readUtf8File(path, {
    notFound: () => fail(opts.code, `${opts.what} not found: ${path}`, opts.hint),
    maxBytes: opts.maxBytes,
    tooLarge: (size) =>
      fail(
        opts.code,
        `${path}: ${opts.what} is ${size} bytes, more than the ${opts.maxBytes}-byte limit`,
        `check that the path points at a ${opts.what}`,
      ),
  });
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

/** The loader of one kind of hand-edited file: readTextFile's checks, then `parse(text, path)`. */
export function textFileLoader<T>(
  kind: TextFileKind,
  parse: (text: string, path: string) => T,
): (path: string) => T {
  return (path) => parse(readTextFile(path, kind), path);
}
