// What an error message may show of a file's content: a short piece, with control characters
// escaped. A file that failed to parse can be anything (a binary, a key file pointed at by
// mistake, text with terminal escape sequences), and an error message goes to a terminal and
// into logs, so it never carries more than a line's worth of it, and nothing a terminal obeys.

/** Longest excerpt of file content an error message shows, in characters. */
export const EXCERPT_LIMIT = 60;

// C0 and C1 controls, DEL, and the bidirectional overrides/isolates that reorder displayed text
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** `text` capped at `limit` characters ("…" marks a cut) with control characters escaped. */
export function excerpt(text: string, limit: number = EXCERPT_LIMIT): string {
  const chars = Array.from(text);
  const cut = chars.length > limit ? `${chars.slice(0, limit).join('')}…` : text;
  return cut.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
