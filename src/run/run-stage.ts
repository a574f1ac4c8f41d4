import type { JudgeStageSpec, StageSpec } from '../spec/schema.js';
import type { RunContext } from '../stages/context.js';
import { STAGES } from '../stages/index.js';
import type { StageResult } from '../stages/stage.js';
import type { PromptRow } from '../store/types.js';
import { recordGateStop } from './gate-stop.js';
import { policyAt } from './policy.js';

export type StageOutcome = 'ok' | 'stop' | 'await';

/**
 * Run one stage unless the store says it is done, recording its status and counts and telling
 * the event sink; returns 'stop' when a gate stops the run, 'await' when the stage waits for
 * people (an audit to complete): it is then left 'interrupted', to run again on resume.
 */
export async function runStage(
  ctx: RunContext,
  s: StageSpec,
  round: number,
  index: number,
  prompts: PromptRow[],
  judgeStage: JudgeStageSpec | undefined,
): Promise<StageOutcome> {
  const store = ctx.store;
  const prior = store.getStage(round, index);
  if (prior?.status === 'done') {
    // a finished train stage's checkpoint is the policy the rest of the round uses
    if (s.kind === 'train') ctx.policy = policyAt(ctx, round + 1);
    ctx.emit({
      type: 'stage-end',
      round,
      stage: index,
      kind: s.kind,
      status: 'skipped',
      seconds: 0,
      counts: prior.counts ?? {},
    });
    return 'ok';
  }
  store.startStage(round, index, s.kind);
  ctx.emit({ type: 'stage-start', round, stage: index, kind: s.kind, total: prompts.length });
  const t = performance.now();
  const seconds = () => (performance.now() - t) / 1000;
  let result: StageResult;
  try {
    result = await STAGES[s.kind].run(ctx, { spec: s, round, index, prompts, judgeStage });
  } catch (e) {
    store.finishStage(round, index, { status: 'failed', error: e });
    ctx.emit({
      type: 'stage-end',
      round,
      stage: index,
      kind: s.kind,
      status: 'failed',
      seconds: seconds(),
      counts: {},
    });
    throw e;
  }
  const stop =
    s.kind === 'evaluate' &&
    recordGateStop(ctx, { round, stage: index, spec: s }, result.gateHits ?? []);
  const waiting = !!result.awaiting && !ctx.stopped;
  const status = ctx.stopped || waiting ? 'interrupted' : 'done';
  store.finishStage(round, index, { status, counts: result.counts });
  ctx.emit({
    type: 'stage-end',
    round,
    stage: index,
    kind: s.kind,
    status,
    seconds: seconds(),
    counts: result.counts,
  });
  return stop ? 'stop' : waiting ? 'await' : 'ok';
}
