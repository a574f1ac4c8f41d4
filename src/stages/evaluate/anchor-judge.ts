import PQueue from 'p-queue';
import { loadRubric, type Rubric } from '../../prompts/rubric.js';
import type { EvaluateStageSpec, JudgeStageSpec } from '../../spec/schema.js';
import type { RunContext } from '../context.js';
import { refuseRewardModel, resolveJudge } from '../judge-setup.js';
import {
  judgeByRubric,
  judgeByRules,
  type AnswerVerdict,
  type JudgeTarget,
} from './judge-answer.js';
import type { ProbeAnswer } from './probe-answers.js';

/** The anchor judge's verdicts, one per probe answer in probe order. */
export interface AnchorVerdicts {
  judgeId: string;
  rubric: Rubric | undefined;
  /** undefined: not judged (a model judge without a rubric). */
  verdicts: (AnswerVerdict | undefined)[];
}

/**
 * Step 2: the frozen anchor judge (`spec.judge`) scores every probe answer, by rules or by the
 * stage's rubric (default: the last judge stage's). Answers are judged concurrently up to the
 * judge's concurrency (a server judge otherwise waits out one round trip per probe); verdicts are
 * collected per index so the stored order stays the probe order. The first error stops the rest
 * and is thrown; a stopped run returns undefined.
 */
export async function judgeAnswers(
  ctx: RunContext,
  spec: EvaluateStageSpec,
  judgeStage: JudgeStageSpec | undefined,
  answers: readonly ProbeAnswer[],
  target: JudgeTarget,
): Promise<AnchorVerdicts | undefined> {
  const judge = resolveJudge(ctx, spec.judge);
  refuseRewardModel(judge, 'evaluate');
  const rubricPath = spec.rubric ?? judgeStage?.rubric;
  const rubric = judge.kind !== 'rule' && rubricPath ? loadRubric(ctx.path(rubricPath)) : undefined;
  if (rubric) ctx.store.putText('rubric', rubricPath!, rubric.source);
  const judgeEngine = judge.kind === 'model' ? await ctx.engines.get(judge.model) : undefined;

  const verdicts: (AnswerVerdict | undefined)[] = new Array(answers.length);
  let judged = 0;
  const judgeOne = async (i: number): Promise<void> => {
    if (judge.kind === 'rule') verdicts[i] = judgeByRules(ctx, judge, answers[i], target);
    else if (rubric)
      verdicts[i] = await judgeByRubric(ctx, judge, judgeEngine, rubric, answers[i], target);
    judged++;
    ctx.emit({
      type: 'stage-progress',
      round: target.round,
      stage: target.stageIndex,
      kind: 'evaluate',
      done: answers.length + judged,
      total: answers.length * 2,
      unit: 'probe steps',
    });
  };
  const queue = new PQueue({ concurrency: judge.kind === 'rule' ? 1 : judge.concurrency });
  let failure: { error: unknown } | undefined;
  for (let i = 0; i < answers.length; i++)
    void queue.add(async () => {
      if (failure || ctx.stopped) return;
      try {
        await judgeOne(i);
      } catch (error) {
        failure ??= { error };
        queue.clear();
      }
    });
  await queue.onIdle();
  if (failure && !ctx.stopped) throw failure.error;
  if (ctx.stopped) return undefined;
  return { judgeId: judge.id, rubric, verdicts };
}
