// Full texts in details mode get only the rows left over, so they are cut by rows, not characters.

/** `text` cut to about `maxLines` rows of `width` columns, with an ellipsis if cut. */
export function clipText(
  text: string,
  width: number,
  maxLines: number,
): { text: string; lines: number } {
  if (maxLines <= 0) return { text: '', lines: 0 };
  const out: string[] = [];
  let used = 0;
  for (const l of text.split('\n')) {
    const rowsOf = Math.max(1, Math.ceil(l.length / width));
    if (used + rowsOf <= maxLines) {
      out.push(l);
      used += rowsOf;
      continue;
    }
    const room = maxLines - used;
    if (room > 0) out.push(l.slice(0, room * width - 1) + '…');
    else if (out.length) out[out.length - 1] = out[out.length - 1].slice(0, -1) + '…';
    return { text: out.join('\n'), lines: maxLines };
  }
  return { text: out.join('\n'), lines: used };
}
