import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import {
  drawAudit,
  marginThirds,
  strataOf,
  type PairEvidence,
} from '../../src/stages/audit/draw.js';

const ev = (
  pairId: string,
  margin: number | null,
  disagree: boolean | null = false,
  principle: string | null = null,
): PairEvidence => ({ pairId, margin, disagree, principle });

describe('audit draw', () => {
  test('margin thirds are by rank within the round; unscored pairs are "none"', () => {
    const pairs = [0.9, 0.1, 0.5, 0.3, 0.7, 0.2].map((m, k) => ev(`p${k}`, m));
    const t = marginThirds([...pairs, ev('q', null)]);
    // ascending: p1 .1, p5 .2 | p3 .3, p2 .5 | p4 .7, p0 .9
    assert.deepEqual(
      ['p1', 'p5', 'p3', 'p2', 'p4', 'p0'].map((id) => t.get(id)),
      ['low', 'low', 'mid', 'mid', 'high', 'high'],
    );
    assert.equal(t.get('q'), undefined);
    const keys = strataOf(
      [ev('a', 0.5, true, 'p3'), ev('b', null, null)],
      ['margin', 'judges', 'principle'],
    );
    assert.equal(keys.get('a'), 'margin:low|judges:disagree|principle:p3');
    assert.equal(keys.get('b'), 'margin:none|judges:none|principle:none');
  });

  test('strata are visited in turn: a rare stratum is drawn although common ones dominate', () => {
    // 20 confident agreements and 2 disagreements: a sample of 4 holds both disagreements
    const pairs = [
      ...Array.from({ length: 20 }, (_, k) => ev(`agree${k}`, 0.5, false)),
      ev('dis0', 0.5, true),
      ev('dis1', 0.5, true),
    ];
    const drawn = drawAudit(pairs, 4, ['judges'], new Rng(1));
    assert.equal(drawn.length, 4);
    assert.equal(drawn.filter((d) => d.pairId.startsWith('dis')).length, 2);
    assert.deepEqual(
      drawn.map((d) => d.position),
      [0, 1, 2, 3],
    );
    for (const d of drawn)
      assert.equal(d.stratum, `judges:${d.pairId.startsWith('dis') ? 'disagree' : 'agree'}`);
  });

  test('deterministic in the seed, never more than the pairs, no pair twice', () => {
    const pairs = Array.from({ length: 9 }, (_, k) => ev(`p${k}`, k / 10, k % 3 === 0));
    const a = drawAudit(pairs, 5, ['margin', 'judges'], new Rng(42));
    assert.deepEqual(drawAudit(pairs, 5, ['margin', 'judges'], new Rng(42)), a);
    assert.equal(new Set(a.map((d) => d.pairId)).size, 5);
    const all = drawAudit(pairs, 50, ['margin'], new Rng(3));
    assert.equal(all.length, 9);
    assert.equal(new Set(all.map((d) => d.pairId)).size, 9);
    // the order shown is a coin per item: both orders occur over a sample this size
    const swaps = drawAudit(pairs, 9, ['margin'], new Rng(7)).map((d) => d.swapped);
    assert.ok(swaps.includes(true) && swaps.includes(false));
  });
});
