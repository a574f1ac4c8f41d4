// How the frame fits the terminal. Ink clears the whole screen, scrollback included, on every
// frame as tall as the terminal, so the frame must fit: the fixed lines come first, then the
// sections in order of importance, each taking what it can of the rows left; the least important
// give way on short terminals. Sections are then drawn top to bottom by their place in ORDER.

import type { ReactNode } from 'react';
import type { RoundView, RunState } from '../run-state.js';
import { oneLine } from '../format.js';

/** Top-to-bottom place of each section in the frame (not its importance). */
export const ORDER = {
  header: 0,
  stopping: 1,
  pastRounds: 2,
  stages: 3,
  latest: 4,
  train: 5,
  pairs: 6,
  eval: 7,
  warnings: 8,
  end: 9,
  keys: 10,
} as const;

/** What every section reads to draw itself. */
export interface Frame {
  state: RunState;
  /** The round the stage list shows: the current one, else the latest. */
  round: RoundView | null;
  details: boolean;
  /** Columns the frame may use. */
  width: number;
}

/** One section of the frame: where it goes (`at`, top to bottom) and how many rows it takes. */
export interface Slot {
  at: number;
  height: number;
  node: ReactNode;
}

/** A section that fits in `avail` rows, or gives way (null). */
export type Fit = (frame: Frame, avail: number) => Slot | null;

/** The fixed slots plus each fit (most important first) that finds room, in frame order. */
export function layOut(frame: Frame, rows: number, fixed: Slot[], fits: readonly Fit[]): Slot[] {
  let avail = rows > 0 ? rows - 1 - fixed.reduce((a, f) => a + f.height, 0) : Infinity;
  const slots = [...fixed];
  for (const fit of fits) {
    const slot = avail > 0 ? fit(frame, avail) : null;
    if (!slot) continue;
    slots.push(slot);
    avail -= slot.height;
  }
  return slots.sort((a, b) => a.at - b.at);
}

/** `s` as one line of the frame: whitespace collapsed, cut to the frame's width. */
export function frameLine(frame: Frame, s: string): string {
  return oneLine(s, frame.width - 2);
}

/** The latest round that `pred` holds for. */
export function lastRoundWith(state: RunState, pred: (r: RoundView) => boolean): RoundView | null {
  for (let i = state.rounds.length - 1; i >= 0; i--)
    if (pred(state.rounds[i])) return state.rounds[i];
  return null;
}
