import { loadPhraseList, findPhrases } from '../prompts/phrase-list.js';
import { gradeAnswer, MAX_POINTS } from '../sandbox/index.js';
import type { RuleSpec } from '../spec/schema.js';

export interface RuleOutcome {
  rule: string;
  passed: boolean;
  weight: number;
  why: string;
  /** A graded rule's score in [0, 1] (the sandbox grader); pass/fail rules score passed ? 1 : 0. */
  score?: number;
}

export interface RuleVerdict {
  /** Weighted mean of the rules' scores (pass 1 / fail 0, or a graded rule's score), in [0, 1]. */
  score: number;
  outcomes: RuleOutcome[];
}

/** A rule's stable name, for `violation/<name>` metrics and explanations. */
export function ruleName(r: RuleSpec, i: number): string {
  switch (r.kind) {
    case 'length':
      return `length-${r.unit}${r.min !== undefined ? `-min${r.min}` : ''}${r.max !== undefined ? `-max${r.max}` : ''}`;
    case 'regex':
      return `regex-${r.must ? 'must' : 'must-not'}-${i}`;
    case 'json_valid':
      return 'json-valid';
    case 'banned_phrases':
      return `banned-phrases-${i}`;
    case 'sandbox':
      return 'sandbox';
  }
}

/**
 * Programmatic checks: deterministic, no model. Each rule passes or fails with an explanation;
 * the score is their weighted mean. `resolvePath` maps a phrase file to an absolute path.
 */
export class RuleJudge {
  private readonly phrases = new Map<number, string[]>();
  private readonly regexes = new Map<number, RegExp>();

  constructor(
    readonly rules: RuleSpec[],
    resolvePath: (p: string) => string,
  ) {
    rules.forEach((r, i) => {
      if (r.kind === 'banned_phrases') this.phrases.set(i, loadPhraseList(resolvePath(r.file)));
      if (r.kind === 'regex') this.regexes.set(i, new RegExp(r.pattern, r.flags));
    });
  }

  /** `prompt` is the request's text, which only the sandbox grader reads. */
  judge(text: string, prompt: string): RuleVerdict {
    const outcomes = this.rules.map((r, i): RuleOutcome => {
      const name = ruleName(r, i);
      switch (r.kind) {
        case 'sandbox':
          return sandboxOutcome(name, r.weight, prompt, text);
        case 'length': {
          const n =
            r.unit === 'words' ? text.trim().split(/\s+/).filter(Boolean).length : [...text].length;
          const okMin = r.min === undefined || n >= r.min;
          const okMax = r.max === undefined || n <= r.max;
          return {
            rule: name,
            weight: r.weight,
            passed: okMin && okMax,
            why: `${n} ${r.unit} (allowed ${r.min ?? 0}..${r.max ?? '∞'})`,
          };
        }
        case 'regex': {
          const hit = this.regexes.get(i)!.test(text);
          return {
            rule: name,
            weight: r.weight,
            passed: hit === r.must,
            why: `/${r.pattern}/${r.flags} ${hit ? 'matches' : 'does not match'} (must ${r.must ? '' : 'not '}match)`,
          };
        }
        case 'json_valid': {
          let ok = true;
          let why = 'valid JSON';
          try {
            JSON.parse(text);
          } catch (e) {
            ok = false;
            why = `not JSON: ${(e as Error).message}`;
          }
          return { rule: name, weight: r.weight, passed: ok, why };
        }
        case 'banned_phrases': {
          const list = this.phrases.get(i)!;
          const found = r.case_sensitive
            ? list.filter((p) => text.includes(p))
            : findPhrases(text, list);
          return {
            rule: name,
            weight: r.weight,
            passed: found.length === 0,
            why: found.length
              ? `contains ${found.map((f) => JSON.stringify(f)).join(', ')}`
              : 'no banned phrase',
          };
        }
      }
    });
    const total = outcomes.reduce((a, o) => a + o.weight, 0);
    const score =
      total > 0
        ? outcomes.reduce((a, o) => a + (o.score ?? (o.passed ? 1 : 0)) * o.weight, 0) / total
        : 0;
    return { score, outcomes };
  }
}

/**
 * The sandbox world's exact grader as a rule: points / MAX_POINTS, passed only at full points. A
 * request that is not a sandbox task scores 0 and says so, rather than being guessed.
 */
function sandboxOutcome(rule: string, weight: number, prompt: string, text: string): RuleOutcome {
  const g = gradeAnswer(prompt, text);
  if (!g) return { rule, weight, passed: false, score: 0, why: 'not a sandbox task' };
  const score = g.points / MAX_POINTS;
  return {
    rule,
    weight,
    passed: g.points === MAX_POINTS,
    score,
    why: `${g.points}/${MAX_POINTS}: ${g.reason}`,
  };
}
