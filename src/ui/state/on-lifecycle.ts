// How the run, its rounds and its stages start, move and end in the view.

import type { StageStatus } from '../../events.js';
import { initialRunState } from './initial.js';
import { withProgress } from './progress.js';
import type { EventHandlers, RunState } from './types.js';
import { updateRound, updateStage } from './update.js';
import { addWarning } from './warnings.js';

type LifecycleEvent =
  | 'run-start'
  | 'round-start'
  | 'stage-start'
  | 'stage-progress'
  | 'stage-end'
  | 'round-end'
  | 'run-end';

export const lifecycleHandlers: EventHandlers<LifecycleEvent> = {
  'run-start': (s, e, t) => ({
    // A resumed run in the same view starts afresh from the runner's replay.
    ...initialRunState(),
    runId: e.runId,
    name: e.name,
    dir: e.dir,
    resumed: e.resumed,
    totalRounds: e.rounds,
    stageKinds: e.stages.slice(),
    status: 'running',
    startedAt: t,
    lastTime: t,
    eventCount: s.eventCount,
  }),

  'round-start': (s, e, t) =>
    // Last round's candidate and judgement would read as this round's.
    updateRound(
      {
        ...s,
        currentRound: e.round,
        currentStage: null,
        latestCandidate: null,
        latestJudgement: null,
      },
      e.round,
      (r) => ({ ...r, status: 'running', policy: e.policy, startedAt: t, seconds: null }),
    ),

  'stage-start': (s, e, t) =>
    updateStage(
      { ...s, currentRound: e.round, currentStage: e.stage },
      e.round,
      e.stage,
      e.kind,
      (st) => ({
        ...st,
        kind: e.kind,
        status: 'running',
        done: 0,
        total: e.total,
        startedAt: t,
        seconds: null,
        rate: null,
        eta: null,
        counts: {},
        samples: [{ t, done: 0 }],
      }),
    ),

  'stage-progress': (s, e, t) =>
    updateStage(s, e.round, e.stage, e.kind, (st) =>
      withProgress({ ...st, unit: e.unit || st.unit }, t, e.done, e.total),
    ),

  'stage-end': (s, e, t) => {
    const next = updateStage(s, e.round, e.stage, e.kind, (st) => {
      const done = e.status === 'done' && st.total > 0 ? Math.max(st.done, st.total) : st.done;
      return {
        ...st,
        status: e.status,
        seconds: e.seconds,
        counts: { ...e.counts },
        done,
        rate: e.seconds > 0 && done > 0 ? done / e.seconds : st.rate,
        eta: null,
      };
    });
    if (e.status !== 'failed') return next;
    return addWarning(next, {
      key: `stage:${e.round}:${e.stage}`,
      kind: 'stage',
      round: e.round,
      message: `round ${e.round} ${e.kind} failed after ${e.seconds.toFixed(1)}s`,
      time: t,
    });
  },

  'round-end': (s, e) =>
    updateRound(s, e.round, (r) => ({
      ...r,
      status: 'done',
      seconds: e.seconds,
      checkpoint: e.checkpoint ?? r.checkpoint,
    })),

  'run-end': (s, e) => ({
    ...closeOpenRounds(s, e.status === 'failed' ? 'failed' : 'interrupted'),
    status: e.status,
    seconds: e.seconds,
    error: e.error ?? null,
    verdict: e.verdict ?? null,
  }),
};

/** Stages and rounds the runner left open should stop looking alive once the run has ended. */
function closeOpenRounds(s: RunState, stageStatus: StageStatus): RunState {
  const rounds = s.rounds.map((r) => {
    const open = r.status === 'running' || r.stages.some((st) => st.status === 'running');
    if (!open) return r;
    return {
      ...r,
      status: r.status === 'running' ? ('stopped' as const) : r.status,
      stages: r.stages.map((st) =>
        st.status === 'running' ? { ...st, status: stageStatus, eta: null } : st,
      ),
    };
  });
  return { ...s, rounds };
}
