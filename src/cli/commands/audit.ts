import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { PipelineError } from '../../core/errors.js';
import { agreementLine, humanAgreement } from '../../audit/agreement.js';
import { exportAuditCsv, importAuditCsv } from '../../audit/csv.js';
import { LOOPBACK_HOSTS, startAuditServer } from '../../audit/server.js';
import { openRun } from '../../report/open-run.js';
import { who } from '../../run/who.js';
import type { RunStore } from '../../store/run-store.js';
import type { CliContext } from '../context.js';
import { intArg } from '../options.js';
import { writeOutputFile } from './export.js';
import { untilStopped } from '../until-stopped.js';

interface AuditFlags {
  root: string;
  round?: number;
  host: string;
  port: number;
  annotator?: string;
  export?: string;
  import?: string;
}

function progressLines(store: RunStore, round?: number): string[] {
  const rounds = [...new Set(store.auditItems(round).map((i) => i.round))];
  return rounds.map((r) => `round ${r}: ${agreementLine(humanAgreement(store.auditItems(r)))}\n`);
}

export function registerAudit(program: Command, ctx: CliContext): void {
  program
    .command('audit')
    .description(
      "label a run's audit sample (the pairs its audit stages drew) on a local page: prompt, both " +
        'answers, keys a / b / t / s; or move the labels through CSV. Labels feed judge-vs-human ' +
        'agreement (drift, report, gates) and, with train human_labels: override, later training.',
    )
    .argument('<run-id>', 'a run folder name under --root (see `pipeline runs`)')
    .option('--root <dir>', 'folder holding the run folders', 'runs')
    .option('--round <n>', "only this round's sample", intArg(1))
    .addOption(
      new Option(
        '--host <addr>',
        'loopback address to bind (the page is never served beyond this machine)',
      )
        .choices([...LOOPBACK_HOSTS])
        .default('127.0.0.1'),
    )
    .option('--port <n>', 'port of the page (0: any free port)', intArg(0, 65535), 8377)
    .option('--annotator <name>', 'your name on the labels (default: user@host)')
    .option(
      '--export <file.csv>',
      "write the sample and its labels as CSV ('-' for stdout) and exit",
    )
    .option('--import <file.csv>', 'store the labels of a CSV made by --export and exit')
    .action(async (runId: string, f: AuditFlags) => {
      if (f.export && f.import)
        throw new PipelineError({
          code: 'E_USAGE',
          message: '--export and --import are two jobs',
          hint: 'run them one after the other',
          exitCode: 2,
        });
      const store = openRun(f.root, runId, { write: !f.export });
      try {
        const items = store.auditItems(f.round);
        if (!items.length)
          throw new PipelineError({
            code: 'E_AUDIT_EMPTY',
            message: `run ${runId} has no audit sample${f.round ? ` in round ${f.round}` : ''}`,
            hint: 'add `- { kind: audit, sample: 8 }` after the pair stage of the pipeline file (the sample is drawn when a round reaches it)',
          });
        if (f.export) {
          const csv = exportAuditCsv(store, f.round);
          if (f.export === '-') ctx.out(csv);
          else {
            writeOutputFile(f.export, csv);
            ctx.out(`wrote ${f.export} (${items.length} items)\n`);
          }
          return;
        }
        if (f.import) {
          let text: string;
          try {
            text = readFileSync(f.import, 'utf8');
          } catch (e) {
            throw new PipelineError({
              code: 'E_AUDIT_CSV',
              message: `cannot read ${f.import}: ${e instanceof Error ? e.message : String(e)}`,
              hint: 'pass the CSV written by `pipeline audit <run-id> --export <file.csv>`',
            });
          }
          const r = importAuditCsv(store, text, f.import, f.annotator);
          ctx.out(
            `stored ${r.labelled} labels from ${f.import} (${r.blank} rows without a label)\n`,
          );
          for (const line of progressLines(store, f.round)) ctx.out(line);
          return;
        }
        const server = await startAuditServer({
          store,
          runId,
          annotator: f.annotator ?? who(),
          host: f.host,
          port: f.port,
          round: f.round,
          onLabel: (id, label, annotator) => ctx.out(`${annotator}: ${label} on ${id}\n`),
        }).catch((e: NodeJS.ErrnoException) => {
          throw new PipelineError({
            code: 'E_AUDIT_LISTEN',
            message: `cannot serve the audit page on ${f.host}:${f.port}: ${e.message}`,
            hint:
              e.code === 'EADDRINUSE'
                ? 'pass another --port (0 picks a free one)'
                : 'check --host and --port',
          });
        });
        for (const line of progressLines(store, f.round)) ctx.out(line);
        ctx.out(`audit page: ${server.url} (Ctrl-C to stop)\n`);
        await untilStopped();
        await server.close();
        for (const line of progressLines(store, f.round)) ctx.out(line);
      } finally {
        store.close();
      }
    });
}
