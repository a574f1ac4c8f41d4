import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { candidateScores } from '../../src/stages/candidate-scores.js';
import type { JudgementRow, Verdict } from '../../src/store/types.js';
import { candidateRow, judgementRow } from './rows.js';

const cands = ['c1', 'c2', 'c3'].map((id) => candidateRow(id));

/** The store's lookup: every judgement naming the candidate, as (A) or as (B). */
const storeOf = (rows: JudgementRow[]) => ({
  judgementsForCandidate: (id: string) =>
    rows.filter((j) => j.candidateId === id || j.otherCandidateId === id),
});

/** Pointwise samples: [judge, candidate, score or null for a parse failure]. */
const samples = (...xs: [string, string, number | null][]) =>
  xs.map(([judgeId, candidateId, score], k) =>
    judgementRow({ judgeId, mode: 'generate', candidateId, score, sampleIdx: k }),
  );

/** Pairwise verdicts: [judge, (A), (B), verdict]. */
const verdicts = (...xs: [string, string, string, Verdict | null][]) =>
  xs.map(([judgeId, candidateId, otherCandidateId, verdict]) =>
    judgementRow({ judgeId, mode: 'pairwise', candidateId, otherCandidateId, verdict }),
  );

const scoresOf = (r: ReturnType<typeof candidateScores>) => r.map((s) => s.score);

describe('candidateScores: pointwise judges', () => {
  test('the mean of the parsed samples; parse failures are skipped, never guessed', () => {
    const rows = samples(
      ['j1', 'c1', 4],
      ['j1', 'c1', null],
      ['j1', 'c1', 2],
      ['j1', 'c2', 5],
      ['j1', 'c3', null],
    );
    const r = candidateScores(storeOf(rows), cands, ['j1']);
    assert.deepEqual(scoresOf(r), [3, 5, null]);
    assert.deepEqual(
      r.map((s) => s.perJudge),
      [{ j1: 3 }, { j1: 5 }, {}],
    );
    assert.equal(r[0].candidate, cands[0]);
  });

  test('judges combine by their mean; judges the stage does not list are ignored', () => {
    const rows = samples(['j1', 'c1', 3], ['j2', 'c1', 5], ['j3', 'c1', 100], ['j2', 'c2', 1]);
    const r = candidateScores(storeOf(rows), cands, ['j1', 'j2']);
    assert.deepEqual(scoresOf(r), [4, 1, null]);
    assert.deepEqual(r[0].perJudge, { j1: 3, j2: 5 });
  });

  test('majority is the median of the judges: the middle one, or the mean of the middle two', () => {
    const rows = samples(
      ['j1', 'c1', 1],
      ['j2', 'c1', 4],
      ['j3', 'c1', 5],
      ['j1', 'c2', 2],
      ['j2', 'c2', 5],
      ['j1', 'c3', 9],
      ['j2', 'c3', 1],
      ['j3', 'c3', 6],
      ['j4', 'c3', 2],
    );
    const judges = ['j1', 'j2', 'j3', 'j4'];
    assert.deepEqual(
      scoresOf(candidateScores(storeOf(rows), cands, judges, 'majority')),
      [4, 3.5, 4],
    );
    assert.deepEqual(scoresOf(candidateScores(storeOf(rows), cands, judges, 'mean')), [
      10 / 3,
      3.5,
      4.5,
    ]);
  });
});

describe('candidateScores: pairwise judges', () => {
  // c1 beats c2 in both orders; c1 vs c3 flips with the order (a tie, ½ each); c2 vs c3 has one
  // order unparsed and the other missing, so it is no game at all
  const rows = verdicts(
    ['pw', 'c1', 'c2', 'A'],
    ['pw', 'c2', 'c1', 'B'],
    ['pw', 'c1', 'c3', 'A'],
    ['pw', 'c3', 'c1', 'A'],
    ['pw', 'c2', 'c3', null],
  );

  test('the share of comparisons won, counting only pairs judged in both orders', () => {
    const r = candidateScores(storeOf(rows), cands, ['pw']);
    assert.deepEqual(scoresOf(r), [0.75, 0, 0.5]);
    assert.deepEqual(r[1].perJudge, { pw: 0 });
  });

  test('a candidate in no complete game has no score', () => {
    const only = verdicts(
      ['pw', 'c1', 'c2', 'B'],
      ['pw', 'c2', 'c1', 'A'],
      ['pw', 'c2', 'c3', 'A'],
    );
    assert.deepEqual(scoresOf(candidateScores(storeOf(only), cands, ['pw'])), [0, 1, null]);
  });

  test('win shares combine with pointwise judges like any score', () => {
    const mixed = [...rows, ...samples(['j1', 'c1', 4.25], ['j1', 'c2', 1], ['j1', 'c3', 2])];
    const r = candidateScores(storeOf(mixed), cands, ['pw', 'j1']);
    assert.deepEqual(scoresOf(r), [2.5, 0.5, 1.25]);
  });
});

describe('candidateScores: judges on one scale', () => {
  test('each judge is put on [0, 1] by its range, then weighted; raw per-judge scores are kept', () => {
    // rubric judge on [1, 5], rule judge on [0, 1]; weights 3 and 1
    const rows = samples(
      ['rubric', 'c1', 5],
      ['rule', 'c1', 0],
      ['rubric', 'c2', 2],
      ['rule', 'c2', 1],
    );
    const mix = { scales: { rubric: [1, 5], rule: [0, 1] } as const, weights: { rubric: 3 } };
    const r = candidateScores(storeOf(rows), cands, ['rubric', 'rule'], 'mean', mix);
    // c1: rubric (5 − 1)/4 = 1, rule 0 -> (3·1 + 1·0)/4 = 0.75
    // c2: rubric (2 − 1)/4 = 0.25, rule 1 -> (3·0.25 + 1)/4 = 0.4375
    assert.deepEqual(scoresOf(r), [0.75, 0.4375, null]);
    assert.deepEqual(r[0].perJudge, { rubric: 5, rule: 0 });
    // unweighted, a 0–5 rubric no longer outweighs a 0–1 rule: c1 (1 + 0)/2, c2 (0.25 + 1)/2
    const even = candidateScores(storeOf(rows), cands, ['rubric', 'rule'], 'mean', {
      scales: mix.scales,
    });
    assert.deepEqual(scoresOf(even), [0.5, 0.625, null]);
    // a judge that did not score a candidate leaves the weights of the others
    const one = samples(['rubric', 'c1', 3]);
    assert.deepEqual(
      scoresOf(candidateScores(storeOf(one), cands, ['rubric', 'rule'], 'mean', mix)),
      [0.5, null, null],
    );
  });
});
