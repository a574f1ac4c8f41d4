// The verdict of a pairwise (A)/(B) answer under the rubric's answer format, shared by the local
// model judge and the OpenAI-compatible one so both report the same verdicts and parse errors.
import type { Rubric } from '../prompts/rubric.js';

export type PairwiseVerdict = { verdict: 'A' | 'B' | null; parseError?: string };

export function pairwiseVerdict(rubric: Rubric, raw: string): PairwiseVerdict {
  if (rubric.format.kind !== 'verdict')
    return {
      verdict: null,
      parseError: `rubric answer format ${rubric.format.name} gives no verdict`,
    };
  const parsed = rubric.format.parse(raw);
  return parsed.ok ? { verdict: parsed.verdict } : { verdict: null, parseError: parsed.reason };
}
