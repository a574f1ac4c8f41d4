// Picks the output for `pipeline run`: the live Ink view for a person at a terminal, NDJSON for
// --json, plain lines for everything else (pipes, CI logs, TERM=dumb).

import { startLiveView } from './live-view.js';
import { createNdjsonReporter } from './ndjson-reporter.js';
import { createPlainReporter } from './plain-reporter.js';
import { isCi, type Reporter } from './reporter.js';

export type ReporterKind = 'live' | 'plain' | 'ndjson';

export interface ChooseReporterOptions {
  /** --json */
  json?: boolean;
  /** Whether stdout and stdin are terminals; one boolean means both. Default: process's own. */
  isTTY?: boolean | { stdout: boolean; stdin: boolean };
  env?: NodeJS.ProcessEnv;
  /** `q` in the live view: stop after the batch in flight. */
  onStop?: () => void;
  /** Ctrl+C in the live view (default: re-raise SIGINT). */
  onInterrupt?: () => void;
}

export function pickReporterKind(
  opts: Omit<ChooseReporterOptions, 'onStop' | 'onInterrupt'>,
): ReporterKind {
  if (opts.json) return 'ndjson';
  const env = opts.env ?? process.env;
  const tty =
    opts.isTTY === undefined
      ? { stdout: process.stdout.isTTY === true, stdin: process.stdin.isTTY === true }
      : typeof opts.isTTY === 'boolean'
        ? { stdout: opts.isTTY, stdin: opts.isTTY }
        : opts.isTTY;
  // The live view needs stdin for its keys and a terminal that redraws in place.
  if (!tty.stdout || !tty.stdin || isCi(env) || env.TERM === 'dumb') return 'plain';
  return 'live';
}

export function chooseReporter(
  opts: ChooseReporterOptions = {},
): Reporter & { kind: ReporterKind } {
  const kind = pickReporterKind(opts);
  if (kind === 'ndjson') return { kind, ...createNdjsonReporter() };
  if (kind === 'plain') return { kind, ...createPlainReporter() };
  return {
    kind,
    ...startLiveView({
      onStop: opts.onStop ?? (() => undefined),
      onInterrupt: opts.onInterrupt,
      env: opts.env,
    }),
  };
}
