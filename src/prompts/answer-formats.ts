// Answer formats: what a rubric asks the judge to write, built by name with its scale or label,
// paired with the parser that reads the answer back (answer-parsers.ts) and, for score and
// choice formats, the way to judge by log-probabilities instead.

import { fail } from '../core/errors.js';
import {
  parseAbChoice,
  parseFreeText,
  parseInstructionLine,
  parseJsonScore,
  parseScoreLine,
  type PairwiseChoice,
  type Scale,
  type ScoreParse,
  type TextParse,
  type VerdictParse,
} from './answer-parsers.js';

export const ANSWER_FORMAT_NAMES = [
  'score-line',
  'json-score',
  'ab-choice',
  'instruction-line',
  'free-text',
] as const;
export type AnswerFormatName = (typeof ANSWER_FORMAT_NAMES)[number];

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
  logprob(): LogprobSpec<PairwiseChoice>;
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
