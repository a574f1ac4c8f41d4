// The Ink view of a running pipeline. It draws only the folded run state (run-state.ts); the
// runner reaches it through the sink that startLiveView returns and nothing else. Each section of
// the frame is drawn by its own file under live/; this file composes them and mounts the view.

import { Fragment, useSyncExternalStore } from 'react';
import { Box, render } from 'ink';
import type { EventSink } from '../events.js';
import { currentRoundView } from './run-state.js';
import { colorEnabled, type Reporter } from './reporter.js';
import { createViewStore, type ViewStore } from './view-store.js';
import { fixedSlots } from './live/fixed-slots.js';
import { layOut, type Fit, type Frame } from './live/layout.js';
import { latestFit } from './live/latest.js';
import { pairsFit } from './live/pairs.js';
import { evalFit, pastRoundsFit } from './live/rounds.js';
import { ColorContext } from './live/tone.js';
import { trainFit } from './live/train-block.js';
import { useLiveKeys } from './live/use-keys.js';
import { useTerminal } from './live/use-terminal.js';
import { warningsFit } from './live/warnings.js';

export { STOPPING_TEXT } from './live/fixed-slots.js';
export { clipText } from './live/clip-text.js';

export interface LiveViewProps {
  store: ViewStore;
  /** `q`: ask the runner to stop after the batch in flight. Called once. */
  onStop?: () => void;
  /** Ctrl+C (raw mode swallows the signal, so the view forwards it). */
  onInterrupt?: () => void;
  /** False under NO_COLOR: no color or style props at all. */
  color?: boolean;
  /** Clock for the elapsed time; the run state itself only knows event times. */
  now?: () => number;
}

/** Sections by importance; with details on, the full texts take whatever is left at the end. */
const FITS: readonly Fit[] = [warningsFit, trainFit, latestFit, pairsFit, evalFit, pastRoundsFit];
const DETAIL_FITS: readonly Fit[] = [
  warningsFit,
  trainFit,
  pairsFit,
  evalFit,
  pastRoundsFit,
  latestFit,
];

export function LiveView({
  store,
  onStop,
  onInterrupt,
  color = true,
  now = Date.now,
}: LiveViewProps) {
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  const running = state.status === 'running' || state.status === 'pending';
  const { details, stopping, keysActive } = useLiveKeys({ running, onStop, onInterrupt });
  const { width, rows } = useTerminal(running);

  const round = currentRoundView(state) ?? state.rounds[state.rounds.length - 1] ?? null;
  const frame: Frame = { state, round, details, width };
  const fixed = fixedSlots(frame, { now: now(), running, stopping, keysActive });
  const slots = layOut(frame, rows, fixed, details ? DETAIL_FITS : FITS);

  return (
    <ColorContext.Provider value={color}>
      <Box flexDirection="column" width={width}>
        {slots.map((s) => (
          <Fragment key={s.at}>{s.node}</Fragment>
        ))}
      </Box>
    </ColorContext.Provider>
  );
}

// ---- mounting -------------------------------------------------------------------------------

export interface StartLiveViewOptions {
  /** `q`: stop gracefully after the batch in flight. */
  onStop: () => void;
  /**
   * Ctrl+C. Ink keeps the terminal in raw mode, so no SIGINT is sent; by default the view
   * re-raises SIGINT on this process so the CLI's own handler sees what it would without Ink.
   */
  onInterrupt?: () => void;
  env?: NodeJS.ProcessEnv;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  stderr?: NodeJS.WriteStream;
  /** Minimum time between re-renders. */
  throttleMs?: number;
}

export function startLiveView(opts: StartLiveViewOptions): Reporter {
  const store = createViewStore({ throttleMs: opts.throttleMs ?? 100 });
  const onInterrupt = opts.onInterrupt ?? (() => process.kill(process.pid, 'SIGINT'));
  const instance = render(
    <LiveView
      store={store}
      onStop={opts.onStop}
      onInterrupt={onInterrupt}
      color={colorEnabled(opts.env ?? process.env)}
    />,
    {
      // Ink spreads these over its defaults: an explicit undefined would erase process.stdout.
      stdout: opts.stdout ?? process.stdout,
      stdin: opts.stdin ?? process.stdin,
      stderr: opts.stderr ?? process.stderr,
      exitOnCtrlC: false,
      maxFps: Math.max(1, Math.round(1000 / Math.max(1, opts.throttleMs ?? 100))),
    },
  );
  let finished: Promise<void> | null = null;
  const sink: EventSink = (e) => {
    if (!finished) store.push(e);
  };
  return {
    sink,
    done() {
      finished ??= (async () => {
        store.flush();
        // Let React commit the flushed state before the final frame is drawn.
        await new Promise((r) => setImmediate(r));
        instance.unmount();
        await instance.waitUntilExit().catch(() => undefined);
        store.dispose();
      })();
      return finished;
    },
  };
}
