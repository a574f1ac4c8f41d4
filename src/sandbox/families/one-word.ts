// "Answer in one word" families share a grader and a shape: a fixed table maps a subject to
// its accepted words (the first is canonical), rendered through a few templates.
import type { Rng } from '../../core/rng.js';
import { pick } from '../draw.js';
import { chatty, type Family } from '../family.js';
import { norm, offTopic, score, type Grade } from '../grade.js';
import { template } from '../template.js';

export function gradeOneWord(reply: string, accepted: readonly string[], what: string): Grade {
  const off = offTopic(reply, /[a-z]/i, 'no word in the reply');
  if (off) return off;
  const t = norm(reply);
  const words = t.match(/[a-z]+(?:-[a-z]+)*/g) ?? [];
  const right = words.some((w) => accepted.includes(w));
  return score({
    form: words.length === 1 ? true : `${words.length} words (want one)`,
    content: right
      ? { points: 2, why: '' }
      : { points: 0, why: `wrong ${what}: ${words.join(' ')} (want ${accepted[0]})` },
    concise: words.length === 1 && /^[a-z-]+$/.test(t) ? true : 'chatter around the word',
  });
}

/** A one-word family over `table` (subject -> accepted words), asking with `patterns`. */
export function oneWordFamily(
  name: string,
  what: string,
  table: Readonly<Record<string, readonly string[]>>,
  patterns: readonly string[],
): Family {
  const templates = patterns.map((p) => template(p, { x: "[a-z' ]+" }));
  const subjects = Object.keys(table);
  const words = [...new Set(subjects.map((s) => table[s][0]))];
  return {
    name,
    render: (rng: Rng) => pick(rng, templates).render({ x: pick(rng, subjects) }),
    parse(prompt) {
      for (const t of templates) {
        const x = t.parse(prompt)?.x;
        const accepted = x !== undefined && Object.hasOwn(table, x) ? table[x] : undefined;
        if (!accepted) continue;
        const answer = accepted[0];
        const others = words.filter((w) => !accepted.includes(w));
        return {
          answer,
          grade: (reply) => gradeOneWord(reply, accepted, what),
          wrongs: (rng) => {
            const other = pick(rng, others);
            return [other, `${answer} ${other}`, `${other} or ${answer}`];
          },
          verbose: () => [...chatty(answer), `${answer[0].toUpperCase()}${answer.slice(1)}.`],
        };
      }
      return undefined;
    },
  };
}
