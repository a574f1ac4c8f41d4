// The one pure reducer from pipeline events to the view model. It stamps the event's time on the
// state and hands the event to the handler of its type: run, round and stage lifecycle
// (on-lifecycle.ts), texts (on-texts.ts), and results (on-results.ts).

import type { PipelineEvent } from '../../events.js';
import { lifecycleHandlers } from './on-lifecycle.js';
import { resultHandlers } from './on-results.js';
import { textHandlers } from './on-texts.js';
import type { EventHandlers, RunState } from './types.js';

const HANDLERS: EventHandlers<PipelineEvent['type']> = {
  ...lifecycleHandlers,
  ...textHandlers,
  ...resultHandlers,
};

export function reduceRunState(state: RunState, e: PipelineEvent): RunState {
  const parsed = Date.parse(e.time);
  const t = Number.isFinite(parsed) ? parsed : (state.lastTime ?? 0);
  const s: RunState = {
    ...state,
    lastTime: state.lastTime == null ? t : Math.max(state.lastTime, t),
    eventCount: state.eventCount + 1,
  };
  // An event type this version does not know (e.g. replayed from a newer log) only counts.
  if (!Object.hasOwn(HANDLERS, e.type)) return s;
  const handle = HANDLERS[e.type] as (s: RunState, e: PipelineEvent, t: number) => RunState;
  return handle(s, e, t);
}
