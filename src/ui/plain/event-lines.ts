// The plain reporter's line(s) for each event type; events with no handler print nothing.

import type { PipelineEvent } from '../../events.js';
import { findRound } from '../run-state.js';
import { formatNumber, formatRate, formatReasons, formatSeconds, oneLine } from '../format.js';
import type { PlainLog } from './plain-log.js';

type Printer<K extends PipelineEvent['type']> = (
  log: PlainLog,
  e: Extract<PipelineEvent, { type: K }>,
) => void;

export const EVENT_LINES: { [K in PipelineEvent['type']]?: Printer<K> } = {
  'run-start': (log, e) => {
    log.reset();
    log.line(
      `run ${e.name} (${e.runId})${e.resumed ? ' resumed' : ''}: ${e.rounds} round${e.rounds === 1 ? '' : 's'} of ${e.stages.join(' → ')}`,
    );
    log.line(`  dir ${e.dir}`);
  },

  'round-start': (log, e) => log.line(`${log.roundOf(e.round)} started (policy ${e.policy})`),

  'stage-start': (log, e) => {
    log.line(
      `${log.roundOf(e.round)} ${e.kind}: started${e.total > 0 ? `, ${e.total} to do` : ''}`,
    );
    log.progress.start(`${e.round}:${e.stage}`, log.t);
  },

  'stage-progress': (log, e) => {
    if (e.total > 0 && e.done >= e.total) return; // stage-end follows with the totals
    if (!log.progress.due(`${e.round}:${e.stage}`, log.t, e.done, e.total)) return;
    const st = findRound(log.state, e.round)?.stages[e.stage];
    const pct = e.total > 0 ? ` (${Math.floor((100 * e.done) / e.total)}%)` : '';
    const rate = st?.rate != null ? `, ${formatRate(st.rate)}` : '';
    const eta = st?.eta != null ? `, ETA ${formatSeconds(st.eta)}` : '';
    log.line(
      `${log.roundOf(e.round)} ${e.kind}: ${e.done}${e.total > 0 ? `/${e.total}` : ''} ${e.unit}${pct}${rate}${eta}`,
    );
  },

  'stage-end': (log, e) => {
    const r = findRound(log.state, e.round);
    const counts = Object.entries(e.counts).map(([k, v]) => `${k} ${v}`);
    // A judge that does not count its own parse failures still has them reported.
    if (
      e.kind === 'judge' &&
      r &&
      r.parseFailures > 0 &&
      !Object.keys(e.counts).some((k) => /pars/i.test(k))
    )
      counts.push(`parse_failures ${r.parseFailures}`);
    log.line(
      `${log.roundOf(e.round)} ${e.kind}: ${e.status} in ${formatSeconds(e.seconds)}${counts.length ? ` (${counts.join(', ')})` : ''}`,
    );
    if (e.kind === 'evaluate') log.flushMetrics(e.round);
  },

  judgement: (log, e) => {
    if (e.parseError != null)
      log.warnOnce(
        `parse:${e.round}:${e.judge}`,
        `${log.roundOf(e.round)}: judge ${e.judge} could not parse an answer (${e.promptId}): ${oneLine(e.parseError, 160)} (further parse failures this round are only counted)`,
      );
  },

  pairs: (log, e) => {
    const total = Object.values(e.discarded).reduce((a, b) => a + b, 0);
    log.line(
      `${log.roundOf(e.round)} pairs: ${e.kept} kept, ${total} discarded${total ? ` (${formatReasons(e.discarded)})` : ''}`,
    );
  },

  'train-step': (log, e) => {
    const due = e.step === 1 || e.step % log.trainEvery === 0 || e.step === e.totalSteps;
    if (due && e.rl)
      log.line(
        `${log.roundOf(e.round)} rl: step ${e.step}/${e.totalSteps} reward ${formatNumber(e.rl.reward)} kl ${formatNumber(e.rl.kl)} entropy ${formatNumber(e.rl.entropy)} loss ${formatNumber(e.loss)} grad ${formatNumber(e.gradNorm)} lr ${formatNumber(e.learningRate)}`,
      );
    else if (due)
      log.line(
        `${log.roundOf(e.round)} train: step ${e.step}/${e.totalSteps} loss ${formatNumber(e.loss)} margin ${formatNumber(e.margin)} acc ${formatNumber(e.accuracy)} grad ${formatNumber(e.gradNorm)} lr ${formatNumber(e.learningRate)}`,
      );
    if (![e.loss, e.margin, e.gradNorm].every(Number.isFinite))
      log.warnOnce(
        `nan:${e.round}`,
        `${log.roundOf(e.round)}: non-finite training values at step ${e.step} (loss ${e.loss}, grad norm ${e.gradNorm})`,
      );
  },

  'eval-metric': (log, e) => log.addMetric(e.round, e.metric, e.value),

  gate: (log, e) =>
    log.line(
      `gate: ${log.roundOf(e.round)} ${e.metric} ${formatNumber(e.value)} ${e.op} ${formatNumber(e.threshold)} → ${e.action}`,
    ),

  warning: (log, e) =>
    log.warnOnce(
      `warning:${e.round ?? ''}:${e.message}`,
      `${e.round != null ? `${log.roundOf(e.round)}: ` : ''}${e.message}`,
    ),

  'round-end': (log, e) => {
    log.flushMetrics(e.round);
    log.line(
      `${log.roundOf(e.round)} done in ${formatSeconds(e.seconds)}${e.checkpoint ? ` (checkpoint ${e.checkpoint})` : ''}`,
    );
  },

  'run-end': (log, e) => {
    log.flushMetrics();
    // the error itself is printed once, by the CLI, with its hint (src/cli/report-error.ts)
    log.line(`run ${e.status} in ${formatSeconds(e.seconds)}`);
    log.writeSummary();
  },
};
