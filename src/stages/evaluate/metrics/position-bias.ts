// `position_bias`: how often a pairwise judge's verdict follows the order the answers were shown
// in rather than the answers. Every pair of answers (a, b) is judged in both orders; over the
// comparisons C where both verdicts parsed,
//
//   position_bias = (1/|C|) Σ_{c ∈ C} [ v(a, b) = v(b, a) ∈ {A, B} ]
//
// i.e. the same slot won both times, so the verdict was the slot, not the answer (Zheng et al.
// 2023, "Judging LLM-as-a-Judge", §3.3 measure position bias as this inconsistency under a
// swap). A consistent judge scores 0, a judge that always answers (A) scores 1, a coin 0.5.
// Verdicts of ties, when a rubric allows them, are neither consistent nor positional.

export type SlotVerdict = 'A' | 'B' | 'tie' | null;

export interface PositionBias {
  bias: number;
  comparisons: number;
  /** Same slot both times. */
  positional: number;
  /** The same answer won in both orders. */
  consistent: number;
  /** Share of all parsed verdicts that chose the first slot, (A). */
  first_slot_rate: number;
}

/** `pairs`: the verdict with a shown first and the verdict with b shown first. */
export function positionBias(pairs: readonly [SlotVerdict, SlotVerdict][]): PositionBias {
  const parsed = pairs.filter(([x, y]) => x !== null && y !== null);
  const positional = parsed.filter(([x, y]) => x === y && x !== 'tie').length;
  const consistent = parsed.filter(
    ([x, y]) => (x === 'A' && y === 'B') || (x === 'B' && y === 'A'),
  ).length;
  const verdicts = pairs.flat().filter((v) => v !== null);
  return {
    bias: parsed.length ? positional / parsed.length : NaN,
    comparisons: parsed.length,
    positional,
    consistent,
    first_slot_rate: verdicts.length
      ? verdicts.filter((v) => v === 'A').length / verdicts.length
      : NaN,
  };
}
