import { CommanderError } from 'commander';
import type { CliContext } from './context.js';
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { buildProgram } from './program.js';
import { reportError } from './report-error.js';

/**
 * Entry point of the `pipeline` CLI. Returns the exit code instead of exiting so tests and the
 * bin script share one path. Usage errors (unknown command or flag, missing argument) exit 2.
 */
export async function main(argv: string[], io?: Partial<CliContext>): Promise<number> {
  const ctx: CliContext = {
    out:
      io?.out ??
      ((s) => {
        process.stdout.write(s);
      }),
    err:
      io?.err ??
      ((s) => {
        process.stderr.write(s);
      }),
    debug: argv.includes('--debug'),
  };
  const program = buildProgram(ctx);
  if (argv.length === 0) {
    ctx.err(program.helpInformation());
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version "fail" with exit code 0 by design; everything else is a usage error.
      if (e.exitCode === 0) return EXIT_OK;
      return EXIT_USAGE;
    }
    return reportError(e, ctx.debug, ctx.err);
  }
}
