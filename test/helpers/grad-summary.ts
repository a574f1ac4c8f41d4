// A reference gradient as the fixture scripts summarise it (scripts/make-*-parity.py `summary`):
// shape, max |g|, L2 norm and a few entries (the largest, the first, middle and last), and the
// comparison every parity test makes of our full gradient against it.
import assert from 'node:assert/strict';

export interface GradSummary {
  shape: number[];
  max_abs: number;
  l2: number;
  entries: Record<string, number>;
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

/**
 * Our gradient against the reference's summary: size, then L2 norm and max relative to the
 * reference's, and each listed entry's difference relative to the max, all below `tol`. A zero
 * reference gradient asks ours to be below 1e-7. Returns the worst relative difference.
 */
export function compareGrad(
  name: string,
  ours: Float32Array | undefined,
  ref: GradSummary,
  tol: number,
): number {
  assert.ok(ours, `${name}: no such trainable tensor`);
  assert.equal(
    ours.length,
    ref.shape.reduce((a, b) => a * b, 1),
    `${name}: size`,
  );
  let l2 = 0;
  let max = 0;
  for (const x of ours) {
    l2 += x * x;
    max = Math.max(max, Math.abs(x));
  }
  if (ref.max_abs === 0) {
    assert.ok(max < 1e-7, `${name}: gradient ${max}, the reference's is 0`);
    return max;
  }
  let worst = Math.max(rel(Math.sqrt(l2), ref.l2), rel(max, ref.max_abs));
  assert.ok(rel(Math.sqrt(l2), ref.l2) < tol, `${name}: L2 ${Math.sqrt(l2)} vs ${ref.l2}`);
  assert.ok(rel(max, ref.max_abs) < tol, `${name}: max ${max} vs ${ref.max_abs}`);
  for (const [i, v] of Object.entries(ref.entries)) {
    const d = Math.abs(ours[Number(i)] - v) / ref.max_abs;
    worst = Math.max(worst, d);
    assert.ok(d < tol, `${name}[${i}]: ${ours[Number(i)]} vs ${v} (${d} of the max)`);
  }
  return worst;
}
