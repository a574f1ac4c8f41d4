// Sort 3-4 distinct single digits ascending. The input is never already sorted, so echoing it
// back is always wrong.
import type { Rng } from '../../core/rng.js';
import { int, pick, shuffled } from '../draw.js';
import { chatty, type Family } from '../family.js';
import { norm, offTopic, score, type Grade } from '../grade.js';
import { template } from '../template.js';

const SPACED = { d: '\\d(?: \\d){2,3}' };
const COMMAS = { d: '\\d(?:, \\d){2,3}' };
const TEMPLATES = [
  { t: template('Sort {d} ascending.', SPACED), sep: ' ' },
  { t: template('Sort these digits, smallest first: {d}', COMMAS), sep: ', ' },
  { t: template('Put {d} in increasing order.', SPACED), sep: ' ' },
];

const isSorted = (xs: readonly number[]) => xs.every((x, i) => i === 0 || xs[i - 1] <= x);
const same = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** True when swapping one adjacent pair of `got` gives `want`. */
function oneSwap(got: readonly number[], want: readonly number[]): boolean {
  const diff = got.flatMap((x, i) => (x === want[i] ? [] : [i]));
  return diff.length === 2 && diff[1] === diff[0] + 1 && got[diff[0]] === want[diff[1]];
}

function gradeSort(reply: string, digits: readonly number[]): Grade {
  const off = offTopic(reply, /\d/, 'no digits in the reply');
  if (off) return off;
  const t = norm(reply);
  const got = (t.match(/\d+/g) ?? []).map(Number);
  const want = [...digits].sort((a, b) => a - b);
  const rightLength = got.length === want.length && got.every((x) => x < 10);
  const sameDigits = same(
    [...got].sort((a, b) => a - b),
    want,
  );
  let content: { points: 0 | 1 | 2; why: string };
  if (!sameDigits) content = { points: 0, why: 'digits changed' };
  else if (same(got, want)) content = { points: 2, why: '' };
  else if (oneSwap(got, want)) content = { points: 1, why: 'one swap from sorted' };
  else content = { points: 0, why: 'wrong order' };
  return score({
    form: rightLength ? true : `${got.length} numbers (want ${want.length})`,
    content,
    concise: /^\d(?:[ ,]+\d)*$/.test(t) ? true : 'chatter around the digits',
  });
}

export const sort: Family = {
  name: 'sort',
  render(rng: Rng) {
    const k = int(rng, 3, 4);
    let d = shuffled(rng, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).slice(0, k);
    while (isSorted(d)) d = shuffled(rng, d);
    const { t, sep } = pick(rng, TEMPLATES);
    return t.render({ d: d.join(sep) });
  },
  parse(prompt) {
    for (const { t } of TEMPLATES) {
      const v = t.parse(prompt);
      if (!v) continue;
      const digits = (v.d.match(/\d/g) ?? []).map(Number);
      const sorted = [...digits].sort((a, b) => a - b);
      const answer = sorted.join(' ');
      return {
        answer,
        grade: (reply) => gradeSort(reply, digits),
        wrongs: (rng) => {
          const i = int(rng, 0, sorted.length - 2);
          const swapped = [...sorted];
          [swapped[i], swapped[i + 1]] = [swapped[i + 1], swapped[i]];
          return [
            swapped.join(' '),
            digits.join(' '),
            [...sorted].reverse().join(' '),
            sorted.slice(0, -1).join(' '),
          ];
        },
        verbose: () => [...chatty(answer), `Sorted ascending, the digits are ${answer}.`],
      };
    }
    return undefined;
  },
};
