import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Option, type Command } from 'commander';
import { PipelineError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { intArg } from '../options.js';
import { EXPORT_FORMATS, exportRows, toJsonl, type ExportFormat } from '../../report/export.js';
import { withRun } from '../../report/open-run.js';

interface ExportFlags {
  root: string;
  round?: number;
  format: ExportFormat;
  out?: string;
  ids?: boolean;
}

/**
 * Writes via a temporary file and a rename, so a failed write never leaves a truncated dataset
 * where a training job might pick it up. Shared with `pipeline report`.
 */
export function writeOutputFile(path: string, content: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new PipelineError(
      {
        code: 'E_REPORT_WRITE',
        message: `cannot write ${path}: ${e instanceof Error ? e.message : String(e)}`,
        hint: 'check that the folder is writable and that the path is not a folder',
      },
      { cause: e },
    );
  }
}

export function registerExport(program: Command, ctx: CliContext): void {
  program
    .command('export')
    .description(
      "a run's preference pairs as TRL JSONL: preference rows (prompt/chosen/rejected) or KTO rows (prompt/completion/label)",
    )
    .argument('<run-id>', 'a run folder name under --root (see `pipeline runs`)')
    .option('--root <dir>', 'folder holding the run folders', 'runs')
    .addOption(new Option('--round <n>', 'only the pairs of this round').argParser(intArg(0)))
    .addOption(
      new Option(
        '--format <format>',
        'trl: one preference row per pair; kto: two rows per pair (chosen true, rejected false), ' +
          'then each candidate a label stage marked desirable (true) or undesirable (false)',
      )
        .choices([...EXPORT_FORMATS])
        .makeOptionMandatory(),
    )
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--ids', 'add pair_id and round to every row (to trace rows back with `pipeline show`)')
    .action(async (runId: string, f: ExportFlags) => {
      const rows = await withRun(f.root, runId, (store) =>
        exportRows(store, { format: f.format, round: f.round, ids: f.ids }),
      );
      const where = f.round === undefined ? 'all rounds' : `round ${f.round}`;
      if (f.out === undefined) {
        ctx.out(toJsonl(rows));
        // The count goes to stderr so stdout stays pure JSONL for pipes.
        if (rows.length === 0) ctx.err(`warning: run '${runId}' has no pairs (${where})\n`);
        return;
      }
      writeOutputFile(f.out, toJsonl(rows));
      ctx.out(`wrote ${rows.length} ${f.format} rows (${where}) to ${f.out}\n`);
    });
}
