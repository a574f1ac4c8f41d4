// Output for pipes, CI logs and dumb terminals: one human line per thing that happened, on
// stderr, never a cursor or color escape; and a summary on stdout when the run ends, so
// `pipeline run x.yaml > summary.txt` keeps just the result. The lines per event type are in
// plain/event-lines.ts, the summary in plain/summary.ts.

import type { EventSink, PipelineEvent } from '../events.js';
import { reduceRunState } from './run-state.js';
import { drained, type Reporter, type Writer } from './reporter.js';
import { EVENT_LINES } from './plain/event-lines.js';
import { PlainLog } from './plain/plain-log.js';

export { formatSummary } from './plain/summary.js';

export interface PlainReporterOptions {
  /** Progress lines; default process.stderr. */
  err?: Writer;
  /** The final summary; default process.stdout. */
  out?: Writer;
  /** A progress line at most this often per stage, unless a new 10% step is reached. */
  progressEveryMs?: number;
  /** Also a progress line whenever this fraction of the stage is newly done. */
  progressEveryFraction?: number;
  /** A train-step line every this many steps (plus the first and the last). */
  trainEvery?: number;
}

export function createPlainReporter(opts: PlainReporterOptions = {}): Reporter {
  const err: Writer = opts.err ?? ((s) => void process.stderr.write(s));
  const out: Writer = opts.out ?? ((s) => void process.stdout.write(s));
  const log = new PlainLog(err, out, {
    everyMs: opts.progressEveryMs ?? 2000,
    everyFrac: opts.progressEveryFraction ?? 0.1,
    trainEvery: Math.max(1, opts.trainEvery ?? 10),
  });

  const sink: EventSink = (e: PipelineEvent) => {
    try {
      log.state = reduceRunState(log.state, e);
    } catch {
      return; // a reporter bug must not stop the run
    }
    if (!Object.hasOwn(EVENT_LINES, e.type)) return;
    const print = EVENT_LINES[e.type] as (log: PlainLog, e: PipelineEvent) => void;
    print(log, e);
  };

  let finished: Promise<void> | null = null;
  return {
    sink,
    done() {
      finished ??= (async () => {
        log.flushMetrics();
        // A runner that threw before run-end still deserves a summary of what it did.
        log.writeSummary();
        if (!opts.out) await drained(process.stdout);
        if (!opts.err) await drained(process.stderr);
      })();
      return finished;
    },
  };
}
