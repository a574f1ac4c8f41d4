// Output for pipes, CI logs and dumb terminals: one human line per thing that happened, on
// stderr, never a cursor or color escape; and a summary on stdout when the run ends, so
// `pipeline run x.yaml > summary.txt` keeps just the result.

import type { EventSink, PipelineEvent } from '../events.js';
import {
  findRound,
  initialRunState,
  latestMetricsRound,
  reduceRunState,
  roundsDone,
  totalPairs,
  type RunState,
} from './run-state.js';
import { formatSeconds, formatNumber, formatRate, formatReasons, oneLine } from './format.js';
import { drained, type Reporter, type Writer } from './reporter.js';

export interface PlainReporterOptions {
  /** Progress lines; default process.stderr. */
  err?: Writer;
  /** The final summary; default process.stdout. */
  out?: Writer;
  /** A progress line at most this often per stage, unless a new 10% step is reached. */
  progressEveryMs?: number;
  /** Also a progress line whenever this fraction of the stage is newly done. */
  progressEveryFraction?: number;
  /** A train-step line every this many steps (plus the first and the last). */
  trainEvery?: number;
}

export function createPlainReporter(opts: PlainReporterOptions = {}): Reporter {
  const err: Writer = opts.err ?? ((s) => void process.stderr.write(s));
  const out: Writer = opts.out ?? ((s) => void process.stdout.write(s));
  const everyMs = opts.progressEveryMs ?? 2000;
  const everyFrac = opts.progressEveryFraction ?? 0.1;
  const trainEvery = Math.max(1, opts.trainEvery ?? 10);

  let state = initialRunState();
  let summaryWritten = false;
  // Per stage (round:stage): when its last progress line was printed and at which step.
  const lastProgress = new Map<string, { t: number; bucket: number }>();
  // Warnings already printed: repeats are only counted (the summary gives the totals).
  const printedWarnings = new Set<string>();
  // Eval metrics wait for the end of their stage or round, to print as one line per round.
  const pendingMetrics = new Map<number, Record<string, number>>();

  const line = (s: string) => err(s + '\n');
  const roundOf = (r: number) =>
    state.totalRounds ? `round ${r}/${state.totalRounds}` : `round ${r}`;

  const flushMetrics = (round?: number) => {
    for (const [r, m] of [...pendingMetrics]) {
      if (round != null && r !== round) continue;
      pendingMetrics.delete(r);
      const text = Object.entries(m)
        .map(([k, v]) => `${k} ${formatNumber(v)}`)
        .join(', ');
      line(`${roundOf(r)} eval: ${text}`);
    }
  };

  const warnOnce = (key: string, text: string) => {
    if (printedWarnings.has(key)) return;
    printedWarnings.add(key);
    line(`warning: ${text}`);
  };

  const writeSummary = () => {
    if (summaryWritten || state.status === 'pending') return;
    summaryWritten = true;
    out(formatSummary(state));
  };

  const sink: EventSink = (e: PipelineEvent) => {
    try {
      state = reduceRunState(state, e);
    } catch {
      return; // a reporter bug must not stop the run
    }
    const t = state.lastTime ?? 0;
    switch (e.type) {
      case 'run-start':
        lastProgress.clear();
        printedWarnings.clear();
        pendingMetrics.clear();
        summaryWritten = false;
        line(
          `run ${e.name} (${e.runId})${e.resumed ? ' resumed' : ''}: ${e.rounds} round${e.rounds === 1 ? '' : 's'} of ${e.stages.join(' → ')}`,
        );
        line(`  dir ${e.dir}`);
        break;
      case 'round-start':
        line(`${roundOf(e.round)} started (policy ${e.policy})`);
        break;
      case 'stage-start':
        line(`${roundOf(e.round)} ${e.kind}: started${e.total > 0 ? `, ${e.total} to do` : ''}`);
        lastProgress.set(`${e.round}:${e.stage}`, { t, bucket: 0 });
        break;
      case 'stage-progress': {
        if (e.total > 0 && e.done >= e.total) break; // stage-end follows with the totals
        const key = `${e.round}:${e.stage}`;
        const last = lastProgress.get(key) ?? { t: -Infinity, bucket: 0 };
        const bucket = e.total > 0 ? Math.floor(e.done / e.total / everyFrac) : 0;
        if (bucket <= last.bucket && t - last.t < everyMs) break;
        lastProgress.set(key, { t, bucket: Math.max(bucket, last.bucket) });
        const st = findRound(state, e.round)?.stages[e.stage];
        const pct = e.total > 0 ? ` (${Math.floor((100 * e.done) / e.total)}%)` : '';
        const rate = st?.rate != null ? `, ${formatRate(st.rate)}` : '';
        const eta = st?.eta != null ? `, ETA ${formatSeconds(st.eta)}` : '';
        line(
          `${roundOf(e.round)} ${e.kind}: ${e.done}${e.total > 0 ? `/${e.total}` : ''} ${e.unit}${pct}${rate}${eta}`,
        );
        break;
      }
      case 'stage-end': {
        const r = findRound(state, e.round);
        const counts = Object.entries(e.counts).map(([k, v]) => `${k} ${v}`);
        if (
          e.kind === 'judge' &&
          r &&
          r.parseFailures > 0 &&
          !Object.keys(e.counts).some((k) => /pars/i.test(k))
        )
          counts.push(`unparseable ${r.parseFailures}`);
        line(
          `${roundOf(e.round)} ${e.kind}: ${e.status} in ${formatSeconds(e.seconds)}${counts.length ? ` (${counts.join(', ')})` : ''}`,
        );
        if (e.kind === 'evaluate') flushMetrics(e.round);
        break;
      }
      case 'judgement':
        if (e.parseError != null)
          warnOnce(
            `parse:${e.round}:${e.judge}`,
            `${roundOf(e.round)}: judge ${e.judge} could not parse an answer (${e.promptId}): ${oneLine(e.parseError, 160)} (further parse failures this round are only counted)`,
          );
        break;
      case 'pairs': {
        const total = Object.values(e.discarded).reduce((a, b) => a + b, 0);
        line(
          `${roundOf(e.round)} pairs: ${e.kept} kept, ${total} discarded${total ? ` (${formatReasons(e.discarded)})` : ''}`,
        );
        break;
      }
      case 'train-step': {
        if (e.step === 1 || e.step % trainEvery === 0 || e.step === e.totalSteps)
          line(
            `${roundOf(e.round)} train: step ${e.step}/${e.totalSteps} loss ${formatNumber(e.loss)} margin ${formatNumber(e.margin)} acc ${formatNumber(e.accuracy)} grad ${formatNumber(e.gradNorm)} lr ${formatNumber(e.learningRate)}`,
          );
        if (![e.loss, e.margin, e.gradNorm].every(Number.isFinite))
          warnOnce(
            `nan:${e.round}`,
            `${roundOf(e.round)}: non-finite training values at step ${e.step} (loss ${e.loss}, grad norm ${e.gradNorm})`,
          );
        break;
      }
      case 'eval-metric':
        pendingMetrics.set(e.round, {
          ...(pendingMetrics.get(e.round) ?? {}),
          [e.metric]: e.value,
        });
        break;
      case 'gate':
        line(
          `gate: ${roundOf(e.round)} ${e.metric} ${formatNumber(e.value)} ${e.op} ${formatNumber(e.threshold)} → ${e.action}`,
        );
        break;
      case 'warning':
        warnOnce(
          `warning:${e.round ?? ''}:${e.message}`,
          `${e.round != null ? `${roundOf(e.round)}: ` : ''}${e.message}`,
        );
        break;
      case 'round-end':
        flushMetrics(e.round);
        line(
          `${roundOf(e.round)} done in ${formatSeconds(e.seconds)}${e.checkpoint ? ` (checkpoint ${e.checkpoint})` : ''}`,
        );
        break;
      case 'run-end':
        flushMetrics();
        line(
          `run ${e.status} in ${formatSeconds(e.seconds)}${e.error ? `: ${oneLine(e.error, 500)}` : ''}`,
        );
        writeSummary();
        break;
    }
  };

  let finished: Promise<void> | null = null;
  return {
    sink,
    done() {
      finished ??= (async () => {
        flushMetrics();
        // A runner that threw before run-end still deserves a summary of what it did.
        writeSummary();
        if (!opts.out) await drained(process.stdout);
        if (!opts.err) await drained(process.stderr);
      })();
      return finished;
    },
  };
}

/** The end-of-run summary (also usable by other front ends): rounds, pairs, final metrics. */
export function formatSummary(state: RunState): string {
  const lines: string[] = [];
  const status = state.status === 'running' ? 'ended without a run-end event' : state.status;
  const took = state.seconds != null ? ` in ${formatSeconds(state.seconds)}` : '';
  lines.push(
    `${state.name ?? 'run'}${state.runId ? ` (${state.runId})` : ''}: ${status}${took}, ${roundsDone(state)}/${state.totalRounds} rounds`,
  );
  if (state.error) lines.push(`error: ${state.error}`);
  const pairs = totalPairs(state);
  if (state.rounds.some((r) => r.pairs))
    lines.push(
      `pairs: ${pairs.kept} kept, ${pairs.discardedTotal} discarded${pairs.discardedTotal ? ` (${formatReasons(pairs.discarded)})` : ''}`,
    );
  for (const r of state.rounds) {
    const parts: string[] = [];
    if (r.pairs) parts.push(`pairs ${r.pairs.kept}/${r.pairs.kept + r.pairs.discardedTotal} kept`);
    if (r.train)
      parts.push(
        `loss ${formatNumber(r.train.loss.first)} → ${formatNumber(r.train.loss.last)}, margin ${formatNumber(r.train.margin.last)}, acc ${formatNumber(r.train.accuracy.last)}`,
      );
    const m = Object.entries(r.metrics);
    if (m.length) parts.push(m.map(([k, v]) => `${k} ${formatNumber(v)}`).join(', '));
    if (r.parseFailures) parts.push(`${r.parseFailures} unparseable judgements`);
    if (!parts.length && r.status === 'pending') continue;
    const tag = r.status === 'done' || r.round === 0 ? '' : ` (${r.status})`;
    lines.push(`round ${r.round}${tag}: ${parts.join('; ') || 'no results'}`);
  }
  const final = latestMetricsRound(state);
  if (final)
    lines.push(
      `final metrics (round ${final.round}): ${Object.entries(final.metrics)
        .map(([k, v]) => `${k} ${formatNumber(v)}`)
        .join(', ')}`,
    );
  const gates = state.gates.filter((g) => g.action === 'stop');
  for (const g of gates)
    lines.push(
      `stopped by gate: round ${g.round} ${g.metric} ${formatNumber(g.value)} ${g.op} ${formatNumber(g.threshold)}`,
    );
  if (state.warningCount) lines.push(`warnings: ${state.warningCount}`);
  return lines.join('\n') + '\n';
}
