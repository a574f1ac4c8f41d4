import { Command, Option } from 'commander';
import type { CliContext } from './context.js';
import { packageVersion } from './version.js';
import { registerAudit } from './commands/audit.js';
import { registerDrift } from './commands/drift.js';
import { registerExport } from './commands/export.js';
import { registerGenerate } from './commands/generate.js';
import { registerPull } from './commands/pull.js';
import { registerReport } from './commands/report.js';
import { registerRun } from './commands/run.js';
import { registerRuns } from './commands/runs.js';
import { registerSchema } from './commands/schema.js';
import { registerScore } from './commands/score.js';
import { registerServe } from './commands/serve.js';
import { registerShow } from './commands/show.js';
import { registerTrain } from './commands/train.js';
import { registerRl } from './commands/rl.js';
import { registerTrainRm } from './commands/train-rm.js';
import { registerValidate } from './commands/validate.js';
import { registerVersion } from './commands/version.js';

/** Build the commander program: one subcommand per job, each with its own --help. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('pipeline')
    .description(
      'Run self-rewarding and constitutional-AI (RLAIF) loops: generate, judge against a ' +
        'constitution, store preference pairs, retrain with DPO, and inspect what changed.',
    )
    .version(packageVersion(), '-V, --version', 'print the version number')
    .addOption(new Option('--debug', 'show stack traces and internal details on errors'))
    .showHelpAfterError(true)
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: ctx.out, writeErr: ctx.err })
    .exitOverride();

  registerRun(program, ctx);
  registerGenerate(program, ctx);
  registerScore(program, ctx);
  registerServe(program, ctx);
  registerTrain(program, ctx);
  registerRl(program, ctx);
  registerTrainRm(program, ctx);
  registerPull(program, ctx);
  registerRuns(program, ctx);
  registerShow(program, ctx);
  registerExport(program, ctx);
  registerDrift(program, ctx);
  registerReport(program, ctx);
  registerAudit(program, ctx);
  registerValidate(program, ctx);
  registerSchema(program, ctx);
  registerVersion(program, ctx);

  // Subcommands inherit output routing and throw instead of calling process.exit.
  for (const cmd of program.commands) {
    cmd.configureOutput({ writeOut: ctx.out, writeErr: ctx.err }).exitOverride();
    cmd.showHelpAfterError(true);
  }
  return program;
}
