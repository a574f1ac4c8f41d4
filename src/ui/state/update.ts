// Copy-on-write updates of one round or one stage: the rest of the state is shared, never
// mutated, and a round or stage the run-start did not announce gets a fresh row on first use.

import type { StageKind } from '../../events.js';
import type { RoundView, RunState, StageView } from './types.js';

export function updateRound(s: RunState, round: number, f: (r: RoundView) => RoundView): RunState {
  const i = s.rounds.findIndex((r) => r.round === round);
  if (i >= 0) {
    const rounds = s.rounds.slice();
    rounds[i] = f(rounds[i]);
    return { ...s, rounds };
  }
  const rounds = [...s.rounds, f(newRound(round, s.stageKinds))].sort((a, b) => a.round - b.round);
  return { ...s, rounds };
}

export function updateStage(
  s: RunState,
  round: number,
  index: number,
  kind: StageKind,
  f: (st: StageView) => StageView,
): RunState {
  return updateRound(s, round, (r) => {
    const stages = r.stages.slice();
    // Stages the run-start list did not announce still get a row.
    for (let i = stages.length; i <= index; i++)
      stages.push(newStage(i, i === index ? kind : (s.stageKinds[i] ?? kind)));
    stages[index] = f(stages[index]);
    return { ...r, stages };
  });
}

/** The index of the last stage of `kind` still running in round `r`; -1 if none. */
export function lastRunningIndex(r: RoundView, kind: StageKind): number {
  for (let i = r.stages.length - 1; i >= 0; i--)
    if (r.stages[i].kind === kind && r.stages[i].status === 'running') return i;
  return -1;
}

function newRound(round: number, kinds: readonly StageKind[]): RoundView {
  return {
    round,
    status: 'pending',
    policy: null,
    startedAt: null,
    seconds: null,
    checkpoint: null,
    stages: kinds.map((kind, index) => newStage(index, kind)),
    train: null,
    pairs: null,
    metrics: {},
    candidates: 0,
    judgements: 0,
    parseFailures: 0,
  };
}

function newStage(index: number, kind: StageKind): StageView {
  return {
    index,
    kind,
    status: 'pending',
    done: 0,
    total: 0,
    unit: '',
    startedAt: null,
    seconds: null,
    rate: null,
    eta: null,
    counts: {},
    samples: [],
  };
}
