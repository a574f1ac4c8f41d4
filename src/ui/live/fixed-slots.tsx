// The lines every frame has room for: the header, the stopping notice, the current round's
// stages (or a wait notice), how the run ended, and the key hints.

import { EndLine } from './end-line.js';
import { Header } from './header.js';
import { ORDER, type Frame, type Slot } from './layout.js';
import { StageList } from './stage-list.js';
import { T } from './tone.js';

export const STOPPING_TEXT = 'stopping after the batch in flight…';

export interface Controls {
  /** The clock for the header's elapsed time, ms since the epoch. */
  now: number;
  running: boolean;
  stopping: boolean;
  /** Keys work only where stdin can be put in raw mode; only then are they hinted. */
  keysActive: boolean;
}

export function fixedSlots(frame: Frame, c: Controls): Slot[] {
  const { state, round, details, width } = frame;
  const fixed: Slot[] = [];
  fixed.push({
    at: ORDER.header,
    height: 1,
    node: <Header state={state} now={c.now} stopping={c.stopping} />,
  });
  if (c.stopping && c.running)
    fixed.push({ at: ORDER.stopping, height: 1, node: <T tone="warn">{STOPPING_TEXT}</T> });
  if (round) {
    const barWidth = Math.max(10, Math.min(30, width - 64));
    const node = <StageList round={round} width={width} barWidth={barWidth} details={details} />;
    fixed.push({ at: ORDER.stages, height: 2 + round.stages.length, node });
  } else if (state.status === 'pending')
    fixed.push({ at: ORDER.stages, height: 1, node: <T tone="dim">waiting for the runner…</T> });
  if (!c.running) fixed.push({ at: ORDER.end, height: 2, node: <EndLine state={state} /> });
  if (c.keysActive && c.running)
    fixed.push({
      at: ORDER.keys,
      height: 1,
      node: <T tone="dim">{keyHints(c.stopping, details)}</T>,
    });
  return fixed;
}

function keyHints(stopping: boolean, details: boolean): string {
  const d = `d ${details ? 'hide' : 'show'} details · ctrl+c abort`;
  return stopping ? d : `q stop after this batch · ${d}`;
}
