// Meta-Rewarding's judge preference (Wu et al. 2024, "Meta-Rewarding Language Models",
// arXiv 2407.19594, §2.2 "Meta-Judge Preference Creation"): the N judgements of one answer meet
// in pairwise battles the meta-judge decides, shown in both orders; the battles become an Elo
// score per judgement; the highest-Elo judgement is "chosen" and the lowest "rejected".
//
// Position bias (§2.2): a win counts by how rarely its slot wins. Over all the round's battles,
//   ω_first  = (battles won by the second slot) / (battles)     weight of a win shown first
//   ω_second = (battles won by the first slot)  / (battles)     weight of a win shown second
//   B[m][n]  = Σ over battles of m vs n that m won, of ω of the slot m was shown in
// so a meta-judge that always picks (A) gives every win weight 0 and no pair (an Elo tie).
//
// `battles: mean-probability` (ours, for small meta-judges with a strong slot preference, where
// the verdicts above are nearly all one letter and every Elo ties): each order shown contributes
// half a game split by the verdict probability, B[a][b] += P(A)/2 and B[b][a] += (1 − P(A))/2,
// so a pair judged in both orders adds p̄ = ½[P(i wins shown first) + P(i wins shown second)] to
// B[i][j] and 1 − p̄ to B[j][i]: a constant slot preference cancels in p̄.
//
// Elo by maximum likelihood (Bradley–Terry, the form the paper writes):
//   ε = argmax_ε Σ_{m≠n} B[m][n] · log σ(ε_m − ε_n)  −  (λ/2) Σ_m ε_m²
// The small ridge λ keeps ε finite when one judgement wins every battle (the unpenalised
// maximum is then at infinity) and fixes the additive constant; λ = 0 gives the plain MLE
// (ε_1 − ε_2 = ln(B[1][2] / B[2][1]) for two judgements). Reported in Elo points:
//   elo_m = 1000 + (400 / ln 10) · ε_m.
// The objective is concave, so plain gradient ascent with step 1/L (L bounds the Hessian by
// Gershgorin) converges from ε = 0, deterministically.
//
// Selection (§2.2 and the brief): skip an answer whose judgements all give the same score (no
// disagreement to learn from) and a pair whose Elo scores tie. Judge length control: the
// meta-judge, like the judge, drifts towards longer texts; the paper controls judgement length
// when building judge pairs. We use the simplest form of that rule: drop (keep stored, do not
// train on) a pair whose chosen judgement is longer, in characters, than its rejected one.

export interface Battle {
  /** Index of the judgement shown as (A). */
  a: number;
  /** Index of the judgement shown as (B). */
  b: number;
  verdict: 'A' | 'B';
  /** P(A) over the two verdict letters. */
  pA: number;
}

export interface SlotWeights {
  /** ω of a win by the judgement shown first, as (A). */
  first: number;
  /** ω of a win by the judgement shown second, as (B). */
  second: number;
}

/** The paper's position weights over every battle of the round (equal weights when none). */
export function positionWeights(verdicts: readonly ('A' | 'B')[]): SlotWeights {
  if (verdicts.length === 0) return { first: 0.5, second: 0.5 };
  const firstWins = verdicts.filter((v) => v === 'A').length;
  return {
    first: (verdicts.length - firstWins) / verdicts.length,
    second: firstWins / verdicts.length,
  };
}

/** B[m][n]: the weighted wins of judgement m over judgement n. */
export function battleMatrix(k: number, battles: readonly Battle[], w: SlotWeights): number[][] {
  const B = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (const { a, b, verdict } of battles) {
    if (verdict === 'A') B[a][b] += w.first;
    else B[b][a] += w.second;
  }
  return B;
}

/** B[m][n] from the verdict probabilities: each order shown is half a game (see the header). */
export function probabilityMatrix(k: number, battles: readonly Battle[]): number[][] {
  const B = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (const { a, b, pA } of battles) {
    B[a][b] += pA / 2;
    B[b][a] += (1 - pA) / 2;
  }
  return B;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
/** Elo points per unit of log-odds strength. */
export const ELO_PER_LOGIT = 400 / Math.LN10;

/** The ridge-penalised Bradley–Terry maximum likelihood strengths, as Elo points. */
export function eloScores(
  B: readonly (readonly number[])[],
  { lambda = 0.01, tolerance = 1e-10, maxIterations = 100_000 } = {},
): number[] {
  const k = B.length;
  const eps = new Array<number>(k).fill(0);
  const games = B.map((row, m) => row.reduce((s, bmn, n) => s + bmn + B[n][m], 0));
  const L = Math.max(...games, 0) / 2 + lambda;
  if (L === 0) return eps.map(() => 1000);
  for (let it = 0; it < maxIterations; it++) {
    const grad = eps.map((em, m) => {
      let g = -lambda * em;
      for (let n = 0; n < k; n++) {
        if (n === m) continue;
        // d/dε_m of B_mn log σ(ε_m − ε_n) + B_nm log σ(ε_n − ε_m)
        g += B[m][n] * sigmoid(eps[n] - em) - B[n][m] * sigmoid(em - eps[n]);
      }
      return g;
    });
    if (Math.max(...grad.map(Math.abs)) < tolerance) break;
    for (let m = 0; m < k; m++) eps[m] += grad[m] / L;
  }
  // without a ridge only differences are identified: centre them so the scale reads the same
  const mean = eps.reduce((s, e) => s + e, 0) / k;
  return eps.map((e) => 1000 + ELO_PER_LOGIT * (e - mean));
}

/** What selection needs of one judgement. */
export interface JudgementInfo {
  score: number;
  /** The judgement text's length in characters. */
  length: number;
}

export type JudgePairChoice =
  | { kind: 'pair'; chosen: number; rejected: number; dropped: 'length' | null }
  | { kind: 'skip'; reason: 'same_score' | 'elo_tie' | 'too_few' };

/** Elo scores closer than this (in Elo points) are a tie. */
export const ELO_TIE = 1e-6;

/** The judge pair of one answer: chosen = highest Elo, rejected = lowest (first index on ties). */
export function chooseJudgePair(
  judgements: readonly JudgementInfo[],
  elo: readonly number[],
  { lengthControl }: { lengthControl: boolean },
): JudgePairChoice {
  if (judgements.length < 2) return { kind: 'skip', reason: 'too_few' };
  if (judgements.every((j) => j.score === judgements[0].score))
    return { kind: 'skip', reason: 'same_score' };
  let chosen = 0;
  let rejected = 0;
  elo.forEach((e, i) => {
    if (e > elo[chosen]) chosen = i;
    if (e < elo[rejected]) rejected = i;
  });
  if (elo[chosen] - elo[rejected] < ELO_TIE) return { kind: 'skip', reason: 'elo_tie' };
  const longer = judgements[chosen].length > judgements[rejected].length;
  return { kind: 'pair', chosen, rejected, dropped: lengthControl && longer ? 'length' : null };
}

/** Every unordered pair (i < j) of k judgements in order, at most `max` of them. */
export function battlePairs(k: number, max?: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) out.push([i, j]);
  return max === undefined ? out : out.slice(0, max);
}

/** Population variance of the scores (0 for fewer than two). */
export function scoreVariance(scores: readonly number[]): number {
  if (scores.length < 2) return 0;
  const mean = scores.reduce((s, x) => s + x, 0) / scores.length;
  return scores.reduce((s, x) => s + (x - mean) ** 2, 0) / scores.length;
}
