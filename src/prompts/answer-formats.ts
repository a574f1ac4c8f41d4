// Answer formats: what a rubric asks the judge to write, and the one parser that reads it back.
// A parser never guesses. When the answer does not follow the format exactly as documented it
// returns { ok: false, reason }, and the judge stage counts that as a parse failure: a wrong
// score silently turned into a preference pair is worse than a discarded sample.

import { fail } from '../core/errors.js';

export const ANSWER_FORMAT_NAMES = [
  'score-line',
  'json-score',
  'ab-choice',
  'instruction-line',
  'free-text',
] as const;
export type AnswerFormatName = (typeof ANSWER_FORMAT_NAMES)[number];

export type Verdict = 'A' | 'B';
export type Scale = readonly [min: number, max: number];

export type ParseFailure = { ok: false; reason: string };
/** `matched` is the exact piece of the answer the value came from, kept for provenance. */
export type ScoreParse = { ok: true; score: number; matched: string } | ParseFailure;
export type VerdictParse = { ok: true; verdict: Verdict; matched: string } | ParseFailure;
export type TextParse = { ok: true; text: string } | ParseFailure;

/**
 * How to judge by log-probabilities instead of parsing generated text: append `prefix` to the
 * judge's reply, read the next-token distribution, and keep only the tokens spelled by
 * `options[i].text`. The judge stage must check that each option is a single token for the
 * model's tokenizer (e.g. "10" often is not).
 */
export interface LogprobSpec<V> {
  prefix: string;
  options: { text: string; value: V }[];
}

export interface ScoreFormat {
  kind: 'score';
  name: 'score-line' | 'json-score';
  scale: Scale;
  /** One sentence for error messages and docs. */
  describe: string;
  parse(answer: string): ScoreParse;
  logprob(): LogprobSpec<number>;
}

export interface VerdictFormat {
  kind: 'verdict';
  name: 'ab-choice';
  describe: string;
  parse(answer: string): VerdictParse;
  logprob(): LogprobSpec<Verdict>;
}

export interface TextFormat {
  kind: 'text';
  name: 'instruction-line' | 'free-text';
  describe: string;
  parse(answer: string): TextParse;
}

export type AnswerFormat = ScoreFormat | VerdictFormat | TextFormat;

export interface AnswerFormatOptions {
  /** Required by score formats: the inclusive [min, max] range of valid scores. */
  scale?: Scale;
  /** free-text only: a leading "<label>:" the model may echo (e.g. "Revision:") is dropped. */
  label?: string;
}

export function isAnswerFormatName(name: string): name is AnswerFormatName {
  return (ANSWER_FORMAT_NAMES as readonly string[]).includes(name);
}

/** The formats whose parser yields a score (and which therefore need a `scale`). */
export function isScoreFormatName(name: string): name is ScoreFormat['name'] {
  return name === 'score-line' || name === 'json-score';
}

/** Build a format by name. Throws E_ANSWER_FORMAT for an unknown name or a bad scale. */
export function answerFormat(name: string, opts: AnswerFormatOptions = {}): AnswerFormat {
  switch (name) {
    case 'score-line': {
      const scale = checkScale(name, opts.scale);
      return {
        kind: 'score',
        name,
        scale,
        describe: `a final line "Score: <n>" with n a number from ${scale[0]} to ${scale[1]}`,
        parse: (answer) => parseScoreLine(answer, scale),
        logprob: () => ({ prefix: 'Score: ', options: integerOptions(name, scale) }),
      };
    }
    case 'json-score': {
      const scale = checkScale(name, opts.scale);
      return {
        kind: 'score',
        name,
        scale,
        describe: `a JSON object {"score": <n>} with n a number from ${scale[0]} to ${scale[1]}`,
        parse: (answer) => parseJsonScore(answer, scale),
        logprob: () => ({ prefix: '{"score": ', options: integerOptions(name, scale) }),
      };
    }
    case 'ab-choice':
      return {
        kind: 'verdict',
        name,
        describe: 'a final line naming exactly one of "(A)" or "(B)", e.g. "Verdict: (A)"',
        parse: parseAbChoice,
        logprob: () => ({
          prefix: 'Verdict: (',
          options: [
            { text: 'A', value: 'A' },
            { text: 'B', value: 'B' },
          ],
        }),
      };
    case 'instruction-line':
      return {
        kind: 'text',
        name,
        describe: 'one line "Instruction: <text>"',
        parse: parseInstructionLine,
      };
    case 'free-text': {
      const label = opts.label;
      return {
        kind: 'text',
        name,
        describe: 'any non-empty text',
        parse: (answer) => parseFreeText(answer, label),
      };
    }
    default:
      return fail(
        'E_ANSWER_FORMAT',
        `unknown answer format "${name}"`,
        `use one of: ${ANSWER_FORMAT_NAMES.join(', ')}`,
      );
  }
}

function checkScale(name: string, scale: Scale | undefined): Scale {
  if (
    !scale ||
    !Number.isFinite(scale[0]) ||
    !Number.isFinite(scale[1]) ||
    !(scale[0] < scale[1])
  ) {
    return fail(
      'E_ANSWER_FORMAT',
      `answer format "${name}" needs a scale [min, max] with min < max, got ${JSON.stringify(scale)}`,
      'declare it in the rubric front matter, e.g. "scale: [0, 5]"',
    );
  }
  return [scale[0], scale[1]];
}

/** Log-prob judging reads one token per score, so only whole-number scales of modest size work. */
function integerOptions(name: string, [min, max]: Scale): { text: string; value: number }[] {
  if (!Number.isInteger(min) || !Number.isInteger(max) || max - min > 100) {
    return fail(
      'E_ANSWER_FORMAT',
      `answer format "${name}" with scale [${min}, ${max}] cannot be judged by log-probabilities`,
      'log-prob judging needs a whole-number scale (e.g. [0, 5]); use mode: generate instead',
    );
  }
  const options: { text: string; value: number }[] = [];
  for (let v = min; v <= max; v++) options.push({ text: String(v), value: v });
  return options;
}

// ---- parsers --------------------------------------------------------------------------------------

// Judges often wrap labels in markdown ("**Score:** 4", "> Score: 4"); the markup is stripped
// around the label and the value only, never inside the value, so "4*2" stays unparseable.
// Written as plain string scans: a regex with adjacent optional runs backtracks quadratically
// on long runs of spaces, and judge output is untrusted text.
const NUMBER = /^[+-]?(?:\d+(?:\.\d+)?|\.\d+)$/;
const MARKUP = new Set(['*', '_', '`']);
const isSpace = (c: string) => c.trim() === '';

function skip(s: string, i: number, pred: (c: string) => boolean): number {
  while (i < s.length && pred(s[i])) i++;
  return i;
}

/** Strip whitespace and emphasis markers from both ends. */
function trimMarkup(s: string): string {
  const keep = (c: string) => isSpace(c) || MARKUP.has(c);
  let end = s.length;
  while (end > 0 && keep(s[end - 1])) end--;
  return s.slice(skip(s, 0, keep), end);
}

/**
 * What follows "<label>:" at the start of `text` (after any quote/heading marks and emphasis),
 * or undefined when `text` does not start with that label. The label is case-insensitive.
 */
function afterLabel(text: string, label: string): string | undefined {
  let i = skip(text, 0, (c) => isSpace(c) || c === '#' || c === '>');
  i = skip(text, i, (c) => MARKUP.has(c) || isSpace(c));
  if (text.slice(i, i + label.length).toLowerCase() !== label.toLowerCase()) return undefined;
  i = skip(text, i + label.length, (c) => MARKUP.has(c) || isSpace(c));
  if (text[i] !== ':') return undefined;
  return text.slice(i + 1);
}

function labelledValue(line: string, label: string): string | undefined {
  const rest = afterLabel(line, label);
  return rest === undefined ? undefined : trimMarkup(rest);
}

function checkInScale(value: number, [min, max]: Scale, matched: string): ScoreParse {
  if (value < min || value > max)
    return { ok: false, reason: `score ${value} is outside the scale [${min}, ${max}]` };
  return { ok: true, score: value, matched };
}

/**
 * `score-line`: the LAST line of the form "Score: <n>" decides (judges restate the format or
 * revise themselves before the end). If that last line does not hold a bare number ("4/5",
 * "four", "4 points") the answer is unparseable: an earlier line is not taken instead.
 */
export function parseScoreLine(answer: string, scale: Scale): ScoreParse {
  const lines = answer.split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const raw = labelledValue(lines[i], 'score');
    if (raw === undefined) continue;
    const value = trimMarkup(raw.replace(/\.$/, ''));
    if (!NUMBER.test(value))
      return { ok: false, reason: `the last "Score:" line holds "${raw}", not a number` };
    return checkInScale(Number(value), scale, lines[i].trim());
  }
  return { ok: false, reason: 'no "Score: <n>" line in the answer' };
}

/**
 * `json-score`: the last JSON object in the answer that has a "score" key decides; its value must
 * be a JSON number (not a string) inside the scale. Objects may sit in prose or a code fence.
 */
export function parseJsonScore(answer: string, scale: Scale): ScoreParse {
  const objects = jsonObjectsIn(answer).filter(
    (o) =>
      typeof o.value === 'object' &&
      o.value !== null &&
      !Array.isArray(o.value) &&
      'score' in o.value,
  );
  const last = objects.at(-1);
  if (!last) return { ok: false, reason: 'no JSON object with a "score" key in the answer' };
  const score = (last.value as Record<string, unknown>).score;
  if (typeof score !== 'number' || !Number.isFinite(score))
    return { ok: false, reason: `"score" is ${JSON.stringify(score)}, not a number` };
  return checkInScale(score, scale, last.text);
}

/** Every balanced {...} span that JSON.parse accepts, outermost only, in order. */
function jsonObjectsIn(text: string): { text: string; value: unknown }[] {
  const found: { text: string; value: unknown }[] = [];
  let i = text.indexOf('{');
  while (i !== -1) {
    const end = matchingBrace(text, i);
    if (end !== -1) {
      const span = text.slice(i, end + 1);
      try {
        found.push({ text: span, value: JSON.parse(span) });
        i = text.indexOf('{', end + 1);
        continue;
      } catch {
        // not JSON: an inner brace may still start a valid object
      }
    }
    i = text.indexOf('{', i + 1);
  }
  return found;
}

function matchingBrace(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let j = start; j < text.length; j++) {
    const c = text[j];
    if (inString) {
      if (c === '\\') j++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return j;
  }
  return -1;
}

const CHOICE_A = /\(\s*A\s*\)/g;
const CHOICE_B = /\(\s*B\s*\)/g;
// A final line like "Both (A) and (B) are fine" or "not (A)" names a letter without choosing it.
const HEDGE = /\b(?:both|neither|nor|tie|tied|equal|equally|same|not|cannot|can't)\b/i;

/**
 * `ab-choice`: the last non-empty line must name exactly one of "(A)" / "(B)" (upper case, in
 * parentheses) and contain no hedging word. Anything else (both, neither, a tie, a letter
 * without parentheses) is a parse failure.
 */
export function parseAbChoice(answer: string): VerdictParse {
  const last = answer
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .at(-1);
  if (last === undefined) return { ok: false, reason: 'the answer is empty' };
  const a = last.match(CHOICE_A)?.length ?? 0;
  const b = last.match(CHOICE_B)?.length ?? 0;
  if (a === 0 && b === 0)
    return { ok: false, reason: `the final line "${last}" names neither (A) nor (B)` };
  if (a > 0 && b > 0)
    return { ok: false, reason: `the final line "${last}" names both (A) and (B)` };
  if (HEDGE.test(last))
    return { ok: false, reason: `the final line "${last}" hedges instead of choosing` };
  return { ok: true, verdict: a > 0 ? 'A' : 'B', matched: last };
}

/**
 * `instruction-line`: exactly one line "Instruction: <text>". Several such lines mean the model
 * wrote a list, and picking one of them would be a guess.
 */
export function parseInstructionLine(answer: string): TextParse {
  const found = answer
    .split(/\r?\n/)
    .map((l) => labelledValue(l, 'instruction'))
    .filter((v): v is string => v !== undefined)
    .map((v) => stripQuotes(v));
  if (found.length === 0) return { ok: false, reason: 'no "Instruction: <text>" line' };
  const distinct = [...new Set(found)];
  if (distinct.length > 1)
    return { ok: false, reason: `${distinct.length} different "Instruction:" lines; expected one` };
  if (distinct[0] === '') return { ok: false, reason: 'the "Instruction:" line is empty' };
  return { ok: true, text: distinct[0] };
}

function stripQuotes(s: string): string {
  const m = /^(["“'])(.*)(["”'])$/.exec(s);
  return m && (m[1] === m[3] || (m[1] === '“' && m[3] === '”')) ? m[2].trim() : s;
}

/** `free-text`: the trimmed answer, minus a leading "<label>:" the model echoed; empty fails. */
export function parseFreeText(answer: string, label?: string): TextParse {
  let text = answer.trim();
  const rest = label ? afterLabel(text, label) : undefined;
  // Only the emphasis closing the label ("**Revision:** ...") goes: the reply itself may start or
  // end with markdown (a list, a code fence) that must survive.
  if (rest !== undefined) text = rest.replace(/^[*_]+/, '').trim();
  if (text === '') return { ok: false, reason: 'the answer is empty' };
  return { ok: true, text };
}
