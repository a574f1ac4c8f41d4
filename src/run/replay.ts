// Resuming a run whose stages are already done runs nothing, so the stages' results would never
// reach the reporters and the summary would say "no results" for finished rounds. This tells the
// event sink what the stored rounds produced: their pairs, training curves and eval metrics.
// These events go to the sink only, not into the run's event log, which already holds them.

import type { EventSink, PipelineEvent } from '../events.js';
import type { RunStore } from '../store/run-store.js';

type Payload = PipelineEvent extends infer E
  ? E extends PipelineEvent
    ? Omit<E, 'time' | 'runId'>
    : never
  : never;

const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

/** The stored results of every finished stage, as the events that first announced them. */
export function storedResultEvents(store: RunStore): Payload[] {
  const out: Payload[] = [];
  const metrics = store.evalMetrics();
  for (const round of store.listRounds()) {
    const r = round.round;
    const kinds = new Set(
      store
        .stagesForRound(r)
        .filter((s) => s.status === 'done')
        .map((s) => s.kind),
    );
    if (kinds.has('pair'))
      out.push({
        type: 'pairs',
        round: r,
        kept: store.pairsForRound(r).length,
        discarded: store.discardCounts(r),
      });
    if (kinds.has('train')) {
      const steps = store.trainStepsForRound(r);
      for (const { step, metrics: m } of steps)
        out.push({
          type: 'train-step',
          round: r,
          step,
          totalSteps: steps.length,
          loss: num(m.loss),
          margin: num(m['rewards/margins'] ?? 0),
          accuracy: num(m['rewards/accuracies'] ?? 0),
          gradNorm: num(m.grad_norm),
          learningRate: num(m.learning_rate),
        });
    }
    if (kinds.has('evaluate'))
      for (const m of metrics)
        if (m.round === r && m.value != null)
          out.push({ type: 'eval-metric', round: r, metric: m.metric, value: m.value });
  }
  return out;
}

/** Sends the stored results to `sink` (not to the event log) with the run's id and the time now. */
export function replayStoredResults(store: RunStore, sink: EventSink, runId: string): void {
  const time = new Date().toISOString();
  for (const e of storedResultEvents(store)) sink({ ...e, time, runId } as PipelineEvent);
}
