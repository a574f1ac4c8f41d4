import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { formatMillis, formatTimestamp, textTable } from '../../report/format.js';
import { runsListing } from '../../report/runs.js';

interface RunsFlags {
  root: string;
  json?: boolean;
}

export function registerRuns(program: Command, ctx: CliContext): void {
  program
    .command('runs')
    .description('list the runs under the runs folder: status, rounds, pairs, start and duration')
    .option('--root <dir>', 'folder holding the run folders', 'runs')
    .option('--json', 'print the listing as JSON (one array; broken folders carry "error")')
    .action((f: RunsFlags) => {
      const rows = runsListing(f.root);
      if (f.json) {
        ctx.out(JSON.stringify(rows, null, 2) + '\n');
        return;
      }
      if (rows.length === 0) {
        ctx.out(`no runs under ${f.root}\n`);
        return;
      }
      ctx.out(
        textTable(
          ['NAME', 'ID', 'STATUS', 'ROUNDS', 'PAIRS', 'STARTED', 'DURATION'],
          rows.map((r) =>
            r.status === null
              ? [r.name ?? '?', r.id, 'unreadable', '-', '-', '-', '-']
              : [
                  r.name ?? '',
                  r.id,
                  r.status,
                  // Trained rounds done out of rounds planned (round 0, the baseline, is not one).
                  `${r.roundsDone}/${r.rounds}`,
                  String(r.pairs),
                  formatTimestamp(r.startedAt),
                  formatMillis(r.durationMs) + (r.running ? '+' : ''),
                ],
          ),
          ['left', 'left', 'left', 'right', 'right', 'left', 'right'],
        ),
      );
      const broken = rows.filter((r) => r.status === null);
      for (const r of broken) {
        ctx.out(`\n${r.id}: ${r.error?.message ?? 'unreadable'}\n`);
        if (r.error?.hint) ctx.out(`  hint: ${r.error.hint}\n`);
      }
      for (const r of rows)
        if (r.status === 'failed' && r.error) ctx.out(`\n${r.id} failed: ${r.error.message}\n`);
    });
}
