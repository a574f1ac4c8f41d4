// The frame's first line: the run's name, round, elapsed time and status.

import { Text } from 'ink';
import { elapsedSeconds, type RunState } from '../run-state.js';
import { formatSeconds } from '../format.js';
import { T, type Tone } from './tone.js';

export function Header({
  state,
  now,
  stopping,
}: {
  state: RunState;
  now: number;
  stopping: boolean;
}) {
  const r = state.currentRound;
  const roundText = state.totalRounds
    ? `round ${r ?? 0}/${state.totalRounds}`
    : r != null
      ? `round ${r}`
      : '';
  const status =
    state.status === 'running' && stopping
      ? 'stopping'
      : state.status === 'pending'
        ? 'starting'
        : state.status;
  const tone: Tone =
    state.status === 'finished'
      ? 'good'
      : state.status === 'failed'
        ? 'bad'
        : state.status === 'running' && !stopping
          ? 'accent'
          : 'warn';
  return (
    <Text wrap="truncate-end">
      <T tone="strong">{state.name ?? 'pipeline'}</T>
      {roundText ? `  ${roundText}` : ''}
      {`  ${formatSeconds(elapsedSeconds(state, now))}  `}
      <T tone={tone}>{status}</T>
      {state.resumed ? '  (resumed)' : ''}
    </Text>
  );
}
