// The terminal's size for the layout, and the redraws that no event asks for: the elapsed clock
// moves every second while the run is alive (a long prefill, a slow judge), and a resize redraws
// at once (Ink alone would only redraw the old tree).

import { useEffect, useState } from 'react';
import { useStdout } from 'ink';

export interface TerminalSize {
  /** Columns for the frame, kept between 40 and 160. */
  width: number;
  /** Rows of the terminal; 0 when unknown (then the frame is not cut to fit). */
  rows: number;
}

export function useTerminal(running: boolean): TerminalSize {
  const [, setTick] = useState(0);
  const { stdout } = useStdout();

  useEffect(() => {
    if (!running) return;
    const id = setInterval(() => setTick((n) => n + 1), 1000);
    return () => clearInterval(id);
  }, [running]);

  useEffect(() => {
    if (!stdout) return;
    const onResize = () => setTick((n) => n + 1);
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);

  return { width: Math.max(40, Math.min(160, stdout?.columns || 80)), rows: stdout?.rows || 0 };
}
