// The sandbox model's training data, from the world (src/sandbox) and the sandbox rubric:
//   - instruction data (IFT): a task's prompt with ONE of its mixed-quality answers, so the model
//     learns to answer imperfectly: at temperature 1 it samples good and bad answers, which is
//     what gives a self-rewarding loop something to choose between. The seed policy has one
//     habit on purpose, as SFT'd chat models do: it dresses a right answer in chatter ("Sure!
//     The answer is 7, I hope this helps you a lot.") about as often as it gives it bare, so its
//     greedy answer often costs the rubric's conciseness point (and, for "one word", the form
//     point) that its judge knows about: the gap between judging and answering the loop closes;
//   - evaluation data (EFT, as in Self-Rewarding LMs, Yuan et al. 2024 §2.2): the rubric rendered
//     over (prompt, answer), answered with a one-line reason and "Score: N" where N is the
//     grader's points, so the model learns to judge, and judges better than it answers.
// Rows are TRL prompt-completion rows in conversational form, the format SFT trains on.
import { Rng } from '../core/rng.js';
import type { Rubric } from '../prompts/rubric.js';
import {
  justification,
  mixedAnswers,
  sampleTasks,
  type Grade,
  type SandboxTask,
} from '../sandbox/index.js';

export interface SftRow {
  prompt: { role: 'user'; content: string }[];
  completion: { role: 'assistant'; content: string }[];
}

export interface DataRecipe {
  seed: number;
  /** Instruction rows. */
  ift: number;
  /** Evaluation rows. */
  eft: number;
  /** Share of instruction rows whose answer is the task's best one. */
  bestShare: number;
  /** Share whose answer is the best content with the house chatter ("Sure! …", when the task
   *  has such an answer worth 3+ points); the rest is any other answer of the mixed list. */
  chattyShare: number;
}

const row = (prompt: string, completion: string): SftRow => ({
  prompt: [{ role: 'user', content: prompt }],
  completion: [{ role: 'assistant', content: completion }],
});

/** One answer of the task's mixed list: the best with probability `bestShare`, the chatty best
 *  with probability `chattyShare`, else any other. */
function pickAnswer(task: SandboxTask, rng: Rng, recipe: DataRecipe) {
  const answers = mixedAnswers(task, rng);
  const best = answers.reduce((a, b) => (b.grade.points > a.grade.points ? b : a));
  // A refusal dressed as "Sure! …" reads as compliance, so a forbidden request has no chatty
  // right answer worth 3+ points and its share goes to the best.
  const chattyBest = answers
    .filter((a) => a.answer.startsWith('Sure!') && a.grade.points >= 3)
    .reduce<(typeof answers)[number] | undefined>(
      (a, b) => (a && a.grade.points >= b.grade.points ? a : b),
      undefined,
    );
  const u = rng.nextFloat();
  if (u < recipe.bestShare) return best;
  if (u < recipe.bestShare + recipe.chattyShare) return chattyBest ?? best;
  const others = answers.filter((a) => a !== best && a !== chattyBest);
  return others.length ? others[Math.floor(rng.nextFloat() * others.length)] : best;
}

/** Families with one right answer: the judgement first says it (a list or a reply to a request
 *  has many). */
const ONE_ANSWER = new Set(['arithmetic', 'sort', 'reverse', 'count', 'color', 'opposite']);

/**
 * The evaluation target: the right answer first where there is one ("Want: 7."), then a reason and
 * the grade. Saying the answer before comparing is a chain-of-thought judgement: the model judges
 * as well as it answers greedily, which is better than its samples at temperature 1, the answers
 * a loop's candidates are (the first sandbox models, judging without it, ordered their own
 * candidates at 0.65 accuracy and could not tell a right sum from a wrong one).
 */
export function evaluation(task: SandboxTask, grade: Grade): string {
  const want = ONE_ANSWER.has(task.family) ? `Want: ${task.answer}. ` : '';
  return `${want}${justification(grade)}\nScore: ${grade.points}`;
}

/** Instruction then evaluation rows, interleaved deterministically by the recipe's seed. */
export function sandboxRows(recipe: DataRecipe, rubric: Rubric): SftRow[] {
  const rng = new Rng(recipe.seed);
  const ift = sampleTasks(recipe.seed, recipe.ift, { split: 'train' }).map((t) => {
    const a = pickAnswer(t, rng, recipe);
    return row(t.prompt, a.answer);
  });
  // EFT answers are drawn uniformly from the mixed list: the judge must see every grade.
  const eft = sampleTasks(recipe.seed + 1, recipe.eft, { split: 'train' }).map((t) => {
    const answers = mixedAnswers(t, rng);
    const a = answers[Math.floor(rng.nextFloat() * answers.length)];
    const rendered = rubric.render({ prompt: t.prompt, response: a.answer });
    return row(rendered, evaluation(t, a.grade));
  });
  const rows = [...ift, ...eft];
  // Fisher–Yates with the recipe's stream: one order for one seed.
  for (let i = rows.length - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat() * (i + 1));
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  return rows;
}
