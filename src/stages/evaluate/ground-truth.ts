import { Rng } from '../../core/rng.js';
import type { ModelEngine } from '../../engine/index.js';
import { judgeByGeneration, promptText } from '../../judges/model-judge.js';
import { loadRubric, type Rubric } from '../../prompts/rubric.js';
import { gradeAnswer, MAX_POINTS, mixedAnswers, sampleTasks } from '../../sandbox/index.js';
import type { EvaluateStageSpec, JudgeStageSpec } from '../../spec/schema.js';
import type { RunContext } from '../context.js';
import type { AnchorVerdicts } from './anchor-judge.js';
import type { MetricLog } from './metric-log.js';
import { judgeAccuracy, type JudgedItem } from './metrics/judge-accuracy.js';
import { rewardGap } from './metrics/reward-gap.js';
import { trueScore } from './metrics/true-score.js';
import { recordLoopJudgeTruth } from './loop-judge-truth.js';
import type { ProbeAnswer } from './probe-answers.js';

/** Calibration tasks drawn (answers of distinct true points each); repeats of a prompt are
 *  dropped, so the small families' few held-out prompts are not counted twice (48 draws hold
 *  34 distinct tasks for seed 1234, about 100 answer pairs). 16 draws held about 40 pairs, too
 *  few: the shipped sandbox model measured 0.67 on them and 0.73 on 144 pairs of 48 tasks. */
export const CALIBRATION_TASKS = 48;
const ANSWERS_PER_TASK = 3;

/**
 * `ground_truth: sandbox` (step 6): `true_score` of the probe answers by the sandbox grader,
 * `reward_gap` against round 0, the round's own judging against the grader
 * (`candidate_judge_accuracy`, `pair_accuracy`: loop-judge-truth.ts), and `judge_accuracy` of the
 * policy as its own judge on a fixed calibration set drawn from the world's held-out split (the
 * same every round, from the pipeline seed), so each round's judge is measured on the same answers.
 */
export async function recordGroundTruth(
  ctx: RunContext,
  log: MetricLog,
  g: {
    spec: EvaluateStageSpec;
    judgeStage: JudgeStageSpec | undefined;
    round: number;
    answers: readonly ProbeAnswer[];
    anchor: AnchorVerdicts;
    engine: ModelEngine;
  },
): Promise<void> {
  const graded = g.answers.flatMap(({ probe, cand }) => {
    const grade = gradeAnswer(promptText(probe.messages), cand.text);
    return grade ? [{ probe: probe.id, points: grade.points, reason: grade.reason }] : [];
  });
  const truth = trueScore(
    graded.map((x) => x.points),
    MAX_POINTS,
  );
  log.record('true_score', truth, { graded, probes: g.answers.length });
  recordRewardGap(log, g.anchor, truth, g.round);
  recordLoopJudgeTruth(ctx, log, g.round, g.judgeStage);
  const rubricPath = g.spec.rubric ?? g.judgeStage?.rubric;
  if (!rubricPath) return;
  const rubric = loadRubric(ctx.path(rubricPath));
  if (rubric.format.kind !== 'score') return;
  const items = await calibrationJudgements(ctx, g.engine, rubric, g.judgeStage?.max_new_tokens);
  if (!items) return;
  const acc = judgeAccuracy(items);
  log.record('judge_accuracy', acc.accuracy, {
    ...acc,
    rubric: rubricPath,
    parse_failures: items.filter((i) => i.score === null).length,
    items,
  });
}

function recordRewardGap(log: MetricLog, anchor: AnchorVerdicts, truth: number, round: number) {
  const judged0 = log.atRound0('mean_score');
  const truth0 = log.atRound0('true_score');
  const now = log.values.mean_score;
  if (round === 0 || judged0?.value == null || truth0?.value == null || now === undefined) return;
  const scale = anchor.rubric?.scale ?? [0, 1];
  const scale0 = (judged0.detail?.scale as [number, number] | undefined) ?? scale;
  const gap = rewardGap(
    { now: { value: now, scale }, round0: { value: judged0.value, scale: scale0 } },
    { now: truth, round0: truth0.value },
  );
  log.record('reward_gap', gap, { judged: [judged0.value, now], truth: [truth0.value, truth] });
}

/** The policy judges the calibration answers greedily with the rubric; undefined if stopped. */
async function calibrationJudgements(
  ctx: RunContext,
  engine: ModelEngine,
  rubric: Rubric,
  maxNewTokens = 64,
): Promise<JudgedItem[] | undefined> {
  const items: JudgedItem[] = [];
  const tasks = sampleTasks(ctx.spec.seed, CALIBRATION_TASKS, { split: 'probe' });
  const distinct = [...new Map(tasks.map((t) => [t.id, t])).values()];
  for (const task of distinct) {
    const rng = new Rng(ctx.seedFor('calibration', task.id));
    const seen = new Set<number>();
    const picks = mixedAnswers(task, rng).filter(({ grade }) => {
      if (seen.has(grade.points) || seen.size >= ANSWERS_PER_TASK) return false;
      seen.add(grade.points);
      return true;
    });
    for (const { answer, grade } of picks) {
      if (ctx.stopped) return undefined;
      const vars = { prompt: task.prompt, response: answer };
      const sampling = { temperature: 0, max_new_tokens: maxNewTokens };
      const r = await judgeByGeneration(engine, rubric, vars, 1, sampling, 0);
      items.push({ task: task.id, truth: grade.points, score: r.samples[0].score });
    }
  }
  return items;
}
