// Map a path into the parsed value (as zod reports it: ['stages', 2, 'temperature']) back to
// where it was written, so every message can say `file:line:col`. The YAML Document keeps each
// node's source range; the LineCounter turns offsets into 1-based line/column.

import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';
import type { PipelineFile } from './read-file.js';

export interface SourceLocation {
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
  /** false when the path does not exist in the file and the location is its nearest ancestor
   *  (e.g. a missing key points at the mapping that should hold it). */
  exact: boolean;
}

export interface LocateOptions {
  /** Point at the key of the last path segment instead of its value: right for unknown keys
   *  and invalid names, where the key itself is what is wrong. */
  at?: 'value' | 'key';
}

type Locatable = Pick<PipelineFile, 'document' | 'lineCounter'>;

function keyOf(node: unknown): unknown {
  return isScalar(node) ? node.value : node;
}

function deref(doc: Document, node: unknown): unknown {
  // Aliases are followed so a value written once (&anchor) and used twice is still found;
  // the location is then the anchor's, which is where the user has to edit it.
  let n = node;
  for (let i = 0; i < 100 && isAlias(n); i++) n = n.resolve(doc);
  return n;
}

/** The pair of `map` whose key is `key`, looking through YAML merge keys (`<<: *base`). */
function findPair(doc: Document, map: unknown, key: PropertyKey, depth = 0): unknown {
  if (!isMap(map) || depth > 10) return undefined;
  for (const item of map.items)
    if (isPair(item) && String(keyOf(item.key)) === String(key)) return item;
  for (const item of map.items) {
    if (!isPair(item) || keyOf(item.key) !== '<<') continue;
    const sources = deref(doc, item.value);
    const list = isSeq(sources) ? sources.items.map((s) => deref(doc, s)) : [sources];
    for (const src of list) {
      const found = findPair(doc, src, key, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

function startOf(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}

/** Offset of the node at `path` (or of its nearest existing ancestor). */
export function locateOffset(
  file: Locatable,
  path: readonly PropertyKey[],
  opts: LocateOptions = {},
): { offset: number; exact: boolean } {
  const doc = file.document;
  let node: unknown = deref(doc, doc.contents);
  let offset = startOf(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = findPair(doc, node, seg);
      if (!isPair(pair)) return { offset, exact: false };
      const keyStart = startOf(pair.key);
      if (last && opts.at === 'key') return { offset: keyStart ?? offset, exact: true };
      const value = deref(doc, pair.value);
      // `key:` with nothing after it has no value node, or an empty null scalar placed after
      // the colon: pointing at the key reads better.
      const empty =
        value === null ||
        value === undefined ||
        (isScalar(value) && value.value === null && value.range?.[0] === value.range?.[1]);
      const valueStart = empty ? undefined : startOf(value);
      offset = valueStart ?? keyStart ?? offset;
      node = value;
    } else if (isSeq(node) && typeof seg === 'number' && seg >= 0 && seg < node.items.length) {
      const item = deref(doc, node.items[seg]);
      offset = startOf(item) ?? offset;
      node = item;
    } else {
      return { offset, exact: false };
    }
  }
  return { offset, exact: true };
}

/** 1-based line and column of the node at `path` (or of its nearest existing ancestor). */
export function locate(
  file: Locatable,
  path: readonly PropertyKey[],
  opts: LocateOptions = {},
): SourceLocation {
  const { offset, exact } = locateOffset(file, path, opts);
  const pos = file.lineCounter.linePos(offset);
  return { line: pos.line, col: pos.col, exact };
}

/** `file:line:col` for the node at `path`. */
export function formatLocation(
  file: Locatable & Pick<PipelineFile, 'path'>,
  path: readonly PropertyKey[],
  opts: LocateOptions = {},
): string {
  const { line, col } = locate(file, path, opts);
  return `${file.path}:${line}:${col}`;
}
