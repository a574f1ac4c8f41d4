// The round table: eval metrics per round (the latest, or all with details) and one dim summary
// line per earlier round (the last two, or all with details).

import { Box, Text } from 'ink';
import { latestMetricsRound, type RoundView } from '../run-state.js';
import { formatNumber, formatSeconds } from '../format.js';
import { ORDER, frameLine, type Fit } from './layout.js';
import { T } from './tone.js';

export const evalFit: Fit = (frame, avail) => {
  const { state, details } = frame;
  const metricsRounds = details
    ? state.rounds.filter((r) => Object.keys(r.metrics).length > 0)
    : [latestMetricsRound(state)].filter((r) => r != null);
  const shown = metricsRounds.slice(-avail);
  if (!shown.length) return null;
  return {
    at: ORDER.eval,
    height: shown.length,
    node: (
      <Box flexDirection="column">
        {shown.map((r) => (
          <Text key={r.round} wrap="truncate-end">
            <T tone="accent">eval </T>
            {frameLine(
              frame,
              `round ${r.round}: ${metricsText(r.metrics, details ? Infinity : 6)}`,
            )}
          </Text>
        ))}
      </Box>
    ),
  };
};

export const pastRoundsFit: Fit = (frame, avail) => {
  const { state, round, details } = frame;
  const pastRounds = state.rounds.filter(
    (r) => r !== round && r.round > 0 && r.status !== 'pending',
  );
  const shown = (details ? pastRounds : pastRounds.slice(-2)).slice(-avail);
  if (!shown.length) return null;
  return {
    at: ORDER.pastRounds,
    height: shown.length,
    node: (
      <Box flexDirection="column">
        {shown.map((r) => (
          <T key={r.round} tone="dim">
            {frameLine(frame, pastRoundLine(r))}
          </T>
        ))}
      </Box>
    ),
  };
};

function pastRoundLine(r: RoundView): string {
  const icon = r.status === 'done' ? '✔' : r.status === 'running' ? '▸' : '■';
  const parts = [`round ${r.round} ${icon} ${formatSeconds(r.seconds)}`];
  if (r.pairs) parts.push(`pairs ${r.pairs.kept} kept/${r.pairs.discardedTotal} discarded`);
  if (r.train?.loss.last != null) parts.push(`loss ${formatNumber(r.train.loss.last)}`);
  const m = metricsText(r.metrics, 3);
  if (m) parts.push(m);
  return parts.join(' · ');
}

function metricsText(metrics: Record<string, number>, max: number): string {
  const entries = Object.entries(metrics);
  const shown = entries.slice(0, max).map(([k, v]) => `${k} ${formatNumber(v)}`);
  if (entries.length > max) shown.push(`+${entries.length - max} more`);
  return shown.join(' · ');
}
