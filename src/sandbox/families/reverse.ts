// Reverse a 3-5 letter lowercase word. Drawn words are never palindromes, so the unreversed
// word is always wrong; any 3-5 letter word parses, so the grader is not tied to the table.
import type { Rng } from '../../core/rng.js';
import { int, pick } from '../draw.js';
import { chatty, type Family } from '../family.js';
import { norm, offTopic, score, type Grade } from '../grade.js';
import { template } from '../template.js';

export const REVERSE_WORDS = [
  'cat',
  'dog',
  'sun',
  'cup',
  'pen',
  'box',
  'map',
  'hat',
  'bird',
  'fish',
  'tree',
  'book',
  'lamp',
  'frog',
  'cake',
  'milk',
  'star',
  'rain',
  'ship',
  'moon',
  'apple',
  'lemon',
  'house',
  'chair',
  'plant',
  'smile',
  'water',
  'bread',
  'cloud',
  'tiger',
];

const W = { w: '[a-z]{3,5}' };
const TEMPLATES = [
  template('Reverse the word {w}.', W),
  template('Spell {w} backwards.', W),
  template('Write {w} in reverse.', W),
];

const rev = (w: string) => [...w].reverse().join('');
const letters = (w: string) => [...w].sort().join('');

function swapAt(w: string, i: number): string {
  const c = [...w];
  [c[i], c[i + 1]] = [c[i + 1], c[i]];
  return c.join('');
}

function gradeReverse(reply: string, word: string): Grade {
  const off = offTopic(reply, /[a-z]/i, 'no word in the reply');
  if (off) return off;
  const t = norm(reply);
  const want = rev(word);
  const words: string[] = t.match(/[a-z]+/g) ?? [];
  const got = words.includes(want) ? want : words.find((x) => letters(x) === letters(word));
  let content: { points: 0 | 1 | 2; why: string };
  if (got === want) content = { points: 2, why: '' };
  else if (got === word) content = { points: 0, why: 'not reversed' };
  else if (got && [...Array(want.length - 1).keys()].some((i) => swapAt(got, i) === want))
    content = { points: 1, why: `one swap: ${got} (want ${want})` };
  else content = { points: 0, why: `wrong letters: ${got ?? words[0]} (want ${want})` };
  return score({
    form: got ? true : `no rearrangement of ${word}`,
    content,
    concise: t === got ? true : 'chatter around the word',
  });
}

export const reverse: Family = {
  name: 'reverse',
  render(rng: Rng) {
    return pick(rng, TEMPLATES).render({ w: pick(rng, REVERSE_WORDS) });
  },
  parse(prompt) {
    for (const t of TEMPLATES) {
      const v = t.parse(prompt);
      if (!v) continue;
      const word = v.w;
      const answer = rev(word);
      return {
        answer,
        grade: (reply) => gradeReverse(reply, word),
        wrongs: (rng) => [
          word,
          swapAt(answer, int(rng, 0, answer.length - 2)),
          answer.slice(0, -1),
          `${answer} ${word}`,
        ],
        verbose: () => [...chatty(answer), `${word} backwards is ${answer}.`],
      };
    }
    return undefined;
  },
};
