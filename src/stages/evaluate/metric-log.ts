import type { EvalMetricRow } from '../../store/types.js';
import type { RunContext } from '../context.js';

/**
 * Where the evaluate stage writes its metrics: each one is stored (NaN as null) and, when finite,
 * emitted; `record`ed ones are also kept for the gates. Also looks up round 0's values, the
 * baseline the drift metrics compare with.
 */
export class MetricLog {
  /** The metrics gates may test, by name. */
  readonly values: Record<string, number> = {};

  constructor(
    private readonly ctx: RunContext,
    private readonly round: number,
    private readonly stageIndex: number,
  ) {}

  /** Stores and emits a metric without offering it to the gates (a baseline, not a drift). */
  put(metric: string, value: number, detail?: Record<string, unknown>): void {
    this.ctx.store.putEvalMetric({
      round: this.round,
      metric,
      value: Number.isFinite(value) ? value : null,
      stageIndex: this.stageIndex,
      detail: detail ?? null,
    });
    if (Number.isFinite(value))
      this.ctx.emit({ type: 'eval-metric', round: this.round, metric, value });
  }

  record(metric: string, value: number, detail?: Record<string, unknown>): void {
    this.values[metric] = value;
    this.put(metric, value, detail);
  }

  /** This stage's stored value of `metric` in round 0 (the initial policy), if any. */
  atRound0(metric: string): EvalMetricRow | undefined {
    return this.ctx.store
      .evalMetrics()
      .find((m) => m.round === 0 && m.metric === metric && m.stageIndex === this.stageIndex);
  }
}
