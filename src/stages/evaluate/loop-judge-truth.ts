import { promptText } from '../../judges/model-judge.js';
import { gradeAnswer, MAX_POINTS } from '../../sandbox/index.js';
import type { JudgeStageSpec } from '../../spec/schema.js';
import { candidateScores } from '../candidate-scores.js';
import type { RunContext } from '../context.js';
import { judgeMix } from '../judge-mix.js';
import type { MetricLog } from './metric-log.js';
import { calibrationPairs, type Calibration } from './metrics/calibration.js';
import { judgeAccuracy, type JudgedItem } from './metrics/judge-accuracy.js';
import { pairAccuracy, type GradedPair } from './metrics/pair-accuracy.js';

/**
 * The round's own judging against the sandbox grader (round r ≥ 1: the judgements were made by
 * the round-start policy M_{r−1} before it trained): `candidate_judge_accuracy` orders the
 * round's candidates by the judge stage's combined score (judge-accuracy.ts, one task per prompt;
 * its detail keeps that 0–1 score beside points / MAX_POINTS of every candidate, the report's
 * calibration curve), `pair_accuracy` grades the pairs kept for training (pair-accuracy.ts).
 * Prompts that are not sandbox tasks are left out; nothing is recorded when none is.
 */
export function recordLoopJudgeTruth(
  ctx: RunContext,
  log: MetricLog,
  round: number,
  judgeStage: JudgeStageSpec | undefined,
): void {
  if (round === 0 || !judgeStage) return;
  const { store } = ctx;
  const items: JudgedItem[] = [];
  const truthOf = new Map<string, number>();
  const mix = judgeMix(ctx, judgeStage);
  for (const p of store.promptsForRound(round)) {
    if (p.source === 'probe') continue;
    const prompt = promptText(p.messages);
    if (!gradeAnswer(prompt, '')) continue;
    const cands = store.candidatesForPrompt(round, p.id);
    for (const s of candidateScores(store, cands, judgeStage.judges, judgeStage.combine, mix)) {
      const truth = gradeAnswer(prompt, s.candidate.text)!.points;
      truthOf.set(s.candidate.id, truth);
      items.push({ task: p.id, truth, score: s.score });
    }
  }
  if (items.length === 0) return;
  const acc = judgeAccuracy(items);
  const calibration: Calibration = {
    judge: judgeStage.judges.join('+'),
    reference: 'grader',
    pairs: calibrationPairs(
      items.map((i) => i.score),
      items.map((i) => i.truth / MAX_POINTS),
    ),
  };
  const detail = { ...acc, candidates: items.length, calibration };
  log.record('candidate_judge_accuracy', acc.accuracy, detail);
  const graded: GradedPair[] = store.pairsForRound(round).flatMap((pair) => {
    const chosen = truthOf.get(pair.chosenCandidateId);
    const rejected = truthOf.get(pair.rejectedCandidateId);
    return chosen === undefined || rejected === undefined ? [] : [{ chosen, rejected }];
  });
  const pairs = pairAccuracy(graded);
  log.record('pair_accuracy', pairs.accuracy, { ...pairs });
}
