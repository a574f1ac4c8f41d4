import type { EvaluateStageSpec } from '../../spec/schema.js';
import { runEvaluateStage } from '../evaluate.js';
import type { Stage } from '../stage.js';

// A thin adapter from the stage contract to runEvaluateStage, until the evaluate stage is split
// into this folder.
export const evaluateStage: Stage<EvaluateStageSpec> = {
  kind: 'evaluate',
  run: (ctx, { spec, judgeStage, round, index }) =>
    runEvaluateStage(ctx, spec, judgeStage, round, index),
};
