// What every output mode (live view, plain lines, NDJSON) gives the CLI: a sink for the runner and
// a `done()` to await once the runner has returned, before the process prints anything else.

import type { EventSink } from '../events.js';

export interface Reporter {
  sink: EventSink;
  /** Finish output (last frame, summary) and wait until it is written. Safe to call twice. */
  done(): Promise<void>;
}

export type Writer = (s: string) => void;

/** Resolves once everything written to `stream` so far has been handed to the OS. */
export function drained(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    try {
      stream.write('', () => resolve());
    } catch {
      resolve();
    }
  });
}

/** NO_COLOR (no-color.org): any non-empty value turns color off. */
export function colorEnabled(env: NodeJS.ProcessEnv): boolean {
  return env.NO_COLOR === undefined || env.NO_COLOR === '';
}

/** CI=true and the other spellings CI systems use; CI=false or CI=0 do not count. */
export function isCi(env: NodeJS.ProcessEnv): boolean {
  const v = env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}
