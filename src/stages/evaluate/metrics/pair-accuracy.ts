// `pair_accuracy`: how often a preference pair the loop trained on points the way the sandbox
// grader does. Over the round's kept pairs P whose prompt is a sandbox task,
//
//   pair_accuracy = (1/|P|) Σ_{(c, r) ∈ P} [ 1 if g(c) > g(r),  ½ if g(c) = g(r),  0 otherwise ]
//
// with g the grader's points of the chosen (c) and rejected (r) answers. It is the label accuracy
// of the training data itself, which is what a judge's errors cost a preference loop (Self-
// Rewarding LMs, Yuan et al. 2024, §3.3 measure their judge the same way, against human labels).
// Ties count half, as in win rates: a pair the grader cannot tell apart teaches nothing true.

export interface GradedPair {
  chosen: number;
  rejected: number;
}

export interface PairAccuracy {
  accuracy: number;
  pairs: number;
  right: number;
  ties: number;
  wrong: number;
}

export function pairAccuracy(pairs: readonly GradedPair[]): PairAccuracy {
  const right = pairs.filter((p) => p.chosen > p.rejected).length;
  const ties = pairs.filter((p) => p.chosen === p.rejected).length;
  const wrong = pairs.length - right - ties;
  const accuracy = pairs.length ? (right + ties / 2) / pairs.length : NaN;
  return { accuracy, pairs: pairs.length, right, ties, wrong };
}
