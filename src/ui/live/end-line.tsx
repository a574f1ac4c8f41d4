// How the run ended, once it has: the verdict on the objective first (improved / unchanged /
// worse, and the worst regressions), then finished, failed or stopped. A failure's error is not
// repeated here: the CLI prints it once, with its hint, after the view closes.

import { Box } from 'ink';
import type { RunState } from '../run-state.js';
import { formatSeconds } from '../format.js';
import { objectiveLine, regressionsLine, truthLine } from '../verdict-lines.js';
import { T, type Tone } from './tone.js';

export function EndLine({ state }: { state: RunState }) {
  if (state.status === 'running' || state.status === 'pending') return null;
  const took = `in ${formatSeconds(state.seconds)}`;
  const text =
    state.status === 'finished'
      ? `✔ finished ${took}`
      : state.status === 'failed'
        ? `✖ failed ${took}`
        : state.status === 'stopped-by-gate'
          ? `■ stopped by a gate ${took}`
          : state.status === 'awaiting-audit'
            ? `■ waiting for the human audit ${took}`
            : `■ stopped ${took}`;
  const tone: Tone =
    state.status === 'finished' ? 'good' : state.status === 'failed' ? 'bad' : 'warn';
  const v = state.verdict;
  const verdictTone: Tone = v?.word === 'improved' ? 'good' : v?.word === 'worse' ? 'bad' : 'warn';
  const regressions = v ? regressionsLine(v) : null;
  const truth = v ? truthLine(v) : null;
  const truthTone: Tone =
    v?.truth?.word === 'improved' ? 'good' : v?.truth?.word === 'worse' ? 'bad' : 'warn';
  return (
    <Box marginTop={1} flexDirection="column">
      {v && <T tone={verdictTone}>{objectiveLine(v)}</T>}
      {truth && <T tone={truthTone}>{truth}</T>}
      {regressions && <T tone="warn">{regressions}</T>}
      <T tone={tone}>{text}</T>
    </Box>
  );
}
