// `win_rate` and `tie_rate`: the current policy's probe answers against round 0's answers to the
// same probes, by the anchor judge's scores of each (not a pairwise verdict: two pointwise scores).
//
//   w = |{ p : s_r(p) > s_0(p) }|     l = |{ p : s_r(p) < s_0(p) }|     t = |{ p : s_r(p) = s_0(p) }|
//   win_rate = (w + t/2) / (w + l + t)        tie_rate = t / (w + l + t)        (NaN when w+l+t = 0)
//
// over probes scored in both rounds. Ties count half, the usual convention for win rates (e.g.
// AlpacaEval, Li et al. 2023, where a draw is half a win).

export interface WinRate {
  wins: number;
  losses: number;
  ties: number;
  winRate: number;
  tieRate: number;
}

/** `now` and `before` map probe id -> anchor score (null: the judge's output did not parse). */
export function winRate(
  now: ReadonlyMap<string, number | null>,
  before: Readonly<Record<string, number | null>>,
): WinRate {
  let wins = 0;
  let losses = 0;
  let ties = 0;
  for (const [id, s] of now) {
    const b = before[id];
    if (s === null || b === null || b === undefined) continue;
    if (s > b) wins++;
    else if (s < b) losses++;
    else ties++;
  }
  const n = wins + losses + ties;
  return {
    wins,
    losses,
    ties,
    winRate: n ? (wins + ties / 2) / n : NaN,
    tieRate: n ? ties / n : NaN,
  };
}
