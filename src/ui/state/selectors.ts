// Questions the views ask of the folded state. Pure reads: nothing here changes the state.

import type { PairsView, RoundView, RunState, StageView } from './types.js';

export function findRound(state: RunState, round: number | null): RoundView | null {
  if (round == null) return null;
  return state.rounds.find((r) => r.round === round) ?? null;
}

export function currentRoundView(state: RunState): RoundView | null {
  return findRound(state, state.currentRound);
}

export function currentStageView(state: RunState): StageView | null {
  const r = currentRoundView(state);
  if (!r || state.currentStage == null) return null;
  return r.stages[state.currentStage] ?? null;
}

/** Seconds since run-start: up to `nowMs` while running, up to the end (or last event) after. */
export function elapsedSeconds(state: RunState, nowMs?: number): number | null {
  if (state.startedAt == null) return null;
  if (state.status !== 'running' && state.seconds != null) return state.seconds;
  const end =
    state.status === 'running' && nowMs != null ? nowMs : (state.lastTime ?? state.startedAt);
  return Math.max(0, (end - state.startedAt) / 1000);
}

/** Pairs over all rounds. */
export function totalPairs(state: RunState): PairsView {
  const discarded: Record<string, number> = {};
  let kept = 0;
  let discardedTotal = 0;
  for (const r of state.rounds) {
    if (!r.pairs) continue;
    kept += r.pairs.kept;
    discardedTotal += r.pairs.discardedTotal;
    for (const [k, n] of Object.entries(r.pairs.discarded)) discarded[k] = (discarded[k] ?? 0) + n;
  }
  return { kept, discarded, discardedTotal };
}

/** The latest round that has eval metrics (the final metrics once the run ends). */
export function latestMetricsRound(state: RunState): RoundView | null {
  for (let i = state.rounds.length - 1; i >= 0; i--)
    if (Object.keys(state.rounds[i].metrics).length > 0) return state.rounds[i];
  return null;
}

/** Rounds finished so far. */
export function roundsDone(state: RunState): number {
  return state.rounds.filter((r) => r.status === 'done' && r.round > 0).length;
}
