import type { ModelEngine } from '../../engine/index.js';
import type { JudgeSampling } from '../../judges/model-judge.js';
import type { JudgeStageSpec } from '../../spec/schema.js';
import type { CandidateRow, NewJudgement, PromptRow } from '../../store/types.js';
import type { RunContext } from '../context.js';
import type { JudgeTexts, ResolvedJudge } from '../judge-setup.js';

/** The columns every judgement one judge writes in one stage shares. */
export type JudgementBase = Pick<
  NewJudgement,
  'round' | 'stageIndex' | 'judgeId' | 'judgeCheckpointId' | 'rubricHash' | 'constitutionHash'
>;

/** One prompt's candidates under one judge: what every judging mode works on. */
export interface JudgeUnit<J extends ResolvedJudge = ResolvedJudge> {
  ctx: RunContext;
  spec: JudgeStageSpec;
  judge: J;
  texts: JudgeTexts;
  base: JudgementBase;
  prompt: PromptRow;
  cands: CandidateRow[];
  /** The stage's counters (judgements, reused, parse_failures, inconsistent), shared by all units. */
  counts: Record<string, number>;
}

/** A unit judged by a model, local or behind a server. */
export interface ModelJudgeUnit extends JudgeUnit<Exclude<ResolvedJudge, { kind: 'rule' }>> {
  /** The loaded model of a `model` judge; undefined for a server judge. */
  engine: ModelEngine | undefined;
  /** Who judged, as input hashes record it (judgeIdentity). */
  identity: unknown;
  sampling: JudgeSampling;
  /** The prompt as rubric text. */
  text: string;
}
