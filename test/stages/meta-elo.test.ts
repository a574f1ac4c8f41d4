// Meta-Rewarding's Elo and judge-pair selection (src/stages/judge/meta-elo.ts) against values
// worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ELO_PER_LOGIT,
  battleMatrix,
  battlePairs,
  chooseJudgePair,
  eloScores,
  positionWeights,
  probabilityMatrix,
  scoreVariance,
  type Battle,
} from '../../src/stages/judge/meta-elo.js';

const close = (a: number, b: number, tol = 1e-6) =>
  assert.ok(Math.abs(a - b) < tol, `${a} is not within ${tol} of ${b}`);

test('meta-elo: position weights count a win by how rarely its slot wins', () => {
  // 3 of 4 battles won by (A): a win shown first weighs 1/4, a win shown second 3/4
  assert.deepEqual(positionWeights(['A', 'A', 'A', 'B']), { first: 0.25, second: 0.75 });
  assert.deepEqual(positionWeights(['A', 'B']), { first: 0.5, second: 0.5 });
  assert.deepEqual(positionWeights([]), { first: 0.5, second: 0.5 });
  // a meta-judge that always says (A) gives every win weight 0
  assert.deepEqual(positionWeights(['A', 'A']), { first: 0, second: 1 });
});

test('meta-elo: the battle matrix adds the weight of the slot each win came from', () => {
  const battles: Battle[] = [
    { a: 0, b: 1, verdict: 'A', pA: 0.9 }, // 0 beats 1 shown first: +0.25 to B[0][1]
    { a: 1, b: 0, verdict: 'B', pA: 0.3 }, // 0 beats 1 shown second: +0.75 to B[0][1]
    { a: 0, b: 2, verdict: 'A', pA: 0.6 }, // 0 beats 2 shown first: +0.25
    { a: 2, b: 0, verdict: 'A', pA: 0.8 }, // 2 beats 0 shown first: +0.25 to B[2][0]
  ];
  const w = positionWeights(battles.map((b) => b.verdict));
  assert.deepEqual(w, { first: 0.25, second: 0.75 });
  assert.deepEqual(battleMatrix(3, battles, w), [
    [0, 1, 0.25],
    [0, 0, 0],
    [0.25, 0, 0],
  ]);
});

test('meta-elo: mean-probability battles split each order as half a game by P(A)', () => {
  const battles: Battle[] = [
    { a: 0, b: 1, verdict: 'B', pA: 0.4 }, // 0 shown first: B[0][1] += 0.2, B[1][0] += 0.3
    { a: 1, b: 0, verdict: 'B', pA: 0.2 }, // 0 shown second: B[0][1] += 0.4, B[1][0] += 0.1
  ];
  // a meta-judge that always says (B) still prefers 0: p̄ = ½(0.4 + 0.8) = 0.6
  const B = probabilityMatrix(2, battles);
  close(B[0][1], 0.6);
  close(B[1][0], 0.4);
  // the position-weighted rule: every battle went to slot B, so a B win weighs 0: an exact tie
  const w = positionWeights(battles.map((b) => b.verdict));
  assert.deepEqual(w, { first: 1, second: 0 });
  assert.deepEqual(battleMatrix(2, battles, w), [
    [0, 0],
    [0, 0],
  ]);
  // no ridge: Elo gap 400·log10(0.6 / 0.4) = 70.437
  const elo = eloScores(B, { lambda: 0 });
  close(elo[0] - elo[1], 400 * Math.log10(1.5), 1e-4);
});

test('meta-elo: two judgements, no ridge: the Elo gap is 400·log10(B12/B21)', () => {
  // maximise 3·log σ(d) + 1·log σ(−d): σ(d) = 3/4, d = ln 3, 400·log10(3) = 190.85 Elo points
  const elo = eloScores(
    [
      [0, 3],
      [1, 0],
    ],
    { lambda: 0 },
  );
  close(elo[0] - elo[1], 400 * Math.log10(3), 1e-4);
  close(elo[0] - elo[1], 190.848501, 1e-4);
  close((elo[0] + elo[1]) / 2, 1000); // centred
});

test('meta-elo: three judgements in a cycle tie; a clean order ranks them', () => {
  const cycle = eloScores([
    [0, 1, 0],
    [0, 0, 1],
    [1, 0, 0],
  ]);
  close(cycle[0], 1000);
  close(cycle[1], 1000);
  close(cycle[2], 1000);
  // 0 beats 1 and 2, 1 beats 2: with the ridge the MLE is finite and ordered
  const order = eloScores([
    [0, 1, 1],
    [0, 0, 1],
    [0, 0, 0],
  ]);
  assert.ok(order[0] > order[1] && order[1] > order[2], String(order));
  // by symmetry the middle one sits at the centre
  close(order[1], 1000, 1e-6);
  // the ridge's stationarity for judgement 0: σ(ε1−ε0) + σ(ε2−ε0) = λ·ε0 (λ = 0.01)
  const eps = order.map((e) => (e - 1000) / ELO_PER_LOGIT);
  const s = (x: number) => 1 / (1 + Math.exp(-x));
  close(s(eps[1] - eps[0]) + s(eps[2] - eps[0]), 0.01 * eps[0], 1e-8);
});

test('meta-elo: no battles with weight leave every judgement at 1000 (an Elo tie)', () => {
  assert.deepEqual(
    eloScores([
      [0, 0],
      [0, 0],
    ]),
    [1000, 1000],
  );
});

test('meta-elo: chosen = highest Elo, rejected = lowest; ties and equal scores are skipped', () => {
  const js = [
    { score: 4, length: 30 },
    { score: 2, length: 50 },
    { score: 4, length: 40 },
  ];
  assert.deepEqual(chooseJudgePair(js, [1100, 900, 1000], { lengthControl: true }), {
    kind: 'pair',
    chosen: 0,
    rejected: 1,
    dropped: null,
  });
  // the chosen judgement (50 chars) is longer than the rejected (30): dropped by length control
  assert.deepEqual(chooseJudgePair(js, [900, 1100, 1000], { lengthControl: true }), {
    kind: 'pair',
    chosen: 1,
    rejected: 0,
    dropped: 'length',
  });
  assert.deepEqual(chooseJudgePair(js, [900, 1100, 1000], { lengthControl: false }), {
    kind: 'pair',
    chosen: 1,
    rejected: 0,
    dropped: null,
  });
  assert.deepEqual(chooseJudgePair(js, [1000, 1000, 1000], { lengthControl: true }), {
    kind: 'skip',
    reason: 'elo_tie',
  });
  const same = js.map((j) => ({ ...j, score: 3 }));
  assert.deepEqual(chooseJudgePair(same, [1100, 900, 1000], { lengthControl: true }), {
    kind: 'skip',
    reason: 'same_score',
  });
  assert.deepEqual(chooseJudgePair(js.slice(0, 1), [1000], { lengthControl: true }), {
    kind: 'skip',
    reason: 'too_few',
  });
});

test('meta-elo: battle pairs and score variance', () => {
  assert.deepEqual(battlePairs(3), [
    [0, 1],
    [0, 2],
    [1, 2],
  ]);
  assert.deepEqual(battlePairs(4, 2), [
    [0, 1],
    [0, 2],
  ]);
  // scores 1, 2, 3: mean 2, variance (1 + 0 + 1) / 3
  close(scoreVariance([1, 2, 3]), 2 / 3);
  assert.equal(scoreVariance([5]), 0);
});
