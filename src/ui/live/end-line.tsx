// How the run ended, once it has: finished, failed (with the error), or stopped.

import { Box } from 'ink';
import type { RunState } from '../run-state.js';
import { formatSeconds } from '../format.js';
import { T, type Tone } from './tone.js';

export function EndLine({ state }: { state: RunState }) {
  if (state.status === 'running' || state.status === 'pending') return null;
  const took = `in ${formatSeconds(state.seconds)}`;
  const text =
    state.status === 'finished'
      ? `✔ finished ${took}`
      : state.status === 'failed'
        ? `✖ failed ${took}${state.error ? `: ${state.error}` : ''}`
        : state.status === 'stopped-by-gate'
          ? `■ stopped by a gate ${took}`
          : `■ stopped ${took}`;
  const tone: Tone =
    state.status === 'finished' ? 'good' : state.status === 'failed' ? 'bad' : 'warn';
  return (
    <Box marginTop={1}>
      <T tone={tone}>{text}</T>
    </Box>
  );
}
