import { Option, type Command } from 'commander';
import { PipelineError } from '../../engine/errors.js';
import type { PipelineEvent } from '../../pipeline/events.js';
import { runPipeline } from '../../pipeline/runner.js';
import type { CliContext } from '../context.js';

interface RunFlags {
  resume?: string;
  root: string;
  json?: boolean;
}

/** Until the UI reporters are wired: one plain line per stage event on stderr, NDJSON with --json. */
function simpleSink(ctx: CliContext, json: boolean): (e: PipelineEvent) => void {
  return (e) => {
    if (json) return ctx.out(JSON.stringify(e) + '\n');
    if (e.type === 'stage-end')
      ctx.err(
        `round ${e.round} ${e.kind}: ${e.status} in ${e.seconds.toFixed(1)} s ${JSON.stringify(e.counts)}\n`,
      );
    else if (e.type === 'run-start') ctx.err(`run ${e.runId} -> ${e.dir}\n`);
    else if (e.type === 'warning') ctx.err(`warning: ${e.message}\n`);
    else if (e.type === 'run-end')
      ctx.out(`run ${e.runId}: ${e.status} in ${e.seconds.toFixed(1)} s\n`);
  };
}

export function registerRun(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('run a pipeline: generate, judge, pair, train and evaluate, round after round')
    .argument('<file>', 'pipeline YAML file, e.g. pipelines/self-reward.yaml')
    .option('--resume <run-id>', 'continue a crashed or interrupted run where it stopped')
    .addOption(new Option('--root <dir>', 'folder that holds run folders').default('runs'))
    .option('--json', 'write one NDJSON event per line on stdout')
    .action(async (file: string, f: RunFlags) => {
      const controller = new AbortController();
      let interrupts = 0;
      const onSigint = () => {
        interrupts++;
        if (interrupts === 1) {
          ctx.err('stopping after the work in flight (Ctrl-C again to quit at once)\n');
          controller.abort();
        } else process.exit(130);
      };
      process.on('SIGINT', onSigint);
      try {
        const outcome = await runPipeline({
          file,
          root: f.root,
          resume: f.resume,
          signal: controller.signal,
          sink: simpleSink(ctx, !!f.json),
        });
        if (outcome.status === 'interrupted')
          throw new PipelineError({
            code: 'E_RUN_INTERRUPTED',
            message: `run ${outcome.runId} interrupted; finished work is kept in ${outcome.runDir}`,
            hint: `continue it with \`pipeline run ${file} --resume ${outcome.runId}\``,
            exitCode: 130,
          });
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}
