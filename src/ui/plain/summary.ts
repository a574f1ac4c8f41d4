// The end-of-run summary the plain reporter writes on stdout: outcome, pairs, one line per round,
// the final metrics and any gate that stopped the run.

import { latestMetricsRound, roundsDone, totalPairs, type RunState } from '../run-state.js';
import { formatNumber, formatReasons, formatSeconds } from '../format.js';
import { verdictLines } from '../verdict-lines.js';
import type { RoundView } from '../run-state.js';

/** The end-of-run summary (also usable by other front ends): rounds, pairs, final metrics. */
export function formatSummary(state: RunState): string {
  // the verdict leads: what the run did to the objective, before the wall of numbers
  const lines: string[] = verdictLines(state.verdict);
  const status = state.status === 'running' ? 'ended without a run-end event' : state.status;
  const took = state.seconds != null ? ` in ${formatSeconds(state.seconds)}` : '';
  lines.push(
    `${state.name ?? 'run'}${state.runId ? ` (${state.runId})` : ''}: ${status}${took}, ${roundsDone(state)}/${state.totalRounds} rounds`,
  );
  // no `error:` line: the CLI prints the error once, with its hint, when the run fails
  const pairs = totalPairs(state);
  if (state.rounds.some((r) => r.pairs))
    lines.push(
      `pairs: ${pairs.kept} kept, ${pairs.discardedTotal} discarded${pairs.discardedTotal ? ` (${formatReasons(pairs.discarded)})` : ''}`,
    );
  for (const r of state.rounds) {
    const parts: string[] = [];
    if (r.pairs) parts.push(`pairs ${r.pairs.kept}/${r.pairs.kept + r.pairs.discardedTotal} kept`);
    if (r.train?.kind === 'rl')
      parts.push(
        `rl reward ${formatNumber(r.train.margin.first)} → ${formatNumber(r.train.margin.last)}, kl ${formatNumber(r.train.accuracy.last)}, loss ${formatNumber(r.train.loss.last)}`,
      );
    else if (r.train)
      parts.push(
        `loss ${formatNumber(r.train.loss.first)} → ${formatNumber(r.train.loss.last)}, margin ${formatNumber(r.train.margin.last)}, acc ${formatNumber(r.train.accuracy.last)}`,
      );
    if (Object.keys(r.metrics).length) parts.push(metricsList(r.metrics));
    const judged = judgeCounts(r);
    if (judged.parse_failures)
      parts.push(`parse_failures ${judged.parse_failures} of ${judged.judgements} judgements`);
    if (!parts.length && r.status === 'pending') continue;
    const tag = r.status === 'done' || r.round === 0 ? '' : ` (${r.status})`;
    lines.push(`round ${r.round}${tag}: ${parts.join('; ') || 'no results'}`);
  }
  const final = latestMetricsRound(state);
  if (final) lines.push(`final metrics (round ${final.round}): ${metricsList(final.metrics)}`);
  const gates = state.gates.filter((g) => g.action === 'stop');
  for (const g of gates)
    lines.push(
      `stopped by gate: round ${g.round} ${g.metric} ${formatNumber(g.value)} ${g.op} ${formatNumber(g.threshold)}`,
    );
  if (state.warningCount) lines.push(`warnings: ${state.warningCount}`);
  return lines.join('\n') + '\n';
}

/** `win_rate 0.625, mean_score 3.5`: metrics in arrival order. */
export function metricsList(metrics: Record<string, number>): string {
  return Object.entries(metrics)
    .map(([k, v]) => `${k} ${formatNumber(v)}`)
    .join(', ');
}

/**
 * The round's judge stages' `parse_failures` and `judgements`, the numbers their stage-end lines
 * print; for a judge that does not count them (or before its stage ends), the judgement events
 * seen (one per stored judgement row).
 */
function judgeCounts(r: RoundView): { parse_failures: number; judgements: number } {
  const ended = r.stages.filter((st) => st.kind === 'judge' && st.counts.parse_failures != null);
  if (!ended.length) return { parse_failures: r.parseFailures, judgements: r.judgements };
  const sum = (k: string): number => ended.reduce((a, st) => a + (st.counts[k] ?? 0), 0);
  return { parse_failures: sum('parse_failures'), judgements: sum('judgements') };
}
