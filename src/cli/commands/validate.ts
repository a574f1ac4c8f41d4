import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { readPipelineFile } from '../../pipeline/read-pipeline-file.js';

export function registerValidate(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description('check a pipeline file (YAML syntax, size and alias limits) without running it')
    .argument('<file>', 'pipeline YAML file, e.g. pipelines/self-reward.yaml')
    .action((file: string) => {
      readPipelineFile(file);
      ctx.out(`${file}: ok\n`);
    });
}
