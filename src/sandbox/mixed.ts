// Answers of mixed quality for one task, each graded by the same grader the prompt text maps
// to, so a label can never disagree with gradeAnswer.
import type { Rng } from '../core/rng.js';
import { fail } from '../core/errors.js';
import { chatty, type Family } from './family.js';
import type { Grade } from './grade.js';
import type { SandboxTask } from './sample.js';
import { pick } from './draw.js';

const GARBLE = '#@%&*~^?!';

function garbled(rng: Rng): string {
  return Array.from({ length: 6 }, () => pick(rng, [...GARBLE])).join('');
}

export function mixedFrom(
  all: readonly Family[],
  task: SandboxTask,
  rng: Rng,
): { answer: string; grade: Grade }[] {
  const family = all.find((f) => f.name === task.family);
  const parsed = family?.parse(task.prompt);
  if (!parsed)
    return fail(
      'E_SANDBOX_TASK',
      `not a sandbox prompt of family '${task.family}': ${task.prompt}`,
      'pass a task from sampleTasks',
    );
  const wrongs = parsed.wrongs(rng);
  // Chatter around a wrong answer too: were chatter only ever wrapped around right answers, a
  // judge trained on these labels would learn "chatter means correct" and a loop judged by it
  // would drift into chatter (the first sandbox model did: judged score up, true score down).
  const chattyWrong = wrongs.length ? [chatty(wrongs[0])[0]] : [];
  const texts = [task.answer, ...wrongs, ...parsed.verbose(), ...chattyWrong, '', garbled(rng)];
  return [...new Set(texts)].map((answer) => ({ answer, grade: parsed.grade(answer) }));
}
