import type { PipelineEvent } from '../../events.js';
import type { NewJudgement } from '../../store/types.js';
import type { JudgeTexts, ResolvedJudge } from '../judge-setup.js';
import type { JudgeUnit, JudgementBase } from './unit.js';

type Shown = Pick<
  Extract<PipelineEvent, { type: 'judgement' }>,
  'score' | 'verdict' | 'parseError' | 'text'
>;
type Row = Omit<NewJudgement, keyof JudgementBase>;

export function judgementBase(
  round: number,
  stageIndex: number,
  judge: ResolvedJudge,
  { rubric, constitution }: JudgeTexts,
): JudgementBase {
  return {
    round,
    stageIndex,
    judgeId: judge.id,
    judgeCheckpointId: judge.kind === 'model' ? judge.checkpointId : null,
    // a rule judge renders no rubric
    rubricHash: judge.kind === 'rule' ? null : rubric.hash,
    constitutionHash: constitution?.hash ?? null,
  };
}

/** True (and counted as reused) when a judgement with this input hash is already stored. */
export function alreadyJudged(u: JudgeUnit, hash: string): boolean {
  if (!u.ctx.store.existingId('judgements', hash)) return false;
  u.counts.reused++;
  return true;
}

export function storeJudgement(u: JudgeUnit, row: Row): void {
  u.ctx.store.addJudgement({ ...u.base, ...row });
}

/** Tell the event sink about a judgement (only the fields given, so events keep their shape). */
export function emitJudgement(u: JudgeUnit, shown: Shown): void {
  u.ctx.emit({
    type: 'judgement',
    round: u.base.round,
    judge: u.judge.id,
    promptId: u.prompt.id,
    ...shown,
  });
}

/** Store one new judgement, count it (and its parse failure) and tell the event sink. */
export function recordJudgement(u: JudgeUnit, row: Row, shown: Shown): void {
  storeJudgement(u, row);
  u.counts.judgements++;
  if (row.parseError) u.counts.parse_failures++;
  emitJudgement(u, shown);
}
