// Calibration pairs: what a judge said of each answer beside what an independent reference said
// of the same answer, both already on [0, 1] (the judge by its JudgeMix range, the reference by
// its own scale):
//
//   pairs = [ (s̃_i, r̃_i) for every answer i that both scored ]
//
// Parse failures (null on either side) are left out rather than guessed. Stored in the detail of
// the metric that compares the two (judge_agreement: the anchor; candidate_judge_accuracy: the
// sandbox grader), so the report can bin s̃ and plot the mean r̃ per bin without re-judging.

/** The stored shape: `judge` scored, `reference` is who it is checked against. */
export interface Calibration {
  judge: string;
  reference: string;
  pairs: [number, number][];
}

export function calibrationPairs(
  judged: readonly (number | null)[],
  reference: readonly (number | null)[],
): [number, number][] {
  const pairs: [number, number][] = [];
  judged.forEach((s, i) => {
    const r = reference[i];
    if (s !== null && r !== null && r !== undefined) pairs.push([s, r]);
  });
  return pairs;
}
