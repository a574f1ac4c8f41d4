// Count how often a letter appears in a short word. The letter is drawn from the word, so the
// count is at least 1 and an off-by-one answer is a plausible slip.
import type { Rng } from '../../core/rng.js';
import { pick } from '../draw.js';
import { chatty, type Family } from '../family.js';
import { template } from '../template.js';
import { gradeNumber, offByOne } from './number.js';

export const COUNT_WORDS = [
  'banana',
  'apple',
  'letter',
  'pepper',
  'coffee',
  'cherry',
  'bubble',
  'kitten',
  'puppy',
  'summer',
  'mirror',
  'yellow',
  'balloon',
  'cookie',
  'hello',
  'little',
  'rabbit',
  'button',
  'tomato',
  'school',
  'needle',
  'grass',
  'paper',
  'river',
];

const S = { l: '[a-z]', w: '[a-z]{2,10}' };
const TEMPLATES = [
  template('How many times does the letter {l} appear in {w}?', S),
  template('Count the letter {l} in {w}.', S),
  template("How many {l}'s are in {w}?", S),
];

export const count: Family = {
  name: 'count',
  render(rng: Rng) {
    const w = pick(rng, COUNT_WORDS);
    return pick(rng, TEMPLATES).render({ l: pick(rng, [...w]), w });
  },
  parse(prompt) {
    for (const t of TEMPLATES) {
      const v = t.parse(prompt);
      if (!v) continue;
      const want = [...v.w].filter((c) => c === v.l).length;
      const answer = String(want);
      return {
        answer,
        grade: (reply) => gradeNumber(reply, want, 'count'),
        wrongs: () => [...offByOne(want), String(v.w.length)],
        verbose: () => [...chatty(answer), `The letter ${v.l} appears ${want} times in ${v.w}.`],
      };
    }
    return undefined;
  },
};
