// Drawing tasks: deterministic in (seed, n, split, families), balanced over families, and
// split by the prompt text's hash so train and probe never share a prompt.
import { fail } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { shuffled } from './draw.js';
import type { Family } from './family.js';
import { splitOf, taskId, type Split } from './hash.js';

export interface SandboxTask {
  /** Names the prompt text: the same text always has the same id (a list may repeat one). */
  id: string;
  family: string;
  /** The user message text. */
  prompt: string;
  /** One canonical best answer (MAX_POINTS). */
  answer: string;
}

// A family whose prompts almost never land in the split is a bug in its tables, not bad luck.
const MAX_TRIES = 10_000;

function drawOne(family: Family, rng: Rng, split: Split): SandboxTask {
  for (let i = 0; i < MAX_TRIES; i++) {
    const prompt = family.render(rng);
    if (splitOf(prompt) !== split) continue;
    const parsed = family.parse(prompt);
    if (!parsed)
      fail(
        'E_SANDBOX_TEMPLATE',
        `family ${family.name} rendered a prompt it cannot parse: ${prompt}`,
      );
    return { id: taskId(family.name, prompt), family: family.name, prompt, answer: parsed.answer };
  }
  return fail(
    'E_SANDBOX_SPLIT',
    `family ${family.name} drew no '${split}' prompt in ${MAX_TRIES} tries`,
    'give the family more table entries or templates',
  );
}

/**
 * n tasks; each block of len(families) tasks holds every family once, in a shuffled order, so
 * even a short list is balanced. Task i is drawn from its own child stream of the seed.
 */
export function sampleFrom(
  all: readonly Family[],
  seed: number,
  n: number,
  opts: { split?: Split; families?: readonly string[] } = {},
): SandboxTask[] {
  if (!Number.isSafeInteger(n) || n < 0)
    fail('E_SANDBOX_COUNT', `task count must be a non-negative integer, got ${n}`);
  const names = opts.families ?? all.map((f) => f.name);
  const families = names.map(
    (name) =>
      all.find((f) => f.name === name) ??
      fail(
        'E_SANDBOX_FAMILY',
        `unknown sandbox family '${name}'`,
        `families are: ${all.map((f) => f.name).join(', ')}`,
      ),
  );
  if (families.length === 0) fail('E_SANDBOX_FAMILY', 'no sandbox families to sample from');
  const root = new Rng(seed);
  const order = root.fork(0);
  const tasks: SandboxTask[] = [];
  let block: Family[] = [];
  for (let i = 0; i < n; i++) {
    if (block.length === 0) block = shuffled(order, families);
    tasks.push(drawOne(block.pop() as Family, root.fork(i + 1), opts.split ?? 'train'));
  }
  return tasks;
}
