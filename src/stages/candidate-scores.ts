import type { RunStore } from '../store/run-store.js';
import type { CandidateRow, JudgementRow } from '../store/types.js';

export interface CandidateScore {
  candidate: CandidateRow;
  /** Combined over judges (on [0, 1] when `scales` are given); null when no judge scored it. */
  score: number | null;
  /** Per judge: mean parsed score (pointwise) or win share (pairwise), on the judge's own scale. */
  perJudge: Record<string, number>;
}

/** How several judges become one score: each judge's [lo, hi] and weight (default 1). */
export interface JudgeMix {
  scales: Readonly<Record<string, readonly [number, number]>>;
  weights?: Readonly<Record<string, number>>;
}

/**
 * One number per candidate from the stored judgements of `judges`: pointwise judges give the
 * mean of their parsed samples (failures are skipped, never guessed); pairwise judges give the
 * share of comparisons won, where a comparison counts only when both orders agree (otherwise a
 * tie, ½ each). Judges are combined by their mean; `majority` uses the median, which for
 * pairwise win shares is the majority verdict.
 *
 * With a `mix`, each judge's score is first put on one scale, s̃_j = (s_j − lo_j) / (hi_j − lo_j)
 * in [0, 1], so a 0–5 rubric and a 0–1 rule weigh alike, and `mean` is the weighted mean
 * Σ_j w_j·s̃_j / Σ_j w_j over the judges that scored the candidate (`majority`: the median of s̃).
 */
export function candidateScores(
  store: Pick<RunStore, 'judgementsForCandidate'>,
  cands: CandidateRow[],
  judges: string[],
  combine: 'mean' | 'majority' = 'mean',
  mix?: JudgeMix,
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
    const raw = perJudge.get(c.id)!;
    const judged = Object.keys(raw);
    const vals = judged.map((j) => (mix ? onUnitScale(raw[j], mix.scales[j], j) : raw[j]));
    const weights = judged.map((j) => mix?.weights?.[j] ?? 1);
    let score: number | null = null;
    if (vals.length) {
      if (combine === 'mean')
        score =
          vals.reduce((x, y, i) => x + y * weights[i], 0) / weights.reduce((x, y) => x + y, 0);
      else {
        const s = [...vals].sort((x, y) => x - y);
        score = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
      }
    }
    return { candidate: c, score, perJudge: perJudge.get(c.id)! };
  });
}

/** A judge's score put on [0, 1] by its range [lo, hi] (a JudgeMix scale): (v − lo) / (hi − lo). */
export function onUnitScale(
  v: number,
  scale: readonly [number, number] | undefined,
  judge: string,
): number {
  if (!scale) throw new Error(`no score scale for judge '${judge}'`);
  return (v - scale[0]) / (scale[1] - scale[0]);
}
