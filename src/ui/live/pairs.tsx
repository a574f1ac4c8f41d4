// The pairs section: pairs kept and discarded (with reasons) in the latest round that paired.

import { Box, Text } from 'ink';
import { formatReasons } from '../format.js';
import { ORDER, frameLine, lastRoundWith, type Fit } from './layout.js';
import { T } from './tone.js';

export const pairsFit: Fit = (frame, avail) => {
  const { state, round } = frame;
  const pairsRound = round?.pairs ? round : lastRoundWith(state, (r) => r.pairs != null);
  if (!pairsRound?.pairs || avail < 2) return null;
  const p = pairsRound.pairs;
  return {
    at: ORDER.pairs,
    height: 2,
    node: (
      <Box marginTop={1}>
        <Text wrap="truncate-end">
          <T tone="accent">pairs </T>
          {frameLine(
            frame,
            `round ${pairsRound.round}: kept ${p.kept} · discarded ${p.discardedTotal}` +
              (p.discardedTotal ? ` (${formatReasons(p.discarded)})` : ''),
          )}
        </Text>
      </Box>
    ),
  };
};
