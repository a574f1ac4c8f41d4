import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { PipelineError } from '../../engine/errors.js';
import { readPipelineFile } from '../../pipeline/read-pipeline-file.js';

export function registerRun(program: Command, _ctx: CliContext): void {
  program
    .command('run')
    .description('run a pipeline: generate, judge, pair, train and evaluate, round after round')
    .argument('<file>', 'pipeline YAML file, e.g. pipelines/self-reward.yaml')
    .action((file: string) => {
      readPipelineFile(file);
      throw new PipelineError({
        code: 'E_NOT_IMPLEMENTED',
        message: `${file}: the pipeline runner is not built yet`,
        hint: 'use `pipeline generate --model builtin:tiny --prompt "..."` to run the model meanwhile',
      });
    });
}
