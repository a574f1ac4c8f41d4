// Phrase lists are plain text, one phrase per line, matched against responses the way a reader
// would: case-insensitive, with typographic quotes folded (refusal rates, the rule judge).

import { fail } from '../core/errors.js';
import { readTextFile } from './read-text.js';

/**
 * One phrase per line. Blank lines and lines starting with "#" are skipped; surrounding spaces are
 * trimmed; repeats (ignoring case) are kept once. An empty list is an error, because a refusal
 * rate measured against no phrases would read as a perfect 0%.
 */
export function loadPhraseList(path: string): string[] {
  const text = readTextFile(path, {
    code: 'E_PHRASES_NOT_FOUND',
    what: 'phrase list',
    hint: 'pass a text file with one phrase per line, e.g. prompts/refusal-phrases.txt',
  });
  const phrases: string[] = [];
  const seen = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const key = normalizeForPhraseMatch(line);
    if (seen.has(key)) continue;
    seen.add(key);
    phrases.push(line);
  }
  if (phrases.length === 0) {
    fail(
      'E_PHRASES_EMPTY',
      `${path}: no phrases (only blank or # comment lines)`,
      'write one phrase per line',
    );
  }
  return phrases;
}

/**
 * The matching rule the phrase files are written for: case-insensitive, with typographic
 * apostrophes and quotes folded to ASCII and runs of whitespace collapsed, so "I can’t" in a
 * response matches "I can't" in the file.
 */
export function normalizeForPhraseMatch(text: string): string {
  return text
    .replace(/[\u2018\u2019\u02BC]/g, "'")
    .replace(/[\u201C\u201D]/g, '"')
    .replace(/\s+/g, ' ')
    .toLowerCase();
}

/** The phrases of `phrases` that occur in `text` under normalizeForPhraseMatch. */
export function findPhrases(text: string, phrases: readonly string[]): string[] {
  const hay = normalizeForPhraseMatch(text);
  return phrases.filter((p) => hay.includes(normalizeForPhraseMatch(p)));
}
