// Reading the raw YAML value (before the schema): the checks look at what was written, so a part
// of the file that did not parse still gets its own mistakes reported.

import { isStageKind, type StageKind } from '../stage-kinds.js';

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const seg of path) {
    if (Array.isArray(v) && typeof seg === 'number') v = v[seg];
    else if (isRecord(v)) v = v[String(seg)];
    else return undefined;
  }
  return v;
}

/** Whether `path` was written at all (a key given an empty value counts as written). */
export function hasPath(root: unknown, path: readonly PropertyKey[]): boolean {
  if (path.length === 0) return true;
  const parent = valueAt(root, path.slice(0, -1));
  const last = path[path.length - 1];
  if (Array.isArray(parent)) return typeof last === 'number' && last < parent.length;
  return isRecord(parent) && Object.prototype.hasOwnProperty.call(parent, String(last));
}

/** The `stages:` list as written, or [] when it is missing or not a list. */
export function rawStages(raw: unknown): unknown[] {
  const s = isRecord(raw) ? raw.stages : undefined;
  return Array.isArray(s) ? s : [];
}

/** The stage's `kind:` when it names a known kind, whatever else is wrong with the stage. */
export function stageKindOf(raw: unknown): StageKind | undefined {
  const k = isRecord(raw) ? raw.kind : undefined;
  return isStageKind(k) ? k : undefined;
}
