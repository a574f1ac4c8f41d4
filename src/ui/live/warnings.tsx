// The warnings section: the last three (all of them with details), folded repeats with a count.

import { Box, Text } from 'ink';
import type { WarningView } from '../run-state.js';
import { ORDER, frameLine, type Fit } from './layout.js';
import { T } from './tone.js';

export const warningsFit: Fit = (frame, avail) => {
  const { state, details } = frame;
  const want = details ? state.warnings : state.warnings.slice(-3);
  const n = Math.min(want.length, avail - 2);
  if (!state.warnings.length || n < 1) return null;
  const shown = want.slice(-n);
  const hidden = state.warnings.length - shown.length;
  return {
    at: ORDER.warnings,
    height: 2 + n,
    node: (
      <Box flexDirection="column" marginTop={1}>
        <T tone="warn">
          {`warnings (${state.warningCount})${hidden > 0 ? ` · ${hidden} more${details ? '' : ' with d'}` : ''}`}
        </T>
        {shown.map((w) => (
          <Text key={w.key} wrap="truncate-end">
            <T tone={w.kind === 'nan' || w.kind === 'gate' ? 'bad' : 'warn'}>{'⚠ '}</T>
            {frameLine(frame, warningText(w))}
          </Text>
        ))}
      </Box>
    ),
  };
};

function warningText(w: WarningView): string {
  return `${w.message}${w.count > 1 ? ` ×${w.count}` : ''}`;
}
