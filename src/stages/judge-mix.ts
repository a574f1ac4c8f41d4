import { loadRubric } from '../prompts/rubric.js';
import type { JudgeStageSpec } from '../spec/schema.js';
import type { JudgeMix } from './candidate-scores.js';
import type { RunContext } from './context.js';

/**
 * Each judge's score range in a judge stage, for putting them on one scale (candidate-scores.ts):
 * rule judges and pairwise win shares are on [0, 1]; model and server judges score on the
 * rubric's declared `scale` (front matter). Weights are the stage's `weights` (default 1 each).
 */
export function judgeMix(ctx: RunContext, stage: JudgeStageSpec): JudgeMix {
  const rubric = loadRubric(ctx.path(stage.rubric));
  const rubricScale = rubric.format.kind === 'score' ? rubric.format.scale : undefined;
  const scales: Record<string, readonly [number, number]> = {};
  for (const judge of stage.judges) {
    const rule = judge !== 'self' && ctx.spec.judges[judge]?.kind === 'rule';
    scales[judge] = rule || stage.mode === 'pairwise' || !rubricScale ? [0, 1] : rubricScale;
  }
  return { scales, weights: stage.weights };
}
