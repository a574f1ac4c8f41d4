import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { packageVersion } from '../version.js';
import { loadReportRun, renderReportHtml, type ReportRun } from '../../report/html.js';
import { withRun } from '../../report/open-run.js';
import { writeOutputFile } from './export.js';

interface ReportFlags {
  root: string;
  out: string;
}

export function registerReport(program: Command, ctx: CliContext): void {
  program
    .command('report')
    .description(
      'write one self-contained HTML report of a run (drift table, charts as inline SVG, sample pairs); with a second run id, compare the two and diff their constitutions',
    )
    .argument('<run-id>', 'a run folder name under --root (see `pipeline runs`)')
    .argument('[other-run-id]', 'a second run to compare with')
    .option('--root <dir>', 'folder holding the run folders', 'runs')
    .requiredOption('--out <file.html>', 'the HTML file to write')
    .action(async (runId: string, otherId: string | undefined, f: ReportFlags) => {
      const runs: ReportRun[] = [];
      for (const id of otherId === undefined ? [runId] : [runId, otherId])
        runs.push(await withRun(f.root, id, (store) => loadReportRun(store)));
      const { html, charts } = await renderReportHtml(runs, {
        generator: `rlaif-pipeline ${packageVersion()}`,
      });
      writeOutputFile(f.out, html);
      const drawn = charts.filter((c) => c.svg !== null).length;
      const skipped = charts.filter((c) => c.svg === null);
      ctx.out(
        `wrote ${f.out} (${drawn} chart${drawn === 1 ? '' : 's'}` +
          (skipped.length
            ? `; omitted for lack of data: ${skipped.map((c) => c.id).join(', ')}`
            : '') +
          ')\n',
      );
    });
}
