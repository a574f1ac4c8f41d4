// Prompt sets in TRL's prompt-only format, one JSON object per line:
//   {"prompt": [{"role": "user", "content": "..."}], "id": "seed-001", "reference": "..."}
//   {"prompt": "plain text is a single user message"}
// `id` is optional (derived as <file>-<line>); `reference` is an optional fixed answer that the
// evaluate stage scores under each checkpoint to measure log-prob shift.

import { basename, extname } from 'node:path';
import { fail } from '../core/errors.js';
import { excerpt } from '../core/excerpt.js';
import { readTextFile } from './read-text.js';

export type Role = 'system' | 'user' | 'assistant';
export interface Message {
  role: Role;
  content: string;
}
/** One row of a prompt file as read from disk (the store's PromptRow is a prompt of a run). */
export interface PromptFileRow {
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

export function loadPromptSet(path: string): PromptFileRow[] {
  const text = readTextFile(path, {
    code: 'E_PROMPTS_NOT_FOUND',
    what: 'prompt file',
    hint: 'pass a JSONL file in TRL prompt format, e.g. prompts/seed.jsonl',
  });
  const stem = basename(path, extname(path));
  const rows: PromptFileRow[] = [];
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
