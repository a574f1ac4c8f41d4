// Input hashes are the store's idempotency keys: a stage hashes everything that determines an
// output *before* computing it, so a resumed run can skip (and never duplicate) finished work.
// The hash must therefore not depend on key order or on how a value happened to be built, hence
// a canonical JSON encoding (sorted keys) rather than JSON.stringify.

import { createHash } from 'node:crypto';
import { fail } from '../core/errors.js';

function bad(path: string, what: string): never {
  fail(
    'E_STORE_HASH',
    `cannot hash ${what} at ${path}`,
    'input hashes take JSON-like values: plain objects, arrays, strings, finite numbers, booleans and null',
  );
}

function encode(value: unknown, path: string, seen: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      // NaN and ±Infinity would silently become null under JSON.stringify, colliding with a real
      // null; a hash that cannot tell them apart would merge distinct inputs.
      if (!Number.isFinite(value)) bad(path, `the non-finite number ${value}`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      // bigint, function, symbol, undefined (at the top level or inside an array)
      bad(path, `a value of type ${typeof value}`);
  }
  const obj = value as object;
  if (seen.has(obj)) bad(path, 'a circular reference');
  seen.add(obj);
  try {
    if (ArrayBuffer.isView(obj) && !(obj instanceof DataView)) {
      // Token ids often arrive as typed arrays; they must hash like the plain array of numbers.
      const arr = obj as unknown as ArrayLike<number | bigint>;
      return encode(
        Array.from(arr, (v) => (typeof v === 'bigint' ? Number(v) : v)),
        path,
        seen,
      );
    }
    if (Array.isArray(obj)) {
      return '[' + obj.map((v, i) => encode(v, `${path}[${i}]`, seen)).join(',') + ']';
    }
    const withJson = obj as { toJSON?: () => unknown };
    if (typeof withJson.toJSON === 'function') return encode(withJson.toJSON(), path, seen);
    if (obj instanceof Map || obj instanceof Set) bad(path, `a ${obj.constructor.name}`);
    const keys = Object.keys(obj).sort();
    const parts: string[] = [];
    for (const k of keys) {
      const v = (obj as Record<string, unknown>)[k];
      // Same rule as JSON: an absent optional field and an undefined one are the same input.
      if (v === undefined) continue;
      parts.push(JSON.stringify(k) + ':' + encode(v, `${path}.${k}`, seen));
    }
    return '{' + parts.join(',') + '}';
  } finally {
    seen.delete(obj);
  }
}

/** JSON with object keys sorted at every level; throws E_STORE_HASH on values JSON cannot represent. */
export function canonicalJson(value: unknown): string {
  return encode(value, '$', new Set());
}

/** Hex sha256 of the canonical JSON of `parts` (as an array), used as an idempotency key. */
export function inputHash(...parts: unknown[]): string {
  return createHash('sha256').update(canonicalJson(parts)).digest('hex');
}

/**
 * Hex sha256 of a text's UTF-8 bytes: the key of the `texts` table, chosen so that
 * `sha256sum constitutions/x.md` on the file that was used gives the same value.
 */
export function contentHash(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('hex');
}
