// Color in the live view goes through tones, and tones through one component, so NO_COLOR can
// turn every style off in one place.

import { createContext, useContext, type ReactNode } from 'react';
import { Text } from 'ink';

export type Tone = 'accent' | 'good' | 'warn' | 'bad' | 'dim' | 'strong';

const TONE_PROPS: Record<Tone, { color?: string; dimColor?: boolean; bold?: boolean }> = {
  accent: { color: 'cyan' },
  good: { color: 'green' },
  warn: { color: 'yellow' },
  bad: { color: 'red' },
  dim: { dimColor: true },
  strong: { bold: true },
};

/** False under NO_COLOR; provided once by the LiveView. */
export const ColorContext = createContext(true);

/** Text in a tone; plain text when color is off (NO_COLOR), so no style escapes at all. */
export function T({ tone, children }: { tone?: Tone; children: ReactNode }) {
  const color = useContext(ColorContext);
  return (
    <Text wrap="truncate-end" {...(color && tone ? TONE_PROPS[tone] : {})}>
      {children}
    </Text>
  );
}
