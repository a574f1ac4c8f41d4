import type { RunStore } from '../store/run-store.js';
import type { CandidateRow, JudgementRow } from '../store/types.js';

export interface CandidateScore {
  candidate: CandidateRow;
  /** Combined over judges; null when no judge produced a usable score. */
  score: number | null;
  /** Per judge: mean parsed score (pointwise) or win share (pairwise). */
  perJudge: Record<string, number>;
}

/**
 * One number per candidate from the stored judgements of `judges`: pointwise judges give the
 * mean of their parsed samples (failures are skipped, never guessed); pairwise judges give the
 * share of comparisons won, where a comparison counts only when both orders agree (otherwise a
 * tie, ½ each). Judges are combined by their mean; `majority` uses the median, which for
 * pairwise win shares is the majority verdict.
 */
export function candidateScores(
  store: Pick<RunStore, 'judgementsForCandidate'>,
  cands: CandidateRow[],
  judges: string[],
  combine: 'mean' | 'majority' = 'mean',
): CandidateScore[] {
  const byCand = new Map(cands.map((c) => [c.id, store.judgementsForCandidate(c.id)]));
  const perJudge = new Map<string, Record<string, number>>(cands.map((c) => [c.id, {}]));
  for (const judge of judges) {
    const js: JudgementRow[] = [
      ...new Map(
        cands
          .flatMap((c) => byCand.get(c.id)!)
          .filter((j) => j.judgeId === judge)
          .map((j) => [j.id, j]),
      ).values(),
    ];
    const pairwise = js.filter((j) => j.mode === 'pairwise');
    if (pairwise.length) {
      const wins = new Map<string, number>();
      const games = new Map<string, number>();
      const byKey = new Map<string, JudgementRow>();
      for (const j of pairwise) byKey.set(`${j.candidateId}|${j.otherCandidateId}`, j);
      for (const j of pairwise) {
        const a = j.candidateId;
        const b = j.otherCandidateId!;
        if (a > b) continue; // visit each unordered pair once, from its (a < b) order
        const back = byKey.get(`${b}|${a}`);
        if (!j.verdict || !back?.verdict) continue;
        const winner =
          j.verdict === 'A' && back.verdict === 'B'
            ? a
            : j.verdict === 'B' && back.verdict === 'A'
              ? b
              : undefined;
        for (const c of [a, b]) {
          games.set(c, (games.get(c) ?? 0) + 1);
          wins.set(c, (wins.get(c) ?? 0) + (winner === undefined ? 0.5 : winner === c ? 1 : 0));
        }
      }
      for (const c of cands)
        if (games.get(c.id)) perJudge.get(c.id)![judge] = wins.get(c.id)! / games.get(c.id)!;
      continue;
    }
    for (const c of cands) {
      const scores = byCand
        .get(c.id)!
        .filter((j) => j.judgeId === judge && j.score !== null)
        .map((j) => j.score!);
      if (scores.length)
        perJudge.get(c.id)![judge] = scores.reduce((x, y) => x + y, 0) / scores.length;
    }
  }
  return cands.map((c) => {
    const vals = Object.values(perJudge.get(c.id)!);
    let score: number | null = null;
    if (vals.length) {
      if (combine === 'mean') score = vals.reduce((x, y) => x + y, 0) / vals.length;
      else {
        const s = [...vals].sort((x, y) => x - y);
        score = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
      }
    }
    return { candidate: c, score, perJudge: perJudge.get(c.id)! };
  });
}
