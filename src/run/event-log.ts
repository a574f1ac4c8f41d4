// The run's event log: every lifecycle event the runner emits also goes into the run's database
// (store/event-log.ts), so `pipeline show` can tell what happened after the terminal that watched
// the run is gone.

import type { EventSink, PipelineEventType } from '../events.js';
import type { RunStore } from '../store/run-store.js';

/** Too frequent to log one by one, and each already stored as a ledger row or a train step. */
export const TICK_EVENTS: ReadonlySet<PipelineEventType> = new Set<PipelineEventType>([
  'stage-progress',
  'candidate',
  'judgement',
  'train-step',
]);

/** `sink`, with every event that is not a tick also appended to the run's event log. */
export function loggingSink(store: RunStore, sink: EventSink): EventSink {
  let broken = false;
  return (e) => {
    if (!broken && !TICK_EVENTS.has(e.type) && !store.closed) {
      try {
        store.appendEvent(e);
      } catch (err) {
        // The log records the run; it is not part of it. A store that cannot take an event fails
        // the run at its next ledger write anyway, and that error is the one worth reporting.
        broken = true;
        const why = err instanceof Error ? err.message : String(err);
        sink({
          type: 'warning',
          time: e.time,
          runId: e.runId,
          message: `event log stopped: ${why}`,
        });
      }
    }
    sink(e);
  };
}
