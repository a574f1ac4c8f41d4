import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { driftTable, type DriftRow, type DriftTable } from '../../report/drift.js';
import { formatDelta, formatNumber, stdoutWantsColor, textTable } from '../../report/format.js';
import { withRun } from '../../report/open-run.js';
import { gateStopText } from '../../store/gate-stops.js';
import type { GateStopRow } from '../../store/types.js';

interface DriftFlags {
  root: string;
  json?: boolean;
}

const RED = '\u001b[31m';
const RESET = '\u001b[0m';

/**
 * The drift table as text: one block per round. A regressed change always carries a `!` (so it
 * survives pipes, logs and colour-blind readers); with `color` it is also red.
 */
export function formatDrift(
  t: DriftTable,
  opts: { color: boolean; gateStops?: readonly GateStopRow[] },
): string {
  const stops = (opts.gateStops ?? []).map((g) => `stopped by gate: ${gateStopText(g)}\n`).join('');
  return formatRounds(t, opts) + (stops ? `\n${stops}` : '');
}

function formatRounds(t: DriftTable, opts: { color: boolean }): string {
  if (t.rows.length === 0)
    return `run ${t.runId ?? '?'}: no evaluate metrics stored yet (no evaluate stage has finished)\n`;
  const mark = (delta: number | null, reg: boolean) => formatDelta(delta) + (reg ? ' !' : '');
  let s =
    `drift of run ${t.runId ?? '?'}: ${t.metrics.length} metrics over rounds ${t.rounds.join(', ')}; ` +
    `${t.regressions === 0 ? 'no regressions' : `${t.regressions} regressed (marked !)`}\n`;
  for (const round of t.rounds) {
    const rows: DriftRow[] = t.rows.filter((r) => r.round === round);
    s += `\nround ${round}\n`;
    const table = textTable(
      ['METRIC', 'BETTER', 'VALUE', 'VS ROUND 0', 'VS PREVIOUS'],
      rows.map((r) => [
        r.metric,
        r.better,
        formatNumber(r.value),
        round === 0 ? '' : mark(r.deltaVsRound0, r.regressionVsRound0),
        r.previousRound === null
          ? ''
          : mark(r.deltaVsPrevious, r.regressionVsPrevious) +
            (r.previousRound !== round - 1 ? ` (r${r.previousRound})` : ''),
      ]),
      ['left', 'left', 'right', 'right', 'right'],
      (i, c, cell) => {
        const r = rows[i];
        const reg = c === 3 ? r.regressionVsRound0 : c === 4 ? r.regressionVsPrevious : false;
        return opts.color && reg ? `${RED}${cell}${RESET}` : cell;
      },
    );
    s += table
      .split('\n')
      .map((l) => (l ? '  ' + l : l))
      .join('\n');
  }
  return s;
}

export function registerDrift(program: Command, ctx: CliContext): void {
  program
    .command('drift')
    .description(
      'evaluate metrics per round with their change vs round 0 and vs the previous round; regressions marked',
    )
    .argument('<run-id>', 'a run folder name under --root (see `pipeline runs`)')
    .option('--root <dir>', 'folder holding the run folders', 'runs')
    .option('--json', 'print the table as JSON: {runId, rounds, metrics, rows, regressions}')
    .action(async (runId: string, f: DriftFlags) => {
      const { t, gateStops } = await withRun(f.root, runId, (store) => ({
        t: driftTable(store.evalMetrics(), store.runId),
        gateStops: store.gateStops(),
      }));
      // gateStops only when a gate stopped the run, so other runs' JSON keeps its shape
      if (f.json)
        ctx.out(JSON.stringify(gateStops.length ? { ...t, gateStops } : t, null, 2) + '\n');
      else ctx.out(formatDrift(t, { color: stdoutWantsColor(), gateStops }));
    });
}
