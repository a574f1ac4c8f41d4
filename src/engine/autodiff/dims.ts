// Symbolic dims for static shape inference (shapes.ts): a dim is a number, a symbol, or null
// (unknown). Symbols are canonical monomials over the graph's symbolic input dims (`batch`,
// `2*seq`, `batch*seq`), so two equal strings always denote equal runtime sizes; that is the only
// property the gradient rules rely on. Division is exact monomial division, which solves
// Reshape's -1 in attention's [B, KV, G*S, D] reshapes.

export type Dim = number | string | null;

interface Mono {
  c: number;
  f: string[];
}

function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '*' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

function mono(d: number | string): Mono {
  if (typeof d === 'number') return { c: d, f: [] };
  let c = 1;
  const f: string[] = [];
  for (const part of splitTop(d)) {
    if (/^\d+$/.test(part)) c *= Number(part);
    else f.push(part);
  }
  return { c, f };
}

function fmt(m: Mono): number | string {
  if (m.f.length === 0 || m.c === 0) return m.c;
  const f = [...m.f].sort().join('*');
  return m.c === 1 ? f : `${m.c}*${f}`;
}

/** A symbol read from a graph input; wrapped in parentheses if it would not parse as an atom. */
export function atom(s: string): string {
  return /^[A-Za-z_][\w.:]*$/.test(s) ? s : `(${s})`;
}

export function dimMul(a: Dim, b: Dim): Dim {
  if (a === null || b === null) return a === 0 || b === 0 ? 0 : null;
  const x = mono(a);
  const y = mono(b);
  return fmt({ c: x.c * y.c, f: [...x.f, ...y.f] });
}

/** Exact division of monomials, or null when the quotient is not a monomial. */
export function dimDiv(a: Dim, b: Dim): Dim {
  if (a === null || b === null || b === 0) return null;
  const x = mono(a);
  const y = mono(b);
  if (x.c % y.c !== 0) return null;
  const f = [...x.f];
  for (const s of y.f) {
    const i = f.indexOf(s);
    if (i < 0) return null;
    f.splice(i, 1);
  }
  return fmt({ c: x.c / y.c, f });
}

export function dimProd(ds: Dim[]): Dim {
  return ds.reduce<Dim>((p, d) => dimMul(p, d), 1);
}

/** NumPy broadcasting of static shapes; a numeric dim > 1 wins over an unknown or symbolic one. */
export function broadcastDims(shapes: (Dim[] | undefined)[]): Dim[] | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const ss = shapes as Dim[][];
  const r = Math.max(0, ...ss.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const ds = ss.map((s) => s[s.length - r + i]).filter((d) => d !== undefined && d !== 1);
    if (ds.length === 0) out.push(1);
    else {
      const nums = ds.filter((d): d is number => typeof d === 'number');
      if (nums.length) out.push(nums.every((n) => n === nums[0]) ? nums[0] : null);
      else out.push(ds.every((d) => d !== null && d === ds[0]) ? ds[0] : null);
    }
  }
  return out;
}
