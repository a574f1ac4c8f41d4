// A rubric file opens with a YAML front-matter block that says how the judge must answer:
//
//   ---
//   answer_format: score-line   # how the judge must answer (see answer-formats.ts)
//   scale: [0, 5]               # score formats only
//   mode: pointwise             # pointwise | pairwise | critique | revision | self-instruct
//   label: Revision             # free-text only: a "<label>:" prefix the model may echo
//   description: ...            # optional, for humans
//   ---
//
// Every mistake is reported at its "file:line:col", counted in the whole rubric file.

import {
  LineCounter,
  parseDocument,
  isMap,
  isScalar,
  type Node as YamlNode,
  type YAMLMap,
} from 'yaml';
import { fail } from '../../core/errors.js';
import { excerpt } from '../../core/excerpt.js';
import {
  ANSWER_FORMAT_NAMES,
  answerFormat,
  isAnswerFormatName,
  isScoreFormatName,
  type AnswerFormat,
  type AnswerFormatName,
} from '../answer-formats.js';
import type { Scale } from '../answer-parsers.js';
import { FORMATS_FOR_MODE, isRubricMode, RUBRIC_MODES, type RubricMode } from './modes.js';

export interface FrontMatter {
  format: AnswerFormat;
  scale?: Scale;
  mode: RubricMode;
  description?: string;
}

/** A rubric file cut in two, with the 1-based file line each part starts on. */
export interface RubricParts {
  yaml: string;
  yamlFirstLine: number;
  body: string;
  bodyFirstLine: number;
}

/** A front-matter value and the "path:line:col" where it is written. */
interface Field {
  value: unknown;
  where: string;
}

const FRONT_MATTER_KEYS = ['answer_format', 'scale', 'mode', 'label', 'description'] as const;
const FRONT_MATTER_HINT =
  'start the rubric with a front-matter block, e.g.\n---\nanswer_format: score-line\nscale: [0, 5]\nmode: pointwise\n---';

function bad(where: string, what: string, hint: string = FRONT_MATTER_HINT): never {
  return fail('E_RUBRIC_FRONT_MATTER', `${where}: ${what}`, hint);
}

/** Cut the front matter off a rubric's text (line endings already "\n"). */
export function splitFrontMatter(text: string, path: string): RubricParts {
  const lines = text.split('\n');
  if (lines[0]?.trimEnd() !== '---') {
    return bad(
      `${path}:1:1`,
      'a rubric must begin with a "---" front-matter line declaring answer_format and mode',
    );
  }
  const close = lines.findIndex((l, i) => i > 0 && l.trimEnd() === '---');
  if (close === -1) {
    return bad(`${path}:1:1`, 'the front matter opened here is never closed with a "---" line');
  }
  return {
    yaml: lines.slice(1, close).join('\n'),
    yamlFirstLine: 2,
    body: lines.slice(close + 1).join('\n'),
    bodyFirstLine: close + 2,
  };
}

/** Read and check the front matter's YAML, which starts on line `firstLine` of the file. */
export function readFrontMatter(yaml: string, firstLine: number, path: string): FrontMatter {
  const fields = readFields(yaml, firstLine, path);
  const whole = `${path}:${firstLine}:1`;
  const { formatName, mode } = readFormatAndMode(fields, whole);
  const scale = readScale(fields.get('scale'), formatName, whole);
  const label = readLabel(fields.get('label'), formatName);
  const descField = fields.get('description');
  if (descField && typeof descField.value !== 'string')
    bad(descField.where, 'description must be a string');

  return {
    format: answerFormat(formatName, { scale, label }),
    scale,
    mode,
    description: descField?.value as string | undefined,
  };
}

/** Parse the YAML into known keys, each with its value and position. */
function readFields(yaml: string, firstLine: number, path: string): Map<string, Field> {
  const lc = new LineCounter();
  const doc = parseDocument(yaml, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined): string => {
    const pos = lc.linePos(offset ?? 0);
    return `${path}:${pos.line + firstLine - 1}:${pos.col}`;
  };
  const nodeAt = (n: unknown): string => at((n as YamlNode | null)?.range?.[0]);

  const err = doc.errors[0];
  if (err) {
    bad(
      at(err.pos[0]),
      `front matter is not valid YAML: ${excerpt(err.message.split('\n')[0], 160)}`,
      'fix the YAML at that position; the front matter holds "key: value" lines such as "scale: [0, 5]"',
    );
  }
  if (!isMap(doc.contents)) bad(`${path}:${firstLine}:1`, 'front matter must be a YAML mapping');
  const map = doc.contents as YAMLMap;
  const values = doc.toJS({ maxAliasCount: 10 }) as Record<string, unknown>;

  const fields = new Map<string, Field>();
  for (const item of map.items) {
    const key = isScalar(item.key) ? String(item.key.value) : String(item.key);
    if (!(FRONT_MATTER_KEYS as readonly string[]).includes(key)) {
      bad(
        nodeAt(item.key),
        `unknown front-matter key "${excerpt(key)}"`,
        `allowed keys: ${FRONT_MATTER_KEYS.join(', ')}`,
      );
    }
    fields.set(key, { value: values[key], where: nodeAt(item.value ?? item.key) });
  }
  return fields;
}

/** answer_format and mode, both present, known, and fitting each other. */
function readFormatAndMode(
  fields: Map<string, Field>,
  whole: string,
): { formatName: AnswerFormatName; mode: RubricMode } {
  const fmt = fields.get('answer_format');
  if (!fmt) bad(whole, 'front matter has no answer_format');
  const formatName = fmt.value;
  if (typeof formatName !== 'string' || !isAnswerFormatName(formatName)) {
    fail(
      'E_RUBRIC_FORMAT',
      `${fmt.where}: unknown answer_format ${excerpt(String(JSON.stringify(formatName)))}`,
      `use one of: ${ANSWER_FORMAT_NAMES.join(', ')}`,
    );
  }

  const modeField = fields.get('mode');
  if (!modeField)
    bad(whole, 'front matter has no mode', `add "mode: <one of ${RUBRIC_MODES.join(' | ')}>"`);
  const mode = modeField.value;
  if (!isRubricMode(mode)) {
    bad(
      modeField.where,
      `unknown mode ${excerpt(String(JSON.stringify(mode)))}`,
      `use one of: ${RUBRIC_MODES.join(', ')}`,
    );
  }
  const allowed = FORMATS_FOR_MODE[mode];
  if (!allowed.includes(formatName)) {
    bad(
      fmt.where,
      `answer_format "${formatName}" does not fit mode "${mode}"`,
      `a ${mode} rubric uses ${allowed.join(' or ')}`,
    );
  }
  return { formatName, mode };
}

/** Score formats need a [min, max] scale; no other format may have one. */
function readScale(
  field: Field | undefined,
  formatName: AnswerFormatName,
  whole: string,
): Scale | undefined {
  if (!isScoreFormatName(formatName)) {
    if (field)
      bad(
        field.where,
        `scale has no meaning for answer_format "${formatName}"`,
        'delete the scale line',
      );
    return undefined;
  }
  if (!field) bad(whole, `answer_format "${formatName}" needs a scale`, 'add e.g. "scale: [0, 5]"');
  const v = field.value as number[];
  if (
    !Array.isArray(v) ||
    v.length !== 2 ||
    !v.every((x) => typeof x === 'number' && Number.isFinite(x)) ||
    !(v[0] < v[1])
  ) {
    bad(
      field.where,
      `scale must be [min, max] with numbers min < max, got ${excerpt(String(JSON.stringify(v)))}`,
      'e.g. "scale: [0, 5]"',
    );
  }
  return [v[0], v[1]];
}

/** The free-text label, trimmed; only free-text rubrics may have one. */
function readLabel(field: Field | undefined, formatName: AnswerFormatName): string | undefined {
  if (!field) return undefined;
  if (formatName !== 'free-text')
    bad(field.where, 'label is only used with answer_format free-text', 'delete the label line');
  if (typeof field.value !== 'string' || field.value.trim() === '')
    bad(field.where, 'label must be a non-empty string', 'e.g. "label: Revision"');
  return field.value.trim();
}
