// What a task family provides. A family renders prompts and parses them back; everything about
// a task (its canonical answer, its grader, its wrong answers) comes from the parsed prompt, so
// gradeAnswer needs nothing but the prompt text.
import type { Rng } from '../core/rng.js';
import type { Grade } from './grade.js';

export interface ParsedTask {
  /** One canonical best answer (grades MAX_POINTS). */
  answer: string;
  grade(reply: string): Grade;
  /** Plausible wrong answers, each of a kind a learner might give. */
  wrongs(rng: Rng): string[];
  /** The canonical answer wrapped in chatter that costs points. */
  verbose(): string[];
}

export interface Family {
  name: string;
  /** One prompt text, drawn from the family's tables and templates. */
  render(rng: Rng): string;
  parse(prompt: string): ParsedTask | undefined;
}

/** Chatter around a bare answer: right content, but not concise. */
export function chatty(answer: string): string[] {
  return [
    `Sure! The answer is ${answer}, I hope this helps you a lot.`,
    `${answer}. Let me know if you need anything else!`,
  ];
}
