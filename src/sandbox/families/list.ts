// "List exactly three <category>" from small fixed category tables. Any three distinct members
// are right; the canonical answer is one drawn triple.
import type { Rng } from '../../core/rng.js';
import { pick, shuffled } from '../draw.js';
import { chatty, type Family } from '../family.js';
import { norm, offTopic, score, type Grade } from '../grade.js';
import { template } from '../template.js';

/** Category (plural, as asked) -> its members. */
export const CATEGORIES: Readonly<Record<string, readonly string[]>> = {
  fruits: ['apple', 'banana', 'pear', 'plum', 'grape', 'cherry', 'peach', 'lemon', 'mango'],
  animals: ['cat', 'dog', 'cow', 'horse', 'pig', 'sheep', 'goat', 'lion', 'bear', 'fox', 'duck'],
  colors: ['red', 'blue', 'green', 'yellow', 'black', 'white', 'pink', 'purple', 'brown'],
  shapes: ['circle', 'square', 'triangle', 'star', 'heart', 'oval', 'diamond'],
  drinks: ['water', 'milk', 'tea', 'coffee', 'juice', 'soda', 'cocoa'],
  planets: ['mercury', 'venus', 'earth', 'mars', 'jupiter', 'saturn', 'uranus', 'neptune'],
};

const C = { c: Object.keys(CATEGORIES).join('|') };
const TEMPLATES = [
  template('List exactly three {c}.', C),
  template('Name three {c}, comma separated.', C),
  template('Give me three {c}.', C),
  template('Write down three {c}.', C),
  template('Name exactly three {c}.', C),
  template('Three {c}, please.', C),
];
const WANT = 3;

/** A member, also in the plural ("apples", "peaches"). */
function member(members: readonly string[], w: string): string | undefined {
  return [w, w.replace(/s$/, ''), w.replace(/es$/, '')].find((x) => members.includes(x));
}

function gradeList(reply: string, category: string): Grade {
  const members = CATEGORIES[category];
  const t = norm(reply);
  const split = t.split(/\s*(?:,|\n|\band\b)\s*/).filter((x) => x !== '');
  // A clean list is single words separated by commas, "and" or newlines, nothing else.
  const clean = split.length > 0 && split.every((x) => /^[a-z]+$/.test(x));
  const items = clean
    ? split
    : (t.match(/[a-z]+/g) ?? []).filter((w) => member(members, w) !== undefined);
  const off = offTopic(reply, /./, '');
  if (off) return off;
  if (items.length === 0) return { points: 0, reason: `no ${category} named` };
  const valid = new Set(items.flatMap((w) => member(members, w) ?? []));
  const bad = items.filter((w) => member(members, w) === undefined);
  let content: { points: 0 | 1 | 2; why: string };
  if (items.length === WANT && valid.size === WANT) content = { points: 2, why: '' };
  else if (valid.size >= WANT - 1)
    content = {
      points: 1,
      why: bad.length
        ? `not ${category}: ${bad.join(', ')}`
        : valid.size < items.length
          ? 'a repeated item'
          : 'valid items, wrong count',
    };
  else content = { points: 0, why: `not ${category}: ${bad.join(', ') || 'repeats'}` };
  return score({
    form: items.length === WANT ? true : `${items.length} items (want ${WANT})`,
    content,
    concise: clean ? true : 'chatter around the list',
  });
}

export const list: Family = {
  name: 'list',
  render(rng: Rng) {
    return pick(rng, TEMPLATES).render({ c: pick(rng, Object.keys(CATEGORIES)) });
  },
  parse(prompt) {
    for (const t of TEMPLATES) {
      const category = t.parse(prompt)?.c;
      if (category === undefined) continue;
      const members = CATEGORIES[category];
      // The canonical triple depends on the prompt alone, so a prompt has one answer.
      const answer = members.slice(0, WANT).join(', ');
      const outsider = Object.keys(CATEGORIES).find((c) => c !== category) as string;
      return {
        answer,
        grade: (reply) => gradeList(reply, category),
        wrongs: (rng) => {
          const four = shuffled(rng, members).slice(0, WANT + 1);
          const odd = pick(rng, CATEGORIES[outsider]);
          return [
            four.join(', '),
            four.slice(0, 2).join(', '),
            [...four.slice(0, 2), odd].join(', '),
            [four[0], four[0], four[1]].join(', '),
          ];
        },
        verbose: () => [...chatty(answer), `Here are three ${category}: ${answer}.`],
      };
    }
    return undefined;
  },
};
