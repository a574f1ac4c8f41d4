import { loadPromptSet } from '../../prompts/prompt-set.js';
import type { EvaluateStageSpec, JudgeStageSpec } from '../../spec/schema.js';
import type { RunContext } from '../context.js';
import type { GateHit, Stage, StageResult } from '../stage.js';
import { judgeAnswers } from './anchor-judge.js';
import { recordJudgeMetrics, recordWinRate } from './judge-metrics.js';
import { MetricLog } from './metric-log.js';
import { recordGroundTruth } from './ground-truth.js';
import { recordHumanAgreement } from './human-agreement.js';
import { recordLoopJudgeScores } from './loop-judge-scores.js';
import { firedGates, gatesAtRound } from './metrics/gates.js';
import { recordKl, recordLogprobShift } from './model-drift.js';
import { answerProbes } from './probe-answers.js';
import { recordMetaJudgeStats } from './meta-judge-stats.js';
import { recordRoundJudgeStats } from './round-judge-stats.js';
import { recordSelfJudgeAgreement } from './self-judge-agreement.js';
import { recordTextMetrics } from './text-metrics.js';

/**
 * Drift metrics of the current policy on fixed probe prompts (see spec/eval-metrics.ts): answers
 * are generated, scored by a frozen anchor judge, compared with round 0's answers, and measured
 * for length, refusal/boilerplate phrases, per-rule violations, log-prob shift of fixed reference
 * answers and a sampled KL to the initial model. Gates compare a metric to a threshold.
 */
export const evaluateStage: Stage<EvaluateStageSpec> = {
  kind: 'evaluate',
  run: (ctx, { spec, round, index, judgeStage }) =>
    runEvaluate(ctx, spec, judgeStage, round, index),
};

async function runEvaluate(
  ctx: RunContext,
  spec: EvaluateStageSpec,
  judgeStage: JudgeStageSpec | undefined,
  round: number,
  stageIndex: number,
): Promise<StageResult & { gateHits: GateHit[] }> {
  const probes = loadPromptSet(ctx.path(spec.probes));
  const probeFileHash = ctx.store.putText('prompt_file', spec.probes, JSON.stringify(probes));
  const engine = await ctx.engines.get(ctx.policy);
  const target = { round, stageIndex };
  const answers = await answerProbes(ctx, { ...target, spec, probeFileHash }, probes, engine);
  const stopped = { counts: { probes: answers.length }, gateHits: [] };
  if (ctx.stopped) return stopped;
  const anchor = await judgeAnswers(ctx, spec, judgeStage, answers, target);
  if (!anchor) return stopped;

  const log = new MetricLog(ctx, round, stageIndex);
  const { scores, scored, parseFailures } = recordJudgeMetrics(log, answers, anchor);
  recordTextMetrics(ctx, spec, log, answers);
  recordHumanAgreement(ctx, log, round);
  recordWinRate(log, scores, anchor.judgeId, round);
  await recordLogprobShift(log, engine, probes, round);
  if (round > 0)
    await recordKl(ctx, log, engine, probes, { round, maxNewTokens: spec.max_new_tokens });
  const watched = await recordSelfJudgeAgreement(ctx, log, {
    ...{ judgeStage, target, answers },
    ...{ anchor, engine },
  });
  if (!watched) return stopped;
  recordRoundJudgeStats(ctx, log, round, judgeStage);
  recordMetaJudgeStats(ctx, log, round, judgeStage);
  recordLoopJudgeScores(ctx, log, round, judgeStage);
  if (spec.ground_truth === 'sandbox')
    await recordGroundTruth(ctx, log, { spec, judgeStage, round, answers, anchor, engine });
  if (ctx.stopped) return stopped;

  const gateHits = firedGates(gatesAtRound(spec.gates ?? [], round), log.values);
  for (const { gate, value } of gateHits)
    ctx.emit({
      type: 'gate',
      round,
      metric: gate.metric,
      value,
      threshold: gate.value,
      op: gate.op,
      action: gate.action,
    });
  return { counts: { probes: answers.length, scored, parse_failures: parseFailures }, gateHits };
}
