// How far a judge can be trusted, measured against another judge or against itself (issue 16).
// Each statistic takes two score lists over the same items, index by index; null is a judgement
// that did not parse.
//
// Kendall's τ-b (Kendall 1945; the statistic scipy.stats.kendalltau computes by default), over the
// items both judges scored, with n_c / n_d the concordant / discordant pairs, n_0 = n(n−1)/2, and
// n_1 / n_2 the pairs tied in x / in y:
//
//   τ_b = (n_c − n_d) / √((n_0 − n_1)(n_0 − n_2))            (NaN when either list is constant)
//
// Pairwise agreement of a judge y with a reference x: over the pairs the reference orders
// strictly, the share the judge orders the same way, a tie or an unparsed judgement counting ½
// (as judge_accuracy and win rates do): what a preference loop would get from y instead of x.
//
//   agree = (1/|O|) Σ_{(i,j) ∈ O} [ 1 if sign(y_i − y_j) = sign(x_i − x_j),  ½ if y_i = y_j ]
//
// Mutual agreement of two peer judges (neither is the reference): over the pairs at least one of
// them orders strictly, 1 when both order it the same way, ½ when one ties it (or did not parse),
// 0 when they order it oppositely. Symmetric in x and y.
//
// Score drift of a judge re-scoring fixed answers, on its rubric's scale [lo, hi]:
//
//   drift = (1/|B|) Σ_{i ∈ B} |y_i − x_i| / (hi − lo)      B: the items scored both times
//
// Flip rate: over the pairs the earlier judgement x ordered strictly, the share the later y
// orders the other way (a tie is not a flip): how often re-judging would reverse a training pair.

type Scores = readonly (number | null)[];

function checkSameLength(x: Scores, y: Scores): void {
  if (x.length !== y.length)
    throw new Error(`score lists differ in length: ${x.length} vs ${y.length}`);
}

export function kendallTauB(x: Scores, y: Scores): number {
  checkSameLength(x, y);
  const both = x.flatMap((xi, i) => (xi !== null && y[i] !== null ? [[xi, y[i]!]] : []));
  let concordant = 0;
  let discordant = 0;
  let tiesX = 0;
  let tiesY = 0;
  for (let i = 0; i < both.length; i++)
    for (let j = i + 1; j < both.length; j++) {
      const dx = Math.sign(both[i][0] - both[j][0]);
      const dy = Math.sign(both[i][1] - both[j][1]);
      if (dx === 0) tiesX++;
      if (dy === 0) tiesY++;
      if (dx !== 0 && dy !== 0) {
        if (dx === dy) concordant++;
        else discordant++;
      }
    }
  const n0 = (both.length * (both.length - 1)) / 2;
  const denominator = Math.sqrt((n0 - tiesX) * (n0 - tiesY));
  return denominator > 0 ? (concordant - discordant) / denominator : NaN;
}

export interface PairwiseAgreement {
  agreement: number;
  pairs: number;
  agree: number;
  ties: number;
  disagree: number;
}

export function pairwiseAgreement(reference: Scores, judge: Scores): PairwiseAgreement {
  checkSameLength(reference, judge);
  let agree = 0;
  let ties = 0;
  let disagree = 0;
  for (let i = 0; i < reference.length; i++)
    for (let j = i + 1; j < reference.length; j++) {
      const [ri, rj, yi, yj] = [reference[i], reference[j], judge[i], judge[j]];
      if (ri === null || rj === null || ri === rj) continue;
      if (yi === null || yj === null || yi === yj) ties++;
      else if (yi > yj === ri > rj) agree++;
      else disagree++;
    }
  const pairs = agree + ties + disagree;
  return { agreement: pairs ? (agree + ties / 2) / pairs : NaN, pairs, agree, ties, disagree };
}

export function mutualAgreement(x: Scores, y: Scores): PairwiseAgreement {
  checkSameLength(x, y);
  let agree = 0;
  let ties = 0;
  let disagree = 0;
  const sign = (a: number | null, b: number | null) =>
    a === null || b === null ? 0 : Math.sign(a - b);
  for (let i = 0; i < x.length; i++)
    for (let j = i + 1; j < x.length; j++) {
      const [dx, dy] = [sign(x[i], x[j]), sign(y[i], y[j])];
      if (dx === 0 && dy === 0) continue;
      if (dx === 0 || dy === 0) ties++;
      else if (dx === dy) agree++;
      else disagree++;
    }
  const pairs = agree + ties + disagree;
  return { agreement: pairs ? (agree + ties / 2) / pairs : NaN, pairs, agree, ties, disagree };
}

export function scoreDrift(
  before: Scores,
  after: Scores,
  scale: readonly [number, number],
): number {
  checkSameLength(before, after);
  const span = scale[1] - scale[0];
  const moves = before.flatMap((b, i) =>
    b !== null && after[i] !== null ? [Math.abs(after[i]! - b) / span] : [],
  );
  return moves.length ? moves.reduce((a, m) => a + m, 0) / moves.length : NaN;
}

export function flipRate(before: Scores, after: Scores): number {
  checkSameLength(before, after);
  let ordered = 0;
  let flipped = 0;
  for (let i = 0; i < before.length; i++)
    for (let j = i + 1; j < before.length; j++) {
      const [bi, bj, ai, aj] = [before[i], before[j], after[i], after[j]];
      if (bi === null || bj === null || bi === bj) continue;
      ordered++;
      if (ai !== null && aj !== null && ai !== aj && ai > aj !== bi > bj) flipped++;
    }
  return ordered ? flipped / ordered : NaN;
}
