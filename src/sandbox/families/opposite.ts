// Give the opposite of a word, in one word.
import { oneWordFamily } from './one-word.js';

/** Word -> accepted opposites, canonical first. */
export const OPPOSITES: Readonly<Record<string, readonly string[]>> = {
  hot: ['cold'],
  big: ['small', 'little'],
  up: ['down'],
  fast: ['slow'],
  day: ['night'],
  open: ['closed', 'shut'],
  happy: ['sad', 'unhappy'],
  light: ['dark', 'heavy'],
  wet: ['dry'],
  old: ['young', 'new'],
  left: ['right'],
  in: ['out'],
  full: ['empty'],
  hard: ['soft', 'easy'],
  early: ['late'],
  loud: ['quiet', 'soft'],
  tall: ['short'],
  win: ['lose'],
  yes: ['no'],
  black: ['white'],
};

export const opposite = oneWordFamily('opposite', 'opposite', OPPOSITES, [
  'What is the opposite of {x}? One word.',
  'Give the opposite of {x} in one word.',
  'In one word, the opposite of {x}?',
]);
