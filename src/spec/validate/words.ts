// Paths and values in words, for messages: `stages[2].temperature`, "the judge stage at
// stages[2]", "the string 'x'".

import { isStageKind } from '../stage-kinds.js';
import { isRecord, valueAt } from './raw-value.js';

/** `stages[2].temperature` */
export function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const seg of path) {
    if (typeof seg === 'number') s += `[${seg}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(String(seg))) s += s ? `.${String(seg)}` : String(seg);
    else s += `[${JSON.stringify(String(seg))}]`;
  }
  return s || 'the pipeline file';
}

/** A mapping named for people: "the judge stage at stages[2]", "judge 'anchor'". */
export function where(root: unknown, path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'the top level';
  if (path.length === 2 && path[0] === 'stages' && typeof path[1] === 'number') {
    const kind = valueAt(root, [...path, 'kind']);
    return isStageKind(kind) ? `the ${kind} stage at ${formatPath(path)}` : formatPath(path);
  }
  if (path.length === 2 && path[0] === 'judges') return `judge '${String(path[1])}'`;
  return formatPath(path);
}

export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (typeof v === 'string') {
    const s = v.length > 40 ? `${v.slice(0, 37)}...` : v;
    return `the string '${s}'`;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  if (Array.isArray(v)) return 'a list';
  if (isRecord(v)) return 'a mapping';
  return typeof v;
}

export function quote(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}
