// Grading a reply that should be a single integer (sums, differences, letter counts).
import { norm, offTopic, score, type Grade } from '../grade.js';

export function gradeNumber(reply: string, want: number, what: string): Grade {
  const off = offTopic(reply, /\d/, 'no number in the reply');
  if (off) return off;
  const t = norm(reply);
  const nums = t.match(/-?\d+/g) ?? [];
  const one = nums.length === 1;
  const got = one ? Number(nums[0]) : NaN;
  return score({
    form: one ? true : `several numbers: ${nums.join(', ')}`,
    content:
      got === want
        ? { points: 2, why: '' }
        : { points: 0, why: one ? `wrong ${what}: ${got} (want ${want})` : `no single ${what}` },
    concise: /^-?\d+$/.test(t) ? true : 'chatter around the number',
  });
}

/** Off-by-one answers, never negative, never the right one. */
export function offByOne(want: number): string[] {
  return [want + 1, want - 1].filter((x) => x >= 0).map(String);
}
