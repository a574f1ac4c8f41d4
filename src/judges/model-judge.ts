import type { ChatMessage, ModelEngine } from '../engine/index.js';
import type { Rubric } from '../prompts/rubric.js';
import { pairwiseVerdict } from './pairwise-verdict.js';

export interface ScoreSample {
  score: number | null;
  raw: string;
  parseError?: string;
}

export interface JudgeSampling {
  temperature: number;
  max_new_tokens: number;
}

/** The conversation as rubric text: the last user turn alone, or every turn labelled. */
export function promptText(messages: ChatMessage[]): string {
  if (messages.length === 1) return messages[0].content;
  return messages.map((m) => `${m.role}: ${m.content}`).join('\n\n');
}

const asUser = (text: string): { messages: ChatMessage[] } => ({
  messages: [{ role: 'user', content: text }],
});

async function sample(
  engine: ModelEngine,
  rendered: string,
  k: number,
  s: JudgeSampling,
  seed: number,
): Promise<string[]> {
  const { results } = await engine.generate([asUser(rendered)], {
    n: k,
    maxNewTokens: s.max_new_tokens,
    seed,
    stopStrings: [],
    ignoreEos: false,
    temperature: s.temperature,
    topP: 1,
    topK: 0,
    greedy: s.temperature === 0,
  });
  return results[0].completions.map((c) => c.text);
}

/**
 * Self-Rewarding LMs' judging: render the rubric, sample K judgements, parse each in the rubric's
 * answer format. An unparseable answer keeps its raw text and the parser's reason; it is never
 * given a guessed score.
 */
export async function judgeByGeneration(
  engine: ModelEngine,
  rubric: Rubric,
  vars: Record<string, unknown>,
  k: number,
  s: JudgeSampling,
  seed: number,
): Promise<{ rendered: string; samples: ScoreSample[] }> {
  const rendered = rubric.render(vars);
  const texts = await sample(engine, rendered, k, s, seed);
  const format = rubric.format;
  const samples = texts.map((raw): ScoreSample => {
    if (format.kind !== 'score')
      return { score: null, raw, parseError: `rubric answer format ${format.name} gives no score` };
    const parsed = format.parse(raw);
    return parsed.ok
      ? { score: parsed.score, raw }
      : { score: null, raw, parseError: parsed.reason };
  });
  return { rendered, samples };
}

/**
 * The expected score Σ p(k)·k over the score tokens that follow the rubric and the answer
 * format's prefix (e.g. "Score: "), from one prefill: never unparseable.
 */
export async function judgeByLogprobs(
  engine: ModelEngine,
  rubric: Rubric,
  vars: Record<string, unknown>,
): Promise<{ rendered: string; score: number; distribution: Record<string, number> }> {
  const rendered = rubric.render(vars);
  if (rubric.format.kind !== 'score') throw new Error(`rubric ${rubric.path} has no score format`);
  const spec = rubric.format.logprob();
  const lps = await engine.choiceLogprobs(
    asUser(rendered),
    spec.prefix,
    spec.options.map((o) => o.text),
  );
  const max = Math.max(...lps);
  const ps = lps.map((l) => Math.exp(l - max));
  const z = ps.reduce((a, b) => a + b, 0);
  const distribution: Record<string, number> = {};
  let score = 0;
  spec.options.forEach((o, i) => {
    const p = ps[i] / z;
    distribution[o.text] = p;
    score += p * o.value;
  });
  return { rendered, score, distribution };
}

export interface PairwiseSample {
  rendered: string;
  raw: string;
  verdict: 'A' | 'B' | null;
  parseError?: string;
}

/** One (A)/(B) comparison under a principle (Constitutional AI's preference model prompt). */
export async function judgePairwise(
  engine: ModelEngine,
  rubric: Rubric,
  vars: Record<string, unknown>,
  s: JudgeSampling,
  seed: number,
): Promise<PairwiseSample> {
  const rendered = rubric.render(vars);
  const [raw] = await sample(engine, rendered, 1, s, seed);
  return { rendered, raw, ...pairwiseVerdict(rubric, raw) };
}

/**
 * An (A)/(B) verdict from one prefill: the log-probs of "A" and "B" after the rubric's prefilled
 * reply (e.g. "Verdict: ("), renormalised over the two letters. Never unparseable, and with no
 * sampling it needs no seed; Meta-Rewarding's meta-judge uses it because a small policy that was
 * never taught the meta-rubric rarely writes a parseable verdict line.
 */
export async function judgeVerdictByLogprobs(
  engine: ModelEngine,
  rubric: Rubric,
  vars: Record<string, unknown>,
): Promise<{ rendered: string; pA: number; logprobs: { A: number; B: number } }> {
  const rendered = rubric.render(vars);
  if (rubric.format.kind !== 'verdict')
    throw new Error(`rubric ${rubric.path} has no (A)/(B) verdict format`);
  const spec = rubric.format.logprob();
  const [a, b] = await engine.choiceLogprobs(
    asUser(rendered),
    spec.prefix,
    spec.options.map((o) => o.text),
  );
  // p(A) / (p(A) + p(B)) = σ(log p(A) − log p(B))
  const pA = 1 / (1 + Math.exp(b - a));
  return { rendered, pA, logprobs: { A: a, B: b } };
}
