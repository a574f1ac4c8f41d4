// What a schema accepts, in words: the "(expected ...)" half of every message about a value.

import type * as z from 'zod';
import { defOf, enumValues, unwrap, type Def, type Schema } from './zod-walk.js';

/** "an integer from 1 to 1000", "a number > 0 and <= 1", "a number". */
function numberRange(d: Def): string {
  const isInt = typeof d.format === 'string' && /int/.test(d.format);
  const noun = isInt ? 'an integer' : 'a number';
  let lo: { value: number; inclusive: boolean } | undefined;
  let hi: { value: number; inclusive: boolean } | undefined;
  for (const c of (d.checks as Schema[] | undefined) ?? []) {
    const cd = defOf(c) as unknown as { check: string; value: number; inclusive: boolean };
    if (cd.check === 'greater_than') lo = cd;
    else if (cd.check === 'less_than') hi = cd;
  }
  if (lo && hi && lo.inclusive && hi.inclusive) return `${noun} from ${lo.value} to ${hi.value}`;
  const parts: string[] = [];
  if (lo) parts.push(`${lo.inclusive ? '>=' : '>'} ${lo.value}`);
  if (hi) parts.push(`${hi.inclusive ? '<=' : '<'} ${hi.value}`);
  return parts.length ? `${noun} ${parts.join(' and ')}` : noun;
}

/** The items of a list, in the plural: "strings", "numbers >= 0", "names (a, b)". */
function listOf(s: Schema): string {
  const d = defOf(unwrap(s));
  switch (d.type) {
    case 'string':
      return 'strings';
    case 'number':
      return numberRange(d).replace(/^an? (integer|number)/, '$1s');
    case 'enum':
      return `names (${enumValues(d).join(', ')})`;
    default:
      return 'mappings';
  }
}

function minItems(d: Def): number {
  for (const c of (d.checks as Schema[] | undefined) ?? []) {
    const cd = defOf(c) as unknown as { check: string; minimum?: number };
    if (cd.check === 'min_length' && typeof cd.minimum === 'number') return cd.minimum;
  }
  return 0;
}

/** "a number > 0 and <= 1", "one of: generate, logprobs", ... */
export function expectation(s: Schema | undefined): string {
  if (!s) return 'a valid value';
  const u = unwrap(s);
  const d = defOf(u);
  switch (d.type) {
    case 'number':
      return numberRange(d);
    case 'string':
      if (d.format === 'url') return 'an http:// or https:// URL';
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'enum':
    case 'literal':
      return `one of: ${enumValues(d).join(', ')}`;
    case 'array': {
      const min = minItems(d);
      return `a list of ${listOf(d.element as Schema)}${min > 0 ? ` (at least ${min})` : ''}`;
    }
    case 'object':
      return 'a mapping (key: value lines or { key: value })';
    case 'record':
      return 'a mapping of names to settings';
    case 'union':
      return unionExpectation(d);
    default:
      return 'a valid value';
  }
}

function unionExpectation(d: Def): string {
  if (typeof d.discriminator === 'string') {
    const kinds = (d.options as Schema[]).flatMap((o) => {
      const od = defOf(unwrap(o));
      const lit = (od.shape as Record<string, Schema> | undefined)?.[d.discriminator as string];
      return lit ? enumValues(defOf(lit)) : [];
    });
    return `a mapping with ${d.discriminator}: one of ${kinds.join(', ')}`;
  }
  const opts = (d.options as Schema[]).map((o) => defOf(unwrap(o)));
  if (
    opts.length === 2 &&
    opts[0].type === 'enum' &&
    opts[1].type === 'array' &&
    defOf(unwrap(opts[1].element as Schema)).type === 'enum'
  )
    return `one of: ${enumValues(opts[0]).join(', ')}, or a list of them`;
  return (d.options as Schema[]).map((o) => expectation(o)).join(', or ');
}

/** `: <the field's .describe() text>` (without its full stop), or '' when it has none. */
export function describedAs(s: Schema | undefined): string {
  const text = s ? (s as z.ZodType).description : undefined;
  return text ? `: ${text.replace(/\.$/, '')}` : '';
}
