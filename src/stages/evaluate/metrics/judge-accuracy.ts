// `judge_accuracy`: how often the policy, as its own judge, orders two answers to one task the
// way the sandbox grader does. Over every pair (a, b) of answers to the same calibration task
// whose true points differ,
//
//   acc = (1/|Pairs|) Σ_{(a,b)} [ 1 if sign(s(a) − s(b)) = sign(g(a) − g(b))
//                                 ½ if s(a) = s(b), or either judgement did not parse
//                                 0 otherwise ]
//
// with s the judge's score and g the grader's points. Pairwise, because a preference loop only
// ever uses the judge to order answers (the pairs DPO trains on); a constant judge scores ½, a
// perfect one 1. This is the ranking accuracy reward-model papers report (e.g. RewardBench,
// Lambert et al. 2024), with ties counted half as in win rates.

export interface JudgedItem {
  task: string;
  truth: number;
  /** null: the judgement did not parse. */
  score: number | null;
}

export interface JudgeAccuracy {
  accuracy: number;
  pairs: number;
  agree: number;
  ties: number;
  disagree: number;
}

export function judgeAccuracy(items: readonly JudgedItem[]): JudgeAccuracy {
  const byTask = new Map<string, JudgedItem[]>();
  for (const it of items) byTask.set(it.task, [...(byTask.get(it.task) ?? []), it]);
  let agree = 0;
  let ties = 0;
  let disagree = 0;
  for (const group of byTask.values())
    for (let i = 0; i < group.length; i++)
      for (let j = i + 1; j < group.length; j++) {
        const [a, b] = [group[i], group[j]];
        if (a.truth === b.truth) continue;
        if (a.score === null || b.score === null || a.score === b.score) ties++;
        else if (a.score > b.score === a.truth > b.truth) agree++;
        else disagree++;
      }
  const pairs = agree + ties + disagree;
  return { accuracy: pairs ? (agree + ties / 2) / pairs : NaN, pairs, agree, ties, disagree };
}
