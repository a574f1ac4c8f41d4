import { loadRubric } from '../../prompts/rubric.js';
import type { JudgeStageSpec } from '../../spec/schema.js';
import type { ModelEngine } from '../../engine/index.js';
import type { RunContext } from '../context.js';
import { onUnitScale } from '../candidate-scores.js';
import { judgeMix } from '../judge-mix.js';
import { resolveJudge } from '../judge-setup.js';
import type { AnchorVerdicts } from './anchor-judge.js';
import { judgeByRubric, type JudgeTarget } from './judge-answer.js';
import type { MetricLog } from './metric-log.js';
import { calibrationPairs, type Calibration } from './metrics/calibration.js';
import { flipRate, kendallTauB, pairwiseAgreement, scoreDrift } from './metrics/judge-agreement.js';
import type { ProbeAnswer } from './probe-answers.js';

/** The judge stage's rubric when the policy judges with it pointwise, else undefined. */
export function selfJudgeRubric(ctx: RunContext, stage: JudgeStageSpec | undefined) {
  if (!stage || !stage.judges.includes('self') || stage.mode === 'pairwise') return undefined;
  // A constitution's principles are rendered per judgement in the judge stage; probe answers
  // carry none, so the stage's rubric alone would not be the judge the loop used.
  if (stage.constitution) return undefined;
  const rubric = loadRubric(ctx.path(stage.rubric));
  if (rubric.format.kind !== 'score') return undefined;
  ctx.store.putText('rubric', stage.rubric, rubric.source); // the judgements reference it by hash
  return { rubric, scale: rubric.format.scale };
}

/**
 * The policy as its own judge (the judge stage's rubric, greedy), watched each round (issue 16;
 * formulas in metrics/judge-agreement.ts):
 *   - against the frozen anchor on this round's probe answers: `judge_agreement` (pairwise, on the
 *     pairs the anchor orders; its detail keeps both scores of every answer on 0–1, the report's
 *     calibration curve) and `judge_tau` (Kendall's τ-b);
 *   - against itself over time, re-scoring round 0's probe answers (a fixed set): `judge_score_drift`
 *     (mean |Δscore| on the rubric scale, 0–1) and `judge_flip_rate` (pairs round 0's self-judge
 *     ordered that this round's orders the other way). Round 0 stores the baseline scores.
 * Judgements are stored under the evaluate stage with the policy checkpoint in their key, so a
 * resumed stage reads them back. Returns false when the run was stopped.
 */
export async function recordSelfJudgeAgreement(
  ctx: RunContext,
  log: MetricLog,
  g: {
    judgeStage: JudgeStageSpec | undefined;
    target: JudgeTarget;
    answers: readonly ProbeAnswer[];
    anchor: AnchorVerdicts;
    engine: ModelEngine;
  },
): Promise<boolean> {
  const setup = selfJudgeRubric(ctx, g.judgeStage);
  if (!setup) return true;
  const self = resolveJudge(ctx, 'self');
  if (self.kind !== 'model') return true; // 'self' is always the policy model (judge-setup.ts)
  const judgeAll = async (answers: readonly ProbeAnswer[]) => {
    const scores: (number | null)[] = [];
    for (const a of answers) {
      if (ctx.stopped) return undefined;
      scores.push((await judgeByRubric(ctx, self, g.engine, setup.rubric, a, g.target)).score);
    }
    return scores;
  };
  const mine = await judgeAll(g.answers);
  if (!mine) return false;
  const anchorScores = g.anchor.verdicts.map((v) => v?.score ?? null);
  const detail = { judge: 'self', reference: g.anchor.judgeId, rubric: g.judgeStage!.rubric };
  const agree = pairwiseAgreement(anchorScores, mine);
  const calibration = anchorCalibration(ctx, g.judgeStage!, g.anchor, mine);
  log.record('judge_agreement', agree.agreement, { ...detail, ...agree, calibration });
  log.record('judge_tau', kendallTauB(anchorScores, mine), { ...detail, scores: mine });

  const { round } = g.target;
  const fixed = round === 0 ? g.answers : round0Answers(ctx, g.target.stageIndex, g.answers);
  const baseline = round === 0 ? byProbe(g.answers, mine) : baselineScores(log);
  if (!fixed.length || !baseline) return true;
  const now = round === 0 ? mine : await judgeAll(fixed);
  if (!now) return false;
  const before = fixed.map((a) => baseline[a.probe.id] ?? null);
  const stability = { ...detail, scale: setup.scale, scores: byProbe(fixed, now) };
  log.record('judge_score_drift', scoreDrift(before, now, setup.scale), stability);
  log.record('judge_flip_rate', flipRate(before, now), { ...detail, probes: fixed.length });
  return true;
}

/**
 * Self and anchor scores of each probe answer on 0–1 (metrics/calibration.ts): the self-judge by
 * its range in the judge stage's mix (judge-mix.ts), the anchor by its rubric's scale, or [0, 1]
 * for a rule judge (as mean_score's detail.scale).
 */
function anchorCalibration(
  ctx: RunContext,
  stage: JudgeStageSpec,
  anchor: AnchorVerdicts,
  mine: readonly (number | null)[],
): Calibration {
  const selfScale = judgeMix(ctx, stage).scales.self;
  const anchorScale = anchor.rubric?.scale ?? [0, 1];
  const unit = (s: number | null | undefined, scale: readonly [number, number], judge: string) =>
    s === null || s === undefined ? null : onUnitScale(s, scale, judge);
  return {
    judge: 'self',
    reference: anchor.judgeId,
    pairs: calibrationPairs(
      mine.map((s) => unit(s, selfScale, 'self')),
      anchor.verdicts.map((v) => unit(v?.score, anchorScale, anchor.judgeId)),
    ),
  };
}

function byProbe(answers: readonly ProbeAnswer[], scores: readonly (number | null)[]) {
  return Object.fromEntries(answers.map((a, i) => [a.probe.id, scores[i]]));
}

/** Round 0's self scores of its own probe answers, as stored with its judge_score_drift. */
function baselineScores(log: MetricLog): Record<string, number | null> | undefined {
  const scores = log.atRound0('judge_score_drift')?.detail?.scores;
  return scores && typeof scores === 'object'
    ? (scores as Record<string, number | null>)
    : undefined;
}

/** Round 0's stored answers to the probes this round answered, in this round's probe order. */
function round0Answers(
  ctx: RunContext,
  stageIndex: number,
  answers: readonly ProbeAnswer[],
): ProbeAnswer[] {
  const probeById = new Map(answers.map((a) => [a.probe.id, a.probe]));
  const found = new Map<string, ProbeAnswer>();
  for (const p of ctx.store.promptsForRound(0)) {
    if (p.source !== 'probe' || p.stageIndex !== stageIndex) continue;
    const probe = probeById.get(String(p.meta?.probe));
    const [cand] = ctx.store.candidatesForPrompt(0, p.id);
    if (probe && cand) found.set(probe.id, { probe, cand });
  }
  return answers.flatMap((a) => found.get(a.probe.id) ?? []);
}
