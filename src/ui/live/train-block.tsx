// The training section: step, accuracy, gradient norm and learning rate, and sparklines of the
// loss and margin (and accuracy, with details) of the latest round that trained.

import { Box, Text } from 'ink';
import { seriesValues, type TrainView } from '../run-state.js';
import { formatNumber, sparkline } from '../format.js';
import { ORDER, lastRoundWith, type Fit } from './layout.js';
import { T } from './tone.js';

export const trainFit: Fit = (frame, avail) => {
  const { state, round, details } = frame;
  const trainRound = round?.train ? round : lastRoundWith(state, (r) => r.train != null);
  const height = details ? 5 : 4;
  if (!trainRound?.train || avail < height) return null;
  const sparkWidth = Math.max(10, Math.min(48, frame.width - 36));
  return {
    at: ORDER.train,
    height,
    node: (
      <TrainBlock
        round={trainRound.round}
        tr={trainRound.train}
        width={sparkWidth}
        details={details}
      />
    ),
  };
};

function TrainBlock(props: { round: number; tr: TrainView; width: number; details: boolean }) {
  const { round, tr, width, details } = props;
  const loss = seriesValues(tr.loss);
  const margin = seriesValues(tr.margin);
  const acc = seriesValues(tr.accuracy);
  // an rl stage's curves: the batch reward where DPO has its margin, the KL where it has accuracy
  const [second, third] = tr.kind === 'rl' ? ['reward', 'kl    '] : ['margin', 'acc   '];
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text wrap="truncate-end">
        <T tone="accent">train </T>
        {`round ${round} step ${tr.step}/${tr.totalSteps}  ${third.trim()} ${formatNumber(tr.accuracy.last)}  grad ${formatNumber(tr.gradNorm)}  lr ${formatNumber(tr.learningRate)}`}
        {tr.nonFiniteSteps ? <T tone="bad">{`  ${tr.nonFiniteSteps} non-finite`}</T> : null}
      </Text>
      <Text wrap="truncate-end">
        {'  loss   '}
        <T tone="accent">{sparkline(loss, width)}</T>
        {` ${formatNumber(tr.loss.last)}${tr.loss.first != null ? ` (from ${formatNumber(tr.loss.first)})` : ''}`}
      </Text>
      <Text wrap="truncate-end">
        {`  ${second} `}
        <T tone="good">{sparkline(margin, width)}</T>
        {` ${formatNumber(tr.margin.last)}`}
      </Text>
      {details ? (
        <Text wrap="truncate-end">
          {`  ${third} `}
          <T tone="good">{sparkline(acc, width)}</T>
          {` ${formatNumber(tr.accuracy.last)}`}
        </Text>
      ) : null}
    </Box>
  );
}
