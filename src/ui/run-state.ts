// The view model of a run, folded from pipeline events by one pure reducer. The live view, the
// plain reporter and its summary all read this state, so rates, ETAs and warnings are computed
// once, here, and tested here. The reducer never mutates its input (unchanged parts are shared),
// and every list it keeps is bounded so a long run or an event flood costs O(1) per event.
//
// This file is the state's public face; each job lives in its own file under state/.

export type * from './state/types.js';
export { initialRunState } from './state/initial.js';
export { reduceRunState } from './state/reduce.js';
export { SERIES_MAX, appendSeries, emptySeries, seriesValues } from './state/series.js';
export { RATE_SAMPLES, RATE_SAMPLE_MS } from './state/progress.js';
export { WARNINGS_MAX } from './state/warnings.js';
export { FULL_TEXT_CHARS, PREVIEW_CHARS } from './state/on-texts.js';
export {
  currentRoundView,
  currentStageView,
  elapsedSeconds,
  findRound,
  latestMetricsRound,
  roundsDone,
  totalPairs,
} from './state/selectors.js';
