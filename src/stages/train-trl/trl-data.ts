import { renameSync, writeFileSync } from 'node:fs';

/**
 * Write a file so that a reader (or a resumed run) sees the old content or the new, never half:
 * a sibling temporary file, renamed over the target.
 */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * The round's rows as TRL JSONL, one row a line in the order given (the order is part of what
 * makes a re-run identical): conversational preference rows {prompt: messages, chosen:
 * [assistant], rejected: [assistant]} as the in-process trainer gets them.
 */
export function trlJsonl(rows: readonly unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}
