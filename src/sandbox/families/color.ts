// Name the color of a familiar thing, in one word.
import { oneWordFamily } from './one-word.js';

/** Subject -> accepted colors, canonical first. */
export const COLORS: Readonly<Record<string, readonly string[]>> = {
  'the sky': ['blue'],
  grass: ['green'],
  snow: ['white'],
  coal: ['black'],
  blood: ['red'],
  'a lemon': ['yellow'],
  'a banana': ['yellow'],
  'a tomato': ['red'],
  milk: ['white'],
  'a frog': ['green'],
  'a crow': ['black'],
  'an orange': ['orange'],
  'a plum': ['purple'],
  'a carrot': ['orange'],
  'the sun': ['yellow'],
  chocolate: ['brown'],
  'an elephant': ['gray', 'grey'],
  'a flamingo': ['pink'],
};

export const color = oneWordFamily('color', 'color', COLORS, [
  'In one word, what color is {x}?',
  'What color is {x}? Answer in one word.',
  'One word: what color is {x}?',
]);
