// The state before any event, and the one a run-start resets to.

import type { RunState } from './types.js';

export function initialRunState(): RunState {
  return {
    runId: null,
    name: null,
    dir: null,
    resumed: false,
    totalRounds: 0,
    stageKinds: [],
    status: 'pending',
    startedAt: null,
    lastTime: null,
    seconds: null,
    error: null,
    verdict: null,
    currentRound: null,
    currentStage: null,
    rounds: [],
    latestCandidate: null,
    latestJudgement: null,
    warnings: [],
    warningCount: 0,
    gates: [],
    eventCount: 0,
  };
}
