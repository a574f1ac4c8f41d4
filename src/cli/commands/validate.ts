import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { allowPathOption } from '../options.js';
import { validateWithTemplates } from '../../run/validate.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export function registerValidate(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description(
      'check a pipeline file without running it: every check `run` makes before any work (fields, stage order, judges, files, templates, prompt files, token lengths)',
    )
    .argument('<file>', 'pipeline YAML file, e.g. pipelines/self-reward.yaml')
    .addOption(allowPathOption())
    .action((file: string, f: { allowPath: string[] }) => {
      // the same function `run` calls first: what validates here does not fail at run start
      const { spec } = validateWithTemplates(file, f.allowPath);
      ctx.out(
        `${file}: ok (${plural(spec.stages.length, 'stage')}, ${plural(spec.rounds, 'round')})\n`,
      );
    });
}
