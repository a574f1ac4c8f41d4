// A line diff for constitutions (short texts edited by hand): longest common subsequence over
// lines after trimming the common head and tail, which is exact and small enough here.

import type { RunStore } from '../store/run-store.js';

export type DiffOp = ' ' | '-' | '+';

export interface DiffLine {
  op: DiffOp;
  text: string;
  /** 1-based line in the old text (for ' ' and '-'). */
  oldLine: number | null;
  /** 1-based line in the new text (for ' ' and '+'). */
  newLine: number | null;
}

// Above this many LCS cells (about 4000 x 4000 lines) the middle is shown as removed + added
// rather than spending memory on a diff nobody reads line by line.
const MAX_CELLS = 16_000_000;

function splitLines(s: string): string[] {
  if (s === '') return [];
  const lines = s.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The edit script that turns `a` into `b`, line by line. */
export function lineDiff(a: string, b: string): DiffLine[] {
  const x = splitLines(a);
  const y = splitLines(b);
  let head = 0;
  while (head < x.length && head < y.length && x[head] === y[head]) head++;
  let tail = 0;
  while (
    tail < x.length - head &&
    tail < y.length - head &&
    x[x.length - 1 - tail] === y[y.length - 1 - tail]
  )
    tail++;
  const out: DiffLine[] = [];
  const same = (i: number, j: number) =>
    out.push({ op: ' ', text: x[i], oldLine: i + 1, newLine: j + 1 });
  const del = (i: number) => out.push({ op: '-', text: x[i], oldLine: i + 1, newLine: null });
  const add = (j: number) => out.push({ op: '+', text: y[j], oldLine: null, newLine: j + 1 });

  for (let k = 0; k < head; k++) same(k, k);
  const n = x.length - head - tail;
  const m = y.length - head - tail;
  if (n * m > MAX_CELLS) {
    for (let i = 0; i < n; i++) del(head + i);
    for (let j = 0; j < m; j++) add(head + j);
  } else {
    // lcs[i][j] = LCS length of x[head+i..] and y[head+j..], in one flat array.
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        lcs[i * w + j] =
          x[head + i] === y[head + j]
            ? lcs[(i + 1) * w + j + 1] + 1
            : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (x[head + i] === y[head + j]) {
        same(head + i, head + j);
        i++;
        j++;
      } else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) del(head + i++);
      else add(head + j++);
    }
    while (i < n) del(head + i++);
    while (j < m) add(head + j++);
  }
  for (let k = tail; k > 0; k--) same(x.length - k, y.length - k);
  return out;
}

export interface DiffStats {
  added: number;
  removed: number;
  unchanged: number;
}

export function diffStats(lines: readonly DiffLine[]): DiffStats {
  const s = { added: 0, removed: 0, unchanged: 0 };
  for (const l of lines)
    if (l.op === '+') s.added++;
    else if (l.op === '-') s.removed++;
    else s.unchanged++;
  return s;
}

/** A piece of a diff for display: changed lines with context, or a run of hidden unchanged ones. */
export type DiffChunk = { kind: 'lines'; lines: DiffLine[] } | { kind: 'skip'; count: number };

/** Keeps `context` unchanged lines around each change and folds longer unchanged runs. */
export function foldDiff(lines: readonly DiffLine[], context = 3): DiffChunk[] {
  const keep = lines.map(() => false);
  lines.forEach((l, i) => {
    if (l.op === ' ') return;
    for (let k = Math.max(0, i - context); k <= Math.min(lines.length - 1, i + context); k++)
      keep[k] = true;
  });
  const chunks: DiffChunk[] = [];
  let i = 0;
  while (i < lines.length) {
    let j = i;
    while (j < lines.length && keep[j] === keep[i]) j++;
    // Folding a single line saves nothing.
    if (keep[i] || j - i <= 1) chunks.push({ kind: 'lines', lines: lines.slice(i, j) });
    else chunks.push({ kind: 'skip', count: j - i });
    i = j;
  }
  // Adjacent 'lines' chunks (from an unfolded single line) read better merged.
  const merged: DiffChunk[] = [];
  for (const c of chunks) {
    const last = merged[merged.length - 1];
    if (c.kind === 'lines' && last?.kind === 'lines') last.lines.push(...c.lines);
    else merged.push(c.kind === 'lines' ? { kind: 'lines', lines: [...c.lines] } : c);
  }
  return merged;
}

export interface ConstitutionText {
  hash: string;
  path: string | null;
  content: string;
}

/** The constitution texts a run stored (texts of kind 'constitution'), by path then hash. */
export function constitutionTexts(store: RunStore): ConstitutionText[] {
  return store.db
    .prepare(
      `SELECT hash, path, content FROM texts WHERE kind = 'constitution'
       ORDER BY path IS NULL, path, created_at, hash`,
    )
    .all() as ConstitutionText[];
}

export interface ConstitutionDiff {
  /** The path in each run (they differ when a renamed file is matched up). */
  oldPath: string | null;
  newPath: string | null;
  oldHash: string | null;
  newHash: string | null;
  identical: boolean;
  lines: DiffLine[];
  stats: DiffStats;
}

/**
 * Matches the constitutions of two runs by path (a single unmatched one on each side is
 * matched anyway: the file was renamed or moved) and diffs each match; one present in only
 * one run diffs against nothing.
 */
export function diffConstitutions(
  a: readonly ConstitutionText[],
  b: readonly ConstitutionText[],
): ConstitutionDiff[] {
  const pairs: [ConstitutionText | null, ConstitutionText | null][] = [];
  const restB = [...b];
  let restA = [...a];
  // Same text first (wherever it lives), then same path.
  for (const same of [
    (x: ConstitutionText, y: ConstitutionText) => x.hash === y.hash,
    (x: ConstitutionText, y: ConstitutionText) => x.path !== null && x.path === y.path,
  ]) {
    const unmatched: ConstitutionText[] = [];
    for (const ta of restA) {
      const k = restB.findIndex((tb) => same(ta, tb));
      if (k >= 0) pairs.push([ta, restB.splice(k, 1)[0]]);
      else unmatched.push(ta);
    }
    restA = unmatched;
  }
  if (restA.length === 1 && restB.length === 1) pairs.push([restA[0], restB.pop()!]);
  else for (const ta of restA) pairs.push([ta, null]);
  for (const tb of restB) pairs.push([null, tb]);
  return pairs.map(([ta, tb]) => {
    const lines = lineDiff(ta?.content ?? '', tb?.content ?? '');
    return {
      oldPath: ta?.path ?? null,
      newPath: tb?.path ?? null,
      oldHash: ta?.hash ?? null,
      newHash: tb?.hash ?? null,
      identical: ta !== null && tb !== null && ta.hash === tb.hash,
      lines,
      stats: diffStats(lines),
    };
  });
}
