import { isPipelineError } from '../core/errors.js';
import { EXIT_FAILURE } from './exit-codes.js';

/**
 * Print an error the way users should see it: `error: <message>` and `hint: <hint>`, no stack
 * unless `debug`. Unexpected exceptions (bugs) also print without a stack by default, but say so.
 * Returns the exit code to use.
 */
export function reportError(
  e: unknown,
  debug: boolean,
  write: (s: string) => void = (s) => {
    process.stderr.write(s);
  },
): number {
  if (isPipelineError(e)) {
    write(`error: ${e.message}\n`);
    if (e.hint) write(`hint: ${e.hint}\n`);
    if (debug) write(`[${e.code}] ${e.stack ?? ''}\n`);
    else write(`(code ${e.code}; run with --debug for details)\n`);
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  write(`error: unexpected failure: ${err.message}\n`);
  if (debug) write(`${err.stack ?? ''}\n`);
  else write('hint: this is a bug; run again with --debug and report the stack trace\n');
  return EXIT_FAILURE;
}
