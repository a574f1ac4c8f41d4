import type { StageKind, StageSpec } from '../spec/schema.js';
import { auditStage } from './audit/index.js';
import { critiqueStage } from './critique.js';
import { evaluateStage } from './evaluate/index.js';
import { generateStage } from './generate.js';
import { judgeStage } from './judge/index.js';
import { pairStage } from './pair.js';
import { rewardModelStage } from './reward-model.js';
import { rlStage } from './rl/index.js';
import type { Stage } from './stage.js';
import { trainStage } from './train.js';

/** The spec type of one stage kind. */
export type StageSpecOf<K extends StageKind> = Extract<StageSpec, { kind: K }>;

/**
 * Every stage kind's stage. `satisfies` checks each entry against its own kind, so a kind added
 * to the schema without a stage here, or a stage filed under the wrong kind, fails to compile;
 * the declared type forgets the pairing so the runner can call `STAGES[s.kind].run(ctx, { spec:
 * s, ... })` for any spec (TypeScript cannot correlate the union's kind and spec by itself).
 */
export const STAGES: Readonly<Record<StageKind, Stage>> = {
  generate: generateStage,
  critique: critiqueStage,
  judge: judgeStage,
  pair: pairStage,
  audit: auditStage,
  train: trainStage,
  reward_model: rewardModelStage,
  rl: rlStage,
  evaluate: evaluateStage,
} satisfies { [K in StageKind]: Stage<StageSpecOf<K>> };
