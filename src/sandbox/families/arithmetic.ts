// Add or subtract two numbers 0-20; subtraction keeps the result non-negative.
import type { Rng } from '../../core/rng.js';
import { int, pick } from '../draw.js';
import { chatty, type Family } from '../family.js';
import { template } from '../template.js';
import { gradeNumber, offByOne } from './number.js';

const N = { a: '\\d{1,2}', b: '\\d{1,2}' };
const PLUS = [
  template('What is {a} plus {b}?', N),
  template('Add {a} and {b}.', N),
  template('Compute {a} + {b}.', N),
];
const MINUS = [
  template('What is {a} minus {b}?', N),
  template('Subtract {b} from {a}.', N),
  template('Compute {a} - {b}.', N),
];
const MAX = 20;

function parseWith(prompt: string): { a: number; b: number; minus: boolean } | undefined {
  for (const [list, minus] of [
    [PLUS, false],
    [MINUS, true],
  ] as const)
    for (const t of list) {
      const v = t.parse(prompt);
      if (!v) continue;
      const a = Number(v.a);
      const b = Number(v.b);
      if (a > MAX || b > MAX || (minus && b > a)) return undefined;
      return { a, b, minus };
    }
  return undefined;
}

export const arithmetic: Family = {
  name: 'arithmetic',
  render(rng: Rng) {
    const minus = rng.nextFloat() < 0.5;
    let a = int(rng, 0, MAX);
    let b = int(rng, 0, MAX);
    if (minus && b > a) [a, b] = [b, a];
    return pick(rng, minus ? MINUS : PLUS).render({ a, b });
  },
  parse(prompt) {
    const p = parseWith(prompt);
    if (!p) return undefined;
    const want = p.minus ? p.a - p.b : p.a + p.b;
    const what = p.minus ? 'difference' : 'sum';
    const answer = String(want);
    return {
      answer,
      grade: (reply) => gradeNumber(reply, want, what),
      // The other operation is the classic slip, next to off-by-one.
      wrongs: () => [...offByOne(want), String(p.minus ? p.a + p.b : Math.abs(p.a - p.b))],
      verbose: () => [...chatty(answer), `${p.a} ${p.minus ? '-' : '+'} ${p.b} = ${want}`],
    };
  },
};
