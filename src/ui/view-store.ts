// Holds the folded run state for the live view. Events are reduced as they arrive (cheap: the
// reducer is O(1) per event), but listeners (React) hear about it at most once per `throttleMs`,
// so a flood of progress or train-step events never turns into a flood of renders.

import type { EventSink, PipelineEvent } from '../events.js';
import { initialRunState, reduceRunState, type RunState } from './run-state.js';

export interface ViewStore {
  /** The sink the runner calls; never throws. */
  push: EventSink;
  /** The state as last published to listeners (stable between notifications). */
  getSnapshot(): RunState;
  /** The state including events not yet published. */
  getState(): RunState;
  subscribe(listener: () => void): () => void;
  /** Publish pending events now. */
  flush(): void;
  dispose(): void;
}

export function createViewStore(opts: { throttleMs?: number } = {}): ViewStore {
  const throttleMs = opts.throttleMs ?? 100;
  let state = initialRunState();
  let published = state;
  let timer: NodeJS.Timeout | null = null;
  let lastPublish = 0;
  const listeners = new Set<() => void>();

  const publish = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    lastPublish = Date.now();
    if (published === state) return;
    published = state;
    for (const l of [...listeners]) l();
  };

  const push = (e: PipelineEvent) => {
    try {
      state = reduceRunState(state, e);
    } catch (err) {
      // A display bug must not take a long run down with it: show it, drop the event.
      state = reduceRunState(state, {
        type: 'warning',
        time: e.time,
        runId: e.runId,
        message: `ui: could not show a ${String(e.type)} event: ${(err as Error).message}`,
      });
    }
    // The last frame must show the outcome even if the caller unmounts right away.
    if (e.type === 'run-end') return publish();
    if (timer) return;
    const wait = Math.max(0, lastPublish + throttleMs - Date.now());
    timer = setTimeout(publish, wait);
    // Only the runner and the terminal decide when the process may exit.
    timer.unref();
  };

  return {
    push,
    getSnapshot: () => published,
    getState: () => state,
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    flush: publish,
    dispose() {
      if (timer) clearTimeout(timer);
      timer = null;
      listeners.clear();
    },
  };
}
