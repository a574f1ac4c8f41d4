import { readFileSync, statSync } from 'node:fs';
import { PipelineError } from '../core/errors.js';
import { excerpt } from '../core/excerpt.js';
import { decodeUtf8 } from '../core/utf8.js';

export interface JsonlRow {
  value: unknown;
  /** `file:line` of the row, for error messages. */
  where: string;
}

/** Read a JSONL file: one JSON value per non-empty line; a bad line is an error at file:line. */
export function readJsonl(path: string): JsonlRow[] {
  try {
    if (!statSync(path).isFile()) throw new Error('not a file');
  } catch {
    throw new PipelineError({
      code: 'E_DATA_NOT_FOUND',
      message: `data file not found: ${path}`,
      hint: 'pass a JSONL file with one JSON object per line',
    });
  }
  const rows: JsonlRow[] = [];
  decodeUtf8(readFileSync(path), path)
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      const where = `${path}:${i + 1}`;
      try {
        rows.push({ value: JSON.parse(line), where });
      } catch (e) {
        throw new PipelineError({
          code: 'E_DATA_JSON',
          message: `${where}: invalid JSON: ${excerpt((e as Error).message, 120)}`,
          hint: 'each line must be one complete JSON object (JSONL)',
        });
      }
    });
  if (rows.length === 0)
    throw new PipelineError({
      code: 'E_DATA_EMPTY',
      message: `${path}: no rows`,
      hint: 'the file must contain at least one JSON object',
    });
  return rows;
}
