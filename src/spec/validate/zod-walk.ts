// Walking zod 4 schemas through their internal definitions (`schema._zod.def`), which zod does
// not type for outside use: which schema validates the value at a path, and what a schema is
// (after optional/default/pipe wrappers). The messages need this to say what was expected.

import type * as z from 'zod';
import { isRecord } from './raw-value.js';

export type Schema = z.core.$ZodType;

/** A zod definition, loosely typed: `type` plus whatever fields that type carries. */
export interface Def {
  type: string;
  [k: string]: unknown;
}

export const defOf = (s: Schema): Def => s._zod.def as unknown as Def;

const WRAPPERS = new Set([
  'optional',
  'default',
  'prefault',
  'nullable',
  'readonly',
  'catch',
  'nonoptional',
]);

/** The schema inside optional/default/... wrappers and on the input side of a pipe. */
export function unwrap(s: Schema): Schema {
  let cur = s;
  for (let i = 0; i < 20; i++) {
    const d = defOf(cur);
    if (WRAPPERS.has(d.type)) cur = d.innerType as Schema;
    else if (d.type === 'pipe') cur = d.in as Schema;
    else break;
  }
  return cur;
}

function jsType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v;
}

function schemaAccepts(s: Schema, v: unknown): boolean {
  const d = defOf(unwrap(s));
  switch (jsType(v)) {
    case 'array':
      return d.type === 'array';
    case 'string':
      return d.type === 'string' || d.type === 'enum' || d.type === 'literal';
    case 'number':
      return d.type === 'number';
    case 'boolean':
      return d.type === 'boolean';
    case 'object':
      return d.type === 'object' || d.type === 'record' || d.type === 'union';
    default:
      return false;
  }
}

/** Pick the union member that applies to `v` (by discriminator, else by JS type). */
export function resolveUnion(s: Schema, v: unknown): Schema {
  let cur = unwrap(s);
  for (let i = 0; i < 5; i++) {
    const d = defOf(cur);
    if (d.type !== 'union') return cur;
    const options = d.options as Schema[];
    let next: Schema | undefined;
    if (typeof d.discriminator === 'string') {
      const tag = isRecord(v) ? v[d.discriminator] : undefined;
      next = options.find((o) => {
        const od = defOf(unwrap(o));
        if (od.type !== 'object') return false;
        const lit = (od.shape as Record<string, Schema>)[d.discriminator as string];
        return lit !== undefined && ((defOf(lit).values as unknown[]) ?? []).includes(tag);
      });
    } else next = options.find((o) => schemaAccepts(o, v));
    if (!next) return cur;
    cur = unwrap(next);
  }
  return cur;
}

/** The schema that validates the value at `path`, or undefined when the path leaves the schema. */
export function schemaAt(
  root: Schema,
  rawRoot: unknown,
  path: readonly PropertyKey[],
): Schema | undefined {
  let s: Schema | undefined = root;
  let v = rawRoot;
  for (const seg of path) {
    const cur = resolveUnion(s, v);
    const d = defOf(cur);
    if (d.type === 'object') s = (d.shape as Record<string, Schema>)[String(seg)];
    else if (d.type === 'array') s = d.element as Schema;
    else if (d.type === 'record') s = d.valueType as Schema;
    else return undefined;
    if (!s) return undefined;
    v =
      Array.isArray(v) && typeof seg === 'number'
        ? v[seg]
        : isRecord(v)
          ? v[String(seg)]
          : undefined;
  }
  return s;
}

/** The allowed values of an enum or literal definition; [] for anything else. */
export function enumValues(d: Def): string[] {
  if (d.type === 'enum') return Object.values(d.entries as Record<string, string>).map(String);
  if (d.type === 'literal') return (d.values as unknown[]).map(String);
  return [];
}
