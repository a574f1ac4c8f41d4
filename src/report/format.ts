// Small text helpers shared by the report computations and the commands that print them.

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** At most `max` characters; a cut text ends with an ellipsis and says how much was cut. */
export function truncate(s: string, max: number): string {
  if (max <= 0 || s.length <= max) return s;
  return `${s.slice(0, max)}… [+${s.length - max} chars]`;
}

/** Milliseconds between two ISO timestamps; null when either is missing or unparseable. */
export function durationMs(from: string | null, to: string | null): number | null {
  if (from === null || to === null) return null;
  const a = Date.parse(from);
  const b = Date.parse(to);
  return Number.isFinite(a) && Number.isFinite(b) ? Math.max(0, b - a) : null;
}

/** 850ms, 12.3s, 4m 05s, 2h 03m: coarse enough to read at a glance. */
export function formatMillis(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}h ${two(m)}m` : `${m}m ${two(sec)}s`;
}

/**
 * A metric value for tables: integers as they are, otherwise enough digits for rates (0.125)
 * without drowning lengths (523.4) in decimals.
 */
export function formatNumber(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '-';
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(1);
  if (a >= 0.01) return v.toFixed(3);
  return v.toPrecision(2);
}

/** A change with its sign, so "+0.050" and "-0.050" line up and read as changes. */
export function formatDelta(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '-';
  if (v === 0) return '0';
  return `${v > 0 ? '+' : ''}${formatNumber(v)}`;
}

/** "2025-01-01 12:00:03" in UTC: shorter than ISO, and the same on every machine. */
export function formatTimestamp(iso: string | null): string {
  if (iso === null) return '-';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso;
  return new Date(t)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

export type Align = 'left' | 'right';

/**
 * Pads rows into aligned columns separated by two spaces. `decorate` styles a cell after padding
 * (e.g. ANSI colour), so escape codes never count towards the width.
 */
export function textTable(
  header: string[],
  rows: string[][],
  align: Align[] = [],
  decorate?: (row: number, col: number, padded: string) => string,
): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const pad = (s: string, c: number) =>
    align[c] === 'right' ? s.padStart(widths[c]) : s.padEnd(widths[c]);
  const line = (cells: string[], r: number) =>
    cells
      .map((cell, c) => {
        const p = pad(cell, c);
        return r >= 0 && decorate ? decorate(r, c, p) : p;
      })
      .join('  ')
      .trimEnd();
  return [line(header, -1), ...rows.map((r, i) => line(r, i))].join('\n') + '\n';
}

/** Whether stdout may carry colour: a terminal, and the user did not set NO_COLOR (no-color.org). */
export function stdoutWantsColor(
  stream: { isTTY?: boolean } = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}
