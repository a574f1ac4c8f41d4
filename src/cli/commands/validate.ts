import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { allowPathOption } from '../options.js';
import { readPipelineFile } from '../../spec/read-file.js';
import { validatePipeline } from '../../spec/validate/index.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export function registerValidate(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description(
      'check a pipeline file (YAML syntax, fields, stage order, judge names, referenced files) without running it',
    )
    .argument('<file>', 'pipeline YAML file, e.g. pipelines/self-reward.yaml')
    .addOption(allowPathOption())
    .action((file: string, f: { allowPath: string[] }) => {
      const { spec } = validatePipeline(readPipelineFile(file), {
        checkFiles: true,
        allowPaths: f.allowPath,
      });
      ctx.out(
        `${file}: ok (${plural(spec.stages.length, 'stage')}, ${plural(spec.rounds, 'round')})\n`,
      );
    });
}
