// Prompt sets in TRL's prompt-only format, one JSON object per line:
//   {"prompt": [{"role": "user", "content": "..."}], "id": "seed-001", "reference": "..."}
//   {"prompt": "plain text is a single user message"}
// `id` is optional (derived as <file>-<line>); `reference` is an optional fixed answer that the
// evaluate stage scores under each checkpoint to measure log-prob shift. Phrase lists are plain
// text, one phrase per line.

import { basename, extname } from 'node:path';
import { fail } from '../core/errors.js';
import { excerpt } from '../core/excerpt.js';
import { readTextFile } from './read-text.js';

export type Role = 'system' | 'user' | 'assistant';
export interface Message {
  role: Role;
  content: string;
}
export interface PromptRow {
  id: string;
  messages: Message[];
  reference?: string;
}

const ROLES: readonly string[] = ['system', 'user', 'assistant'];
const FIELDS = new Set(['prompt', 'id', 'reference']);
// Columns of TRL's other dataset types; a preference file can serve as a prompt source.
const IGNORED_TRL_FIELDS = new Set(['chosen', 'rejected', 'completion', 'label']);
const ROW_HINT =
  'each line must be {"prompt": [{"role": "user", "content": "..."}]} or {"prompt": "..."}, ' +
  'with optional "id" (string) and "reference" (string)';

export function loadPromptSet(path: string): PromptRow[] {
  const text = readTextFile(path, {
    code: 'E_PROMPTS_NOT_FOUND',
    what: 'prompt file',
    hint: 'pass a JSONL file in TRL prompt format, e.g. prompts/seed.jsonl',
  });
  const stem = basename(path, extname(path));
  const rows: PromptRow[] = [];
  const seen = new Map<string, number>();
  text.split('\n').forEach((raw, i) => {
    const lineNo = i + 1;
    const where = `${path}:${lineNo}`;
    const line = raw.trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      fail(
        'E_PROMPTS_JSON',
        `${where}: invalid JSON: ${excerpt((e as Error).message, 120)}`,
        'each line must be one complete JSON object (JSONL)',
      );
    }
    const row = readRow(value, where);
    const id = row.id ?? `${stem}-${lineNo}`;
    const first = seen.get(id);
    if (first !== undefined) {
      fail(
        'E_PROMPTS_DUPLICATE_ID',
        `${where}: id "${excerpt(id)}" is already used at line ${first}`,
        'ids identify prompts across rounds and runs; give every row its own id',
      );
    }
    seen.set(id, lineNo);
    rows.push(
      row.reference === undefined
        ? { id, messages: row.messages }
        : { id, messages: row.messages, reference: row.reference },
    );
  });
  if (rows.length === 0) {
    fail('E_PROMPTS_EMPTY', `${path}: no prompts (the file is empty)`, ROW_HINT);
  }
  return rows;
}

function readRow(
  value: unknown,
  where: string,
): { id?: string; messages: Message[]; reference?: string } {
  const bad = (what: string, hint: string = ROW_HINT): never =>
    fail('E_PROMPTS_ROW', `${where}: ${what}`, hint);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return bad(
      `expected a JSON object, got ${Array.isArray(value) ? 'an array' : excerpt(JSON.stringify(value))}`,
    );
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!FIELDS.has(key) && !IGNORED_TRL_FIELDS.has(key)) {
      bad(
        `unknown field "${excerpt(key)}"`,
        `allowed fields: prompt, id, reference (${[...IGNORED_TRL_FIELDS].join(', ')} are ignored)`,
      );
    }
  }

  let id: string | undefined;
  if ('id' in obj) {
    if (typeof obj.id !== 'string' || obj.id.trim() === '' || obj.id !== obj.id.trim())
      bad(
        `"id" must be a non-empty string without surrounding spaces, got ${excerpt(String(JSON.stringify(obj.id)))}`,
      );
    id = obj.id as string;
  }

  let reference: string | undefined;
  if ('reference' in obj) {
    if (typeof obj.reference !== 'string' || obj.reference.trim() === '')
      bad(
        `"reference" must be a non-empty string, got ${excerpt(String(JSON.stringify(obj.reference)))}`,
      );
    reference = obj.reference as string;
  }

  if (!('prompt' in obj)) bad('missing "prompt"');
  const prompt = obj.prompt;
  let messages: Message[];
  if (typeof prompt === 'string') {
    if (prompt.trim() === '') bad('"prompt" is empty');
    messages = [{ role: 'user', content: prompt }];
  } else if (Array.isArray(prompt)) {
    if (prompt.length === 0) bad('"prompt" has no messages');
    messages = prompt.map((m, j) => {
      if (m === null || typeof m !== 'object' || Array.isArray(m))
        return bad(`prompt[${j}] must be an object {"role": ..., "content": ...}`);
      const { role, content, ...rest } = m as Record<string, unknown>;
      const extra = Object.keys(rest);
      if (extra.length > 0)
        bad(
          `prompt[${j}] has unknown field "${extra[0]}"`,
          'a message has only "role" and "content"',
        );
      if (typeof role !== 'string' || !ROLES.includes(role))
        bad(
          `prompt[${j}].role must be one of ${ROLES.join(', ')}, got ${excerpt(String(JSON.stringify(role)))}`,
        );
      if (typeof content !== 'string' || content.trim() === '')
        bad(`prompt[${j}].content must be a non-empty string`);
      return { role: role as Role, content: content as string };
    });
    // The model answers the prompt, so the conversation must end on the user's turn.
    const last = messages[messages.length - 1];
    if (last.role !== 'user')
      bad(
        `the last message of "prompt" has role "${last.role}"; a prompt must end with a user message`,
      );
  } else {
    return bad(
      `"prompt" must be a list of messages or a string, got ${excerpt(String(JSON.stringify(prompt)))}`,
    );
  }
  return { id, messages, reference };
}

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
