import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isPipelineError } from '../../src/core/errors.js';
import type { PairStageSpec } from '../../src/spec/schema.js';
import type { RunContext } from '../../src/stages/context.js';
import { choosePairs, pairStage, type Scored } from '../../src/stages/pair.js';
import { candidateRow } from './rows.js';

type Spec = Pick<PairStageSpec, 'strategy' | 'min_margin' | 'length_control'>;

/** Candidates named by id, each with a score and an answer of `len` characters. */
const scored = (...cs: [id: string, score: number, len: number][]): Scored[] =>
  cs.map(([id, score, len]) => ({
    candidate: candidateRow(id, 'x'.repeat(len)),
    score,
    perJudge: {},
  }));

/** The chosen/rejected ids of each pair, or the discard reason. */
function pick(spec: Spec, cands: Scored[], draw = 0): string[] | string {
  const r = choosePairs(spec, cands, { nextFloat: () => draw });
  if ('reason' in r) return r.reason;
  return r.pairs.map(([c, rj]) => `${c.candidate.id}>${rj.candidate.id}`);
}

const maxMin: Spec = { strategy: 'max-min', min_margin: 0, length_control: 0 };
const maxRandom: Spec = { strategy: 'max-random', min_margin: 0, length_control: 0 };
const allPairs: Spec = { strategy: 'all-pairs-above-margin', min_margin: 0, length_control: 0 };

describe('choosePairs: every strategy', () => {
  test('equal scores are a tie, whatever the strategy', () => {
    for (const spec of [maxMin, maxRandom, allPairs]) {
      const r = choosePairs(spec, scored(['a', 4, 3], ['b', 4, 5]), { nextFloat: () => 0 });
      assert.deepEqual(r, { reason: 'tie', detail: { score: 4 } });
    }
  });
});

describe('choosePairs: max-min', () => {
  test('the best against the worst', () => {
    assert.deepEqual(pick(maxMin, scored(['a', 3, 5], ['b', 5, 5], ['c', 1, 5])), ['b>c']);
  });

  test('tied best: the shorter answer, then the earlier candidate', () => {
    assert.deepEqual(pick(maxMin, scored(['a', 5, 9], ['b', 5, 4], ['c', 1, 5])), ['b>c']);
    assert.deepEqual(pick(maxMin, scored(['a', 5, 4], ['b', 5, 4], ['c', 1, 5])), ['a>c']);
  });

  test('tied worst: the longer answer, then the earlier candidate', () => {
    assert.deepEqual(pick(maxMin, scored(['a', 5, 5], ['b', 1, 4], ['c', 1, 8])), ['a>c']);
    assert.deepEqual(pick(maxMin, scored(['a', 5, 5], ['b', 1, 8], ['c', 1, 8])), ['a>b']);
  });

  test('a gap below min_margin is discarded with both scores', () => {
    const spec = { ...maxMin, min_margin: 3 };
    const r = choosePairs(spec, scored(['a', 3, 5], ['b', 1, 5]), { nextFloat: () => 0 });
    assert.deepEqual(r, {
      reason: 'below-margin',
      detail: { chosen: 3, rejected: 1, min_margin: 3 },
    });
    assert.deepEqual(pick({ ...maxMin, min_margin: 2 }, scored(['a', 3, 5], ['b', 1, 5])), ['a>b']);
  });

  test('length control: the shortest of the top band against the longest of the bottom band', () => {
    // scores 1..5, rho 0.25: bands 1 wide, top = {4, 5}, bottom = {1, 2}
    const cands = scored(['s1', 1, 10], ['s2', 2, 30], ['s3', 3, 1], ['s4', 4, 5], ['s5', 5, 20]);
    assert.deepEqual(pick({ ...maxMin, length_control: 0.25 }, cands), ['s4>s2']);
    // without it, length does not matter
    assert.deepEqual(pick(maxMin, cands), ['s5>s1']);
  });

  test('length control: within a band, equal lengths prefer the higher (chosen) or lower (rejected) score', () => {
    const cands = scored(['a', 4, 5], ['b', 5, 5], ['c', 1, 7], ['d', 2, 7]);
    assert.deepEqual(pick({ ...maxMin, length_control: 0.5 }, cands), ['b>c']);
  });

  test('length control so wide that the chosen scores below the rejected is discarded', () => {
    // rho 1: both bands hold everything, so the short low answer is chosen over the long high one
    const cands = scored(['a', 1, 1], ['b', 5, 9]);
    const r = choosePairs({ ...maxMin, length_control: 1 }, cands, { nextFloat: () => 0 });
    assert.deepEqual(r, {
      reason: 'below-margin',
      detail: { chosen: 1, rejected: 5, min_margin: 0 },
    });
  });
});

describe('choosePairs: max-random', () => {
  const cands = scored(['a', 2, 5], ['b', 5, 5], ['c', 1, 5], ['d', 3, 5]);

  test('the best against a lower one drawn by the rng, in candidate order', () => {
    assert.deepEqual(pick(maxRandom, cands, 0), ['b>a']);
    assert.deepEqual(pick(maxRandom, cands, 0.5), ['b>c']);
    assert.deepEqual(pick(maxRandom, cands, 0.99), ['b>d']);
  });

  test('candidates tied with the best are never drawn', () => {
    const tied = scored(['a', 5, 5], ['b', 5, 6], ['c', 1, 5]);
    assert.deepEqual(pick(maxRandom, tied, 0), ['a>c']);
  });

  test('a draw below min_margin is discarded', () => {
    const r = choosePairs({ ...maxRandom, min_margin: 3 }, cands, { nextFloat: () => 0.99 });
    assert.deepEqual(r, {
      reason: 'below-margin',
      detail: { chosen: 5, rejected: 3, min_margin: 3 },
    });
    assert.deepEqual(pick({ ...maxRandom, min_margin: 3 }, cands, 0), ['b>a']);
  });

  test('length control can choose the lowest score, leaving nothing to draw', () => {
    const r = choosePairs({ ...maxRandom, length_control: 1 }, scored(['a', 1, 1], ['b', 5, 9]), {
      nextFloat: () => 0,
    });
    assert.deepEqual(r, {
      reason: 'below-margin',
      detail: { chosen: 1, rejected: null, min_margin: 0 },
    });
  });
});

describe('choosePairs: all-pairs-above-margin', () => {
  const cands = scored(['a', 3, 5], ['b', 1, 5], ['c', 3, 9], ['d', 2, 1]);

  test('every ordered pair whose gap reaches the margin; ties never pair', () => {
    assert.deepEqual(pick(allPairs, cands), ['a>b', 'a>d', 'c>b', 'c>d', 'd>b']);
    assert.deepEqual(pick({ ...allPairs, min_margin: 1 }, cands), [
      'a>b',
      'a>d',
      'c>b',
      'c>d',
      'd>b',
    ]);
    assert.deepEqual(pick({ ...allPairs, min_margin: 2 }, cands), ['a>b', 'c>b']);
  });

  test('length control does not apply', () => {
    assert.deepEqual(pick({ ...allPairs, min_margin: 2, length_control: 0.5 }, cands), [
      'a>b',
      'c>b',
    ]);
  });

  test('no pair reaching the margin is discarded with the score range', () => {
    const r = choosePairs({ ...allPairs, min_margin: 5 }, cands, { nextFloat: () => 0 });
    assert.deepEqual(r, { reason: 'below-margin', detail: { max: 3, min: 1, min_margin: 5 } });
  });
});

describe('pairStage', () => {
  test('refuses to run without a judge stage to read scores from', async () => {
    const spec = { kind: 'pair', strategy: 'max-min' } as PairStageSpec;
    await assert.rejects(
      pairStage.run({} as RunContext, { spec, round: 1, index: 2, prompts: [] }),
      (e) => isPipelineError(e) && e.code === 'E_PAIR_NO_JUDGE' && /pair stage 2/.test(e.message),
    );
  });
});
