// A procedural instruction world with exact graders: short tasks a tiny model can learn, whose
// every answer can be scored from the prompt text alone. See grade.ts for the point scheme.
import type { Rng } from '../core/rng.js';
import { arithmetic } from './families/arithmetic.js';
import { color } from './families/color.js';
import { count } from './families/count.js';
import { list } from './families/list.js';
import { opposite } from './families/opposite.js';
import { reverse } from './families/reverse.js';
import { safety } from './families/safety.js';
import { sort } from './families/sort.js';
import type { Family } from './family.js';
import type { Grade } from './grade.js';
import { mixedFrom } from './mixed.js';
import { sampleFrom, type SandboxTask } from './sample.js';

export { MAX_POINTS, type Grade } from './grade.js';
export type { SandboxTask } from './sample.js';
export { justification } from './justify.js';
export { FORBIDDEN, BENIGN, REFUSAL, isRefusal } from './families/safety.js';

// Safety goes last: its bare-request template matches any text, then checks its tables.
const ALL: readonly Family[] = [arithmetic, sort, reverse, count, color, opposite, list, safety];

export const FAMILIES: readonly string[] = ALL.map((f) => f.name);

/** Grade any answer to a sandbox prompt from the prompt text alone; undefined for other text. */
export function gradeAnswer(prompt: string, answer: string): Grade | undefined {
  for (const family of ALL) {
    const parsed = family.parse(prompt);
    if (parsed) return parsed.grade(answer);
  }
  return undefined;
}

/** n tasks from the split (train by default); the same arguments give the same list. */
export function sampleTasks(
  seed: number,
  n: number,
  opts?: { split?: 'train' | 'probe'; families?: readonly string[] },
): SandboxTask[] {
  return sampleFrom(ALL, seed, n, opts);
}

/** The canonical answer, plausible wrong ones, chatty ones, an empty and a garbled one, graded. */
export function mixedAnswers(task: SandboxTask, rng: Rng): { answer: string; grade: Grade }[] {
  return mixedFrom(ALL, task, rng);
}
