// The parser of each answer format: reads back what a rubric asked the judge to write. A parser
// never guesses. When the answer does not follow the format exactly as documented it returns
// { ok: false, reason }, and the judge stage counts that as a parse failure: a wrong score
// silently turned into a preference pair is worse than a discarded sample.

/** Which of two responses a pairwise judge prefers (no tie: a hedged answer fails to parse). */
export type PairwiseChoice = 'A' | 'B';
/** The inclusive [min, max] range a score must fall in. */
export type Scale = readonly [min: number, max: number];

export type ParseFailure = { ok: false; reason: string };
/** `matched` is the exact piece of the answer the value came from, kept for provenance. */
export type ScoreParse = { ok: true; score: number; matched: string } | ParseFailure;
export type VerdictParse = { ok: true; verdict: PairwiseChoice; matched: string } | ParseFailure;
export type TextParse = { ok: true; text: string } | ParseFailure;

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
