import { Option, type Command } from 'commander';
import { type Device, Engine } from '../../engine/index.js';
import type { CliContext } from '../context.js';
import {
  deviceOption,
  intArg,
  threadsOption,
  quantizeOptions,
  quantizeOpts,
  type QuantizeFlags,
} from '../options.js';
import { readJsonl } from '../read-jsonl.js';

interface ScoreFlags extends QuantizeFlags {
  model: string;
  adapter?: string;
  data: string;
  batchSize: number;
  device: Device;
  threads?: number;
  json?: boolean;
}

export function registerScore(program: Command, ctx: CliContext): void {
  program
    .command('score')
    .description('log-probabilities of responses: sums over response tokens (TRL conventions)')
    .option('--model <dir>', 'Hugging Face model folder or builtin:tiny', 'builtin:tiny')
    .option('--adapter <dir>', 'PEFT LoRA adapter folder to apply to the model')
    .requiredOption(
      '--data <file.jsonl>',
      'TRL rows: prompt + chosen + rejected, or prompt + completion',
    )
    .addOption(
      new Option('--batch-size <n>', 'sequences per forward pass')
        .argParser(intArg(1, 4096))
        .default(8),
    )
    .addOption(deviceOption())
    .addOption(threadsOption())
    .addOption(quantizeOptions()[0])
    .addOption(quantizeOptions()[1])
    .option(
      '--json',
      'print one JSON object per row ({"chosen_logps","rejected_logps"} or {"logps"})',
    )
    .action(async (f: ScoreFlags) => {
      const rows = readJsonl(f.data);
      const engine = await Engine.open(f.model, {
        adapter: f.adapter,
        device: f.device,
        threads: f.threads,
        ...quantizeOpts(f),
      });
      try {
        const scores = await engine.score(
          rows.map((r) => r.value),
          rows.map((r) => r.where),
          f.batchSize,
        );
        scores.forEach((s, i) => {
          if (f.json)
            ctx.out(
              JSON.stringify(
                'chosen_logps' in s
                  ? { chosen_logps: s.chosen_logps, rejected_logps: s.rejected_logps }
                  : { logps: s.logps },
              ) + '\n',
            );
          else if ('chosen_logps' in s)
            ctx.out(
              `${rows[i].where}: chosen ${s.chosen_logps.toFixed(4)}  rejected ${s.rejected_logps.toFixed(4)}  margin ${(s.chosen_logps - s.rejected_logps).toFixed(4)}\n`,
            );
          else ctx.out(`${rows[i].where}: logps ${s.logps.toFixed(4)}\n`);
        });
      } finally {
        await engine.close();
      }
    });
}
