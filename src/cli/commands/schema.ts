import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { pipelineJsonSchema } from '../../spec/schema.js';

export function registerSchema(program: Command, ctx: CliContext): void {
  program
    .command('schema')
    .description('print the JSON Schema of pipeline files (for editor completion and checks)')
    .addHelpText(
      'after',
      '\nSave it and point your editor at it, e.g. with yaml-language-server put this first line ' +
        'in a pipeline file:\n  # yaml-language-server: $schema=./pipeline.schema.json\n' +
        'pipeline schema > pipeline.schema.json',
    )
    .action(() => {
      ctx.out(`${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`);
    });
}
