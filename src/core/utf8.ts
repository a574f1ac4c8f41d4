// Text files a pipeline reads must be UTF-8: a silent U+FFFD in a prompt or a rubric changes what
// the model is asked and what every judgement means, and nothing downstream could tell. So bytes
// that are not UTF-8 are an error at file:line:col, found with the decoder itself (fatal mode),
// never replaced.

import { PipelineError } from './errors.js';

/** Decode `bytes` (the whole file) as UTF-8, or throw E_TEXT_ENCODING at the first bad byte. */
export function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const { line, col, byte } = firstBadByte(bytes);
    throw new PipelineError({
      code: 'E_TEXT_ENCODING',
      message: `${path}:${line}:${col}: byte 0x${byte.toString(16).toUpperCase().padStart(2, '0')} is not UTF-8 (text files must be UTF-8; nothing is replaced silently)`,
      hint: `convert the file to UTF-8, e.g. \`iconv -f latin1 -t utf-8 ${path} > fixed\` (if it was Latin-1)`,
    });
  }
}

/** Line, column (in characters) and value of the first byte that makes the text invalid. */
function firstBadByte(bytes: Uint8Array): { line: number; col: number; byte: number } {
  let start = 0;
  for (let line = 1; ; line++) {
    let end = bytes.indexOf(0x0a, start);
    if (end === -1) end = bytes.length;
    const text = bytes.subarray(start, end);
    if (!decodes(text, false)) {
      // the shortest prefix that fails in streaming mode ends with the offending byte: streaming
      // holds back an incomplete sequence instead of failing, so failure is monotone in length
      let lo = 1;
      let hi = text.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (decodes(text.subarray(0, mid), true)) lo = mid + 1;
        else hi = mid;
      }
      // the bytes decoded so far are the valid start of the line; the bad sequence begins after
      const before = new TextDecoder('utf-8', { ignoreBOM: true }).decode(
        text.subarray(0, lo - 1),
        { stream: true },
      );
      const at = new TextEncoder().encode(before).length;
      return { line, col: Array.from(before).length + 1, byte: text[at] };
    }
    if (end === bytes.length) return { line, col: 1, byte: 0 };
    start = end + 1;
  }
}

function decodes(bytes: Uint8Array, stream: boolean): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream });
    return true;
  } catch {
    return false;
  }
}
