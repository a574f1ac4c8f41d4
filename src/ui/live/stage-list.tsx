// The current round's title and one line per stage: icon, progress bar, count, rate, and the ETA
// while running or the wall time once ended (with details, the stage's counts too).

import { Box, Text } from 'ink';
import type { RoundView, StageView, StageViewStatus } from '../run-state.js';
import { formatRate, formatSeconds, oneLine, progressBar } from '../format.js';
import { T, type Tone } from './tone.js';

const STAGE_ICON: Record<StageViewStatus, string> = {
  pending: '·',
  running: '▸',
  done: '✔',
  skipped: '↷',
  interrupted: '■',
  failed: '✖',
};

const STAGE_TONE: Record<StageViewStatus, Tone | undefined> = {
  pending: 'dim',
  running: 'accent',
  done: 'good',
  skipped: 'dim',
  interrupted: 'warn',
  failed: 'bad',
};

export function StageList(props: {
  round: RoundView;
  width: number;
  barWidth: number;
  details: boolean;
}) {
  const { round, width, barWidth, details } = props;
  return (
    <Box flexDirection="column" marginTop={1}>
      <T tone="strong">
        {oneLine(
          `round ${round.round}${round.policy ? `  policy ${round.policy}` : ''}`,
          width - 2,
        )}
      </T>
      {round.stages.map((st) => (
        <StageLine key={st.index} st={st} barWidth={barWidth} details={details} />
      ))}
    </Box>
  );
}

function StageLine({
  st,
  barWidth,
  details,
}: {
  st: StageView;
  barWidth: number;
  details: boolean;
}) {
  const head = `${STAGE_ICON[st.status]} ${st.kind.padEnd(9)}`;
  if (st.status === 'pending') return <T tone="dim">{head}</T>;
  if (st.status === 'skipped') return <T tone="dim">{`${head} skipped`}</T>;
  const count = st.total > 0 ? `${st.done}/${st.total}` : `${st.done}`;
  const unit = st.unit ? ` ${st.unit}` : '';
  const timing =
    st.status === 'running'
      ? st.eta != null
        ? `ETA ${formatSeconds(st.eta)}`
        : ''
      : st.seconds != null
        ? `in ${formatSeconds(st.seconds)}`
        : '';
  const counts = details && Object.keys(st.counts).length ? `  [${countsText(st.counts)}]` : '';
  return (
    <Text wrap="truncate-end">
      <T tone={STAGE_TONE[st.status]}>{head}</T>
      {` ${progressBar(st.done, st.total, barWidth)} ${count}${unit}  ${formatRate(st.rate)}  ${timing}`}
      {st.status === 'interrupted' || st.status === 'failed' ? (
        <T tone={STAGE_TONE[st.status]}>{` ${st.status}`}</T>
      ) : null}
      {counts}
    </Text>
  );
}

function countsText(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}
