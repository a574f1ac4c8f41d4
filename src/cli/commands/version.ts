import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { packageVersion } from '../version.js';
import { onnxruntimeVersion } from '../../engine/index.js';

export function registerVersion(program: Command, ctx: CliContext): void {
  program
    .command('version')
    .description('print the version of this tool, Node.js and onnxruntime-node')
    .option('--json', 'print a JSON object')
    .action((opts: { json?: boolean }) => {
      const info = {
        pipeline: packageVersion(),
        node: process.versions.node,
        onnxruntime: onnxruntimeVersion(),
        platform: `${process.platform}-${process.arch}`,
      };
      if (opts.json) ctx.out(JSON.stringify(info) + '\n');
      else
        ctx.out(
          `pipeline ${info.pipeline}\nnode ${info.node}\nonnxruntime-node ${info.onnxruntime}\nplatform ${info.platform}\n`,
        );
    });
}
