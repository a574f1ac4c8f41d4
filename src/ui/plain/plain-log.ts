// What the plain reporter remembers between events, beyond the folded run state: which warnings
// it already printed (repeats are only counted; the summary gives the totals), eval metrics that
// wait to print as one line per round, progress throttling, and whether the summary is out.

import { initialRunState, type RunState } from '../run-state.js';
import type { Writer } from '../reporter.js';
import { ProgressThrottle } from './progress-throttle.js';
import { formatSummary, metricsList } from './summary.js';

export interface PlainLogOptions {
  everyMs: number;
  everyFrac: number;
  trainEvery: number;
}

export class PlainLog {
  /** The run as folded so far, including the event being printed. */
  state: RunState = initialRunState();
  readonly progress: ProgressThrottle;
  readonly trainEvery: number;
  #summaryWritten = false;
  readonly #printedWarnings = new Set<string>();
  // Eval metrics wait for the end of their stage or round, to print as one line per round.
  readonly #pendingMetrics = new Map<number, Record<string, number>>();

  constructor(
    private readonly err: Writer,
    private readonly out: Writer,
    opts: PlainLogOptions,
  ) {
    this.progress = new ProgressThrottle(opts.everyMs, opts.everyFrac);
    this.trainEvery = opts.trainEvery;
  }

  /** The current event's time (ms), from the run's own clock. */
  get t(): number {
    return this.state.lastTime ?? 0;
  }

  line(s: string): void {
    this.err(s + '\n');
  }

  roundOf(r: number): string {
    return this.state.totalRounds ? `round ${r}/${this.state.totalRounds}` : `round ${r}`;
  }

  warnOnce(key: string, text: string): void {
    if (this.#printedWarnings.has(key)) return;
    this.#printedWarnings.add(key);
    this.line(`warning: ${text}`);
  }

  addMetric(round: number, metric: string, value: number): void {
    this.#pendingMetrics.set(round, {
      ...(this.#pendingMetrics.get(round) ?? {}),
      [metric]: value,
    });
  }

  /** Prints the waiting metrics of `round`, or of every round. */
  flushMetrics(round?: number): void {
    for (const [r, m] of [...this.#pendingMetrics]) {
      if (round != null && r !== round) continue;
      this.#pendingMetrics.delete(r);
      this.line(`${this.roundOf(r)} eval: ${metricsList(m)}`);
    }
  }

  /** The summary on `out`, once per run and only for a run that started. */
  writeSummary(): void {
    if (this.#summaryWritten || this.state.status === 'pending') return;
    this.#summaryWritten = true;
    this.out(formatSummary(this.state));
  }

  /** A new run (or a resumed one) in the same log starts with nothing remembered. */
  reset(): void {
    this.progress.clear();
    this.#printedWarnings.clear();
    this.#pendingMetrics.clear();
    this.#summaryWritten = false;
  }
}
