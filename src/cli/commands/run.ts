import { Option, type Command } from 'commander';
import { PipelineError } from '../../core/errors.js';
import { runPipeline } from '../../run/runner.js';
import { chooseReporter } from '../../ui/choose-reporter.js';
import type { CliContext } from '../context.js';
import { EXIT_AWAITING_AUDIT } from '../exit-codes.js';
import { gateStopError } from '../gate-stop-exit.js';
import { allowPathOption, intArg } from '../options.js';

interface RunFlags {
  resume?: string;
  root: string;
  json?: boolean;
  allowPath: string[];
  acceptChanged: string[];
  fromRound?: number;
}

export function registerRun(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('run a pipeline: generate, judge, pair, train and evaluate, round after round')
    .argument('<file>', 'pipeline YAML file, e.g. pipelines/self-reward.yaml')
    .option('--resume <run-id>', 'continue a crashed or interrupted run where it stopped')
    .addOption(new Option('--root <dir>', 'folder that holds run folders').default('runs'))
    .option('--json', 'write one NDJSON event per line on stdout')
    .addOption(allowPathOption())
    .addOption(
      new Option(
        '--accept-changed <file>',
        'with --resume: go on although this input file changed since the run started (repeatable; recorded in the run)',
      )
        .argParser((v: string, prev: string[]) => [...prev, v])
        .default([]),
    )
    .addOption(
      new Option(
        '--from-round <n>',
        'with --resume: set aside the checkpoints trained from round n on and train again from the last intact one (stored rows are kept)',
      ).argParser(intArg(1)),
    )
    .action(async (file: string, f: RunFlags) => {
      const controller = new AbortController();
      const stop = () => {
        if (!controller.signal.aborted) {
          if (!f.json)
            ctx.err('stopping after the work in flight (Ctrl-C again to quit at once)\n');
          controller.abort();
        }
      };
      let interrupts = 0;
      const onSigint = () => {
        if (++interrupts === 1) stop();
        else process.exit(130);
      };
      const reporter = chooseReporter({ json: !!f.json, onStop: stop, onInterrupt: onSigint });
      process.on('SIGINT', onSigint);
      let outcome;
      try {
        outcome = await runPipeline({
          file,
          root: f.root,
          resume: f.resume,
          allowPaths: f.allowPath,
          acceptChanged: f.acceptChanged,
          fromRound: f.fromRound,
          signal: controller.signal,
          sink: reporter.sink,
        });
      } finally {
        process.off('SIGINT', onSigint);
        await reporter.done();
      }
      if (outcome.status === 'interrupted')
        throw new PipelineError({
          code: 'E_RUN_INTERRUPTED',
          message: `run ${outcome.runId} interrupted; finished work is kept in ${outcome.runDir}`,
          hint: `continue it with \`pipeline run ${file} --resume ${outcome.runId}\``,
          exitCode: 130,
        });
      if (outcome.status === 'stopped-by-gate') throw gateStopError(file, outcome);
      if (outcome.status === 'awaiting-audit')
        throw new PipelineError({
          code: 'E_RUN_AWAITING_AUDIT',
          message: `run ${outcome.runId} waits for its human audit: an audit stage requires every drawn pair to be labelled before the round goes on; finished work is kept in ${outcome.runDir}`,
          hint:
            `label them with \`pipeline audit ${outcome.runId}\` (or --import a CSV), then ` +
            `continue with \`pipeline run ${file} --resume ${outcome.runId}\``,
          exitCode: EXIT_AWAITING_AUDIT,
        });
    });
}
