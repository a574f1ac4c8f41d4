// The judge-agreement statistics (stages/evaluate/metrics/judge-agreement.ts) on fixed inputs:
// Kendall's τ-b against SciPy 1.17.1 (`scipy.stats.kendalltau(x, y).statistic`, printed beside
// each value), the rest against sums worked out by hand.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  flipRate,
  kendallTauB,
  mutualAgreement,
  pairwiseAgreement,
  scoreDrift,
} from '../../src/stages/evaluate/metrics/judge-agreement.js';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

describe('kendallTauB', () => {
  test('matches scipy.stats.kendalltau (tau-b) with ties in both lists', () => {
    // kendalltau([5,3,3,0,4,2,5,1], [4,4,2,1,5,2,3,0]) -> 0.6153846153846154
    close(kendallTauB([5, 3, 3, 0, 4, 2, 5, 1], [4, 4, 2, 1, 5, 2, 3, 0]), 0.6153846153846154);
    // kendalltau([2,2,1,1,3], [1,2,2,1,3]) -> 0.49999999999999994
    close(kendallTauB([2, 2, 1, 1, 3], [1, 2, 2, 1, 3]), 0.5);
    // kendalltau([1,2,3,4], [4,3,2,1]) -> -1.0
    close(kendallTauB([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  });

  test('items one judge did not score are left out; a constant list gives NaN', () => {
    // the null pair drops out, leaving the scipy case above
    close(kendallTauB([2, 2, 9, 1, 1, 3], [1, 2, null, 2, 1, 3]), 0.5);
    assert.ok(Number.isNaN(kendallTauB([3, 3, 3], [1, 2, 3])));
    assert.throws(() => kendallTauB([1, 2], [1]), /differ in length/);
  });
});

describe('pairwiseAgreement', () => {
  test('over pairs the reference orders: agree 1, tie or unparsed ½, reversed 0', () => {
    // reference 5, 3, 3, 0; judge 4, 4, 1, null
    // pairs ordered by the reference: (0,1) (0,2) (0,3) (1,3) (2,3); (1,2) is a reference tie
    //   (0,1) judge 4 = 4 tie; (0,2) 4 > 1 agree; (0,3) unparsed tie; (1,3) tie; (2,3) tie
    const r = pairwiseAgreement([5, 3, 3, 0], [4, 4, 1, null]);
    assert.deepEqual(r, { agreement: (1 + 4 / 2) / 5, pairs: 5, agree: 1, ties: 4, disagree: 0 });
    // a reversed judge: reference 1 < 2 < 3, judge 3 > 2 > 1 -> 0 of 3
    assert.equal(pairwiseAgreement([1, 2, 3], [3, 2, 1]).agreement, 0);
    assert.ok(Number.isNaN(pairwiseAgreement([2, 2], [1, 5]).agreement));
  });
});

describe('mutualAgreement', () => {
  test('over pairs either judge orders: same order 1, one tie ½, opposite 0; symmetric', () => {
    // x 3, 3, 1; y 2, 5, 5
    //   (0,1): x tie, y 2 < 5 -> ½; (0,2): x 3 > 1, y 2 < 5 -> 0; (1,2): x 3 > 1, y tie -> ½
    const r = mutualAgreement([3, 3, 1], [2, 5, 5]);
    assert.deepEqual(r, { agreement: 1 / 3, pairs: 3, agree: 0, ties: 2, disagree: 1 });
    assert.deepEqual(mutualAgreement([2, 5, 5], [3, 3, 1]), r);
    assert.equal(mutualAgreement([1, 2, 3], [10, 20, 30]).agreement, 1);
    assert.ok(Number.isNaN(mutualAgreement([1, 1], [null, 4]).agreement));
  });
});

describe('scoreDrift and flipRate', () => {
  test('mean absolute move on the rubric scale; flips are strict reversals of strict orders', () => {
    // before 5, 3, 1, null; after 4, 3, 3, 2 on [0, 5]: |−1| + 0 + 2 over 3 items = 1 -> 1/5
    close(scoreDrift([5, 3, 1, null], [4, 3, 3, 2], [0, 5]), 1 / 5);
    // before 5, 3, 1: ordered pairs (0,1) (0,2) (1,2); after 2, 3, 3: (0,1) flips, (0,2) flips,
    // (1,2) becomes a tie (no flip) -> 2/3
    close(flipRate([5, 3, 1], [2, 3, 3]), 2 / 3);
    assert.equal(flipRate([5, 3, 1], [5, 3, 1]), 0);
    assert.ok(Number.isNaN(flipRate([2, 2], [1, 3])));
    assert.ok(Number.isNaN(scoreDrift([null], [1], [0, 5])));
  });
});
