// `--json`: every event as one JSON line on stdout, exactly as the runner emitted it, for jq,
// dashboards and tests. Non-finite numbers (a NaN loss) become null, as JSON has no NaN.

import type { EventSink } from '../events.js';
import { drained, type Reporter, type Writer } from './reporter.js';

export function createNdjsonReporter(opts: { out?: Writer } = {}): Reporter {
  const out: Writer = opts.out ?? ((s) => void process.stdout.write(s));
  const sink: EventSink = (e) => out(JSON.stringify(e) + '\n');
  return {
    sink,
    done: () => (opts.out ? Promise.resolve() : drained(process.stdout)),
  };
}
