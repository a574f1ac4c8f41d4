// Small text helpers shared by the live view and the plain reporter. Pure string functions, no
// escape codes, so both outputs read the same.

const BLOCKS = '▁▂▃▄▅▆▇█';

/**
 * A sparkline of `values` in at most `width` characters. Longer series are averaged into
 * `width` buckets so the whole trend stays visible; non-finite values (NaN losses) show as a
 * space, so a gap is visible instead of poisoning the scale.
 */
export function sparkline(values: readonly number[], width = values.length): string {
  if (values.length === 0 || width <= 0) return '';
  const pts = values.length > width ? bucketMeans(values, width) : values.slice();
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of pts) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  let s = '';
  for (const v of pts) {
    if (!Number.isFinite(v)) s += ' ';
    // A flat series draws mid-height: the bottom row would read as "at its minimum".
    else if (hi === lo) s += BLOCKS[3];
    else s += BLOCKS[Math.min(7, Math.floor(((v - lo) / (hi - lo)) * 8))];
  }
  return s;
}

function bucketMeans(values: readonly number[], width: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < width; b++) {
    const from = Math.floor((b * values.length) / width);
    const to = Math.floor(((b + 1) * values.length) / width);
    let sum = 0;
    let n = 0;
    for (let i = from; i < to; i++) {
      if (Number.isFinite(values[i])) {
        sum += values[i];
        n++;
      }
    }
    out.push(n ? sum / n : NaN);
  }
  return out;
}

/** A fixed-width bar: `█` for done, `░` for the rest. An unknown total (0) draws all `░`. */
export function progressBar(done: number, total: number, width: number): string {
  if (width <= 0) return '';
  const frac = total > 0 ? Math.max(0, Math.min(1, done / total)) : 0;
  const full = Math.round(frac * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

/** `42s`, `3:07`, `1:02:03`; sub-10 s keeps one decimal (`4.2s`). */
export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** `12.3/s`, `0.42/s`, `1.2k/s`. */
export function formatRate(perSecond: number | null | undefined): string {
  if (perSecond == null || !Number.isFinite(perSecond)) return '–';
  if (perSecond >= 1000) return `${(perSecond / 1000).toFixed(1)}k/s`;
  if (perSecond >= 10) return `${perSecond.toFixed(0)}/s`;
  if (perSecond >= 1) return `${perSecond.toFixed(1)}/s`;
  return `${perSecond.toFixed(2)}/s`;
}

/** Numbers for metrics and losses: 4 significant digits, no exponent for everyday values. */
export function formatNumber(v: number | null | undefined): string {
  if (v == null) return '–';
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

/** `tie 7, below_margin 4`, largest first; ties of count keep the event's order. */
export function formatReasons(discarded: Record<string, number>): string {
  return Object.entries(discarded)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
}

/** One line, whitespace collapsed, cut to `max` characters with an ellipsis. */
export function oneLine(text: string, max: number): string {
  const s = text.replace(/\s+/g, ' ').trim();
  return s.length > max ? s.slice(0, Math.max(0, max - 1)) + '…' : s;
}
