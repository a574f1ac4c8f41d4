// What the built sandbox model can do, on the world's held-out split (never trained on):
//   answer_true      mean grader points / 5 of its greedy answers;
//   answer_sampled   the same at temperature 1 (what a loop's candidates look like);
//   judge_parsed     share of its rubric judgements that end in a parseable "Score: N";
//   judge_exact      share whose score equals the grader's points;
//   judge_pairwise   pairwise ordering accuracy against the grader over answers of one task
//                    with different points (ties and unparsed count half), as judge_accuracy.
import { Rng } from '../core/rng.js';
import { Engine } from '../engine/index.js';
import type { Rubric } from '../prompts/rubric.js';
import { gradeAnswer, MAX_POINTS, mixedAnswers, sampleTasks } from '../sandbox/index.js';

export interface ModelCheck {
  answer_true: number;
  answer_sampled: number;
  judge_parsed: number;
  judge_exact: number;
  judge_pairwise: number;
}

const user = (content: string) => ({ messages: [{ role: 'user' as const, content }] });
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export async function checkModel(
  dir: string,
  rubric: Rubric,
  seed: number,
  n = 40,
): Promise<ModelCheck> {
  const engine = await Engine.open(dir);
  try {
    const tasks = sampleTasks(seed, n, { split: 'probe' });
    const gen = (content: string, temperature: number, k: number, s: number) =>
      engine.generate([user(content)], {
        ...{ n: k, maxNewTokens: 48, seed: s, stopStrings: [], ignoreEos: false },
        ...{ temperature, topP: 1, topK: 0, greedy: temperature === 0 },
      });
    const greedy: number[] = [];
    const sampled: number[] = [];
    for (const [i, t] of tasks.entries()) {
      const g = (await gen(t.prompt, 0, 1, i)).results[0].completions[0].text;
      greedy.push(gradeAnswer(t.prompt, g)!.points / MAX_POINTS);
      for (const c of (await gen(t.prompt, 1, 4, i)).results[0].completions)
        sampled.push(gradeAnswer(t.prompt, c.text)!.points / MAX_POINTS);
    }
    const judged: { task: number; truth: number; score: number | null }[] = [];
    for (const [i, t] of tasks.entries())
      for (const a of mixedAnswers(t, new Rng(seed + i)).slice(0, 4)) {
        const rendered = rubric.render({ prompt: t.prompt, response: a.answer });
        const out = (await gen(rendered, 0, 1, i)).results[0].completions[0].text;
        const p = rubric.format.kind === 'score' ? rubric.format.parse(out) : undefined;
        judged.push({ task: i, truth: a.grade.points, score: p?.ok ? p.score : null });
      }
    return {
      answer_true: mean(greedy),
      answer_sampled: mean(sampled),
      judge_parsed: mean(judged.map((j) => (j.score === null ? 0 : 1))),
      judge_exact: mean(judged.map((j) => (j.score === j.truth ? 1 : 0))),
      judge_pairwise: pairwise(judged),
    };
  } finally {
    await engine.close();
  }
}

function pairwise(js: { task: number; truth: number; score: number | null }[]): number {
  const credit: number[] = [];
  for (const a of js)
    for (const b of js) {
      if (a.task !== b.task || a.truth <= b.truth) continue;
      if (a.score === null || b.score === null || a.score === b.score) credit.push(0.5);
      else credit.push(a.score > b.score ? 1 : 0);
    }
  return mean(credit);
}
