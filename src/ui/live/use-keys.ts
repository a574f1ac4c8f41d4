// The live view's keys: q asks the runner to stop once, d toggles details, and Ctrl+C (which raw
// mode swallows as a signal) is forwarded.

import { useRef, useState } from 'react';
import { useInput, useStdin } from 'ink';

export interface KeyHandlers {
  running: boolean;
  onStop?: () => void;
  onInterrupt?: () => void;
}

export interface KeyState {
  details: boolean;
  stopping: boolean;
  /** Keys work only where stdin can be put in raw mode. */
  keysActive: boolean;
}

export function useLiveKeys({ running, onStop, onInterrupt }: KeyHandlers): KeyState {
  const [details, setDetails] = useState(false);
  const [stopping, setStopping] = useState(false);
  // The state above reaches the handler only after React re-renders; a second q typed before
  // that (a busy machine delays renders) would ask again. The ref knows at once.
  const asked = useRef(false);
  const { isRawModeSupported } = useStdin();
  useInput(
    (input, key) => {
      if (key.ctrl && input === 'c') {
        onInterrupt?.();
      } else if (input === 'q') {
        if (!asked.current && running) {
          asked.current = true;
          setStopping(true);
          onStop?.();
        }
      } else if (input === 'd') {
        setDetails((d) => !d);
      }
    },
    { isActive: isRawModeSupported === true },
  );
  return { details, stopping, keysActive: isRawModeSupported };
}
