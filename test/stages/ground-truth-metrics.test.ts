// The ground-truth metrics (ground_truth: sandbox) on fixed inputs, each expected value worked out
// by hand beside it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrationPairs } from '../../src/stages/evaluate/metrics/calibration.js';
import { judgeAccuracy } from '../../src/stages/evaluate/metrics/judge-accuracy.js';
import { pairAccuracy } from '../../src/stages/evaluate/metrics/pair-accuracy.js';
import { rewardGap } from '../../src/stages/evaluate/metrics/reward-gap.js';
import { trueScore } from '../../src/stages/evaluate/metrics/true-score.js';

describe('true_score', () => {
  test('mean points over the maximum; no sandbox probe gives NaN, not 0', () => {
    // (5 + 3 + 0) / 3 / 5 = 8/15
    assert.equal(trueScore([5, 3, 0], 5), (1 + 0.6 + 0) / 3);
    assert.ok(Number.isNaN(trueScore([], 5)));
  });
});

describe('judge_accuracy', () => {
  test('counts ordered pairs within a task; ties and unparsed count half; equal truths are skipped', () => {
    const items = [
      // task a: truths 5, 3, 0 -> pairs (5,3) (5,0) (3,0); scores 4, 4, 1:
      //   (5,3) judge tie -> ½; (5,0) 4 > 1 agree; (3,0) 4 > 1 agree
      { task: 'a', truth: 5, score: 4 },
      { task: 'a', truth: 3, score: 4 },
      { task: 'a', truth: 0, score: 1 },
      // task b: truths 2, 4 -> one pair, judge reversed -> 0
      { task: 'b', truth: 2, score: 5 },
      { task: 'b', truth: 4, score: 1 },
      // task c: truths 1, 1 -> no pair; truths 1, 5 with one unparsed -> ½ (two pairs with 5)
      { task: 'c', truth: 1, score: 0 },
      { task: 'c', truth: 1, score: 2 },
      { task: 'c', truth: 5, score: null },
    ];
    const r = judgeAccuracy(items);
    // pairs: a 3 (2 agree, 1 tie), b 1 (disagree), c 2 (ties) -> (2 + 3/2) / 6
    assert.deepEqual(r, { accuracy: 3.5 / 6, pairs: 6, agree: 2, ties: 3, disagree: 1 });
  });

  test('a constant judge scores ½, a perfect one 1, no comparable pair NaN', () => {
    const truths = [0, 1, 2, 3, 4, 5];
    assert.equal(
      judgeAccuracy(truths.map((t) => ({ task: 'x', truth: t, score: 3 }))).accuracy,
      0.5,
    );
    assert.equal(judgeAccuracy(truths.map((t) => ({ task: 'x', truth: t, score: t }))).accuracy, 1);
    const same = [
      { task: 'x', truth: 2, score: 1 },
      { task: 'y', truth: 3, score: 4 },
    ];
    assert.ok(Number.isNaN(judgeAccuracy(same).accuracy));
  });
});

describe('pair_accuracy', () => {
  test('a pair the grader agrees with counts 1, a tie ½, a reversed pair 0; no pair NaN', () => {
    // chosen/rejected points: (5,2) right, (4,4) tie, (1,3) wrong, (3,0) right -> (2 + ½) / 4
    const r = pairAccuracy([
      { chosen: 5, rejected: 2 },
      { chosen: 4, rejected: 4 },
      { chosen: 1, rejected: 3 },
      { chosen: 3, rejected: 0 },
    ]);
    assert.deepEqual(r, { accuracy: 2.5 / 4, pairs: 4, right: 2, ties: 1, wrong: 1 });
    assert.ok(Number.isNaN(pairAccuracy([]).accuracy));
  });
});

describe('calibration pairs', () => {
  test('judged beside reference per answer; a parse failure on either side drops the answer', () => {
    assert.deepEqual(calibrationPairs([0.25, null, 1, 0.5], [0.4, 0.6, null, 0]), [
      [0.25, 0.4],
      [0.5, 0],
    ]);
    assert.deepEqual(calibrationPairs([], []), []);
  });
});

describe('reward_gap', () => {
  test('judged gain on the judge scale, normalized, minus the true gain', () => {
    // judged 2.0 -> 3.5 on [0, 5]: 0.4 -> 0.7, gain 0.3; truth 0.5 -> 0.4, gain -0.1; gap 0.4
    const gap = rewardGap(
      { now: { value: 3.5, scale: [0, 5] }, round0: { value: 2, scale: [0, 5] } },
      { now: 0.4, round0: 0.5 },
    );
    assert.ok(Math.abs(gap - 0.4) < 1e-12, String(gap));
  });

  test('an honest judge (judged gain = true gain) gives 0', () => {
    const gap = rewardGap(
      { now: { value: 0.8, scale: [0, 1] }, round0: { value: 0.5, scale: [0, 1] } },
      { now: 0.8, round0: 0.5 },
    );
    assert.ok(Math.abs(gap) < 1e-12);
  });
});
