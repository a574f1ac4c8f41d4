// What the stages produce, as the view keeps it: pairs per round, training curves, eval metrics,
// gates that fired, and the runner's free-text warnings.

import type { PipelineEvent } from '../../events.js';
import { withProgress } from './progress.js';
import { findRound } from './selectors.js';
import { appendSeries, emptySeries } from './series.js';
import type { EventHandlers, RunState, TrainView } from './types.js';
import { lastRunningIndex, updateRound, updateStage } from './update.js';
import { WARNINGS_MAX, addWarning, classifyWarning } from './warnings.js';

type TrainStep = Extract<PipelineEvent, { type: 'train-step' }>;

export const resultHandlers: EventHandlers<
  'pairs' | 'train-step' | 'eval-metric' | 'gate' | 'gate-stop' | 'warning'
> = {
  pairs: (s, e) => {
    const discarded = { ...e.discarded };
    const discardedTotal = Object.values(discarded).reduce((a, b) => a + b, 0);
    // A snapshot per round: the latest event replaces the previous one.
    return updateRound(s, e.round, (r) => ({
      ...r,
      pairs: { kept: e.kept, discarded, discardedTotal },
    }));
  },

  'train-step': (s, e, t) => {
    const nonFinite = ![e.loss, e.margin, e.gradNorm].every(Number.isFinite);
    let next = updateRound(s, e.round, (r) => ({ ...r, train: nextTrain(r.train, e, nonFinite) }));
    // Train steps double as the train stage's progress when the runner sends no
    // stage-progress for it; when it does, both carry the same numbers.
    const r = findRound(next, e.round);
    const idx = r ? lastRunningIndex(r, 'train') : -1;
    if (idx >= 0)
      next = updateStage(next, e.round, idx, 'train', (st) =>
        withProgress({ ...st, unit: st.unit || 'steps' }, t, e.step, e.totalSteps),
      );
    if (!nonFinite) return next;
    return addWarning(next, {
      key: `nan:${e.round}`,
      kind: 'nan',
      round: e.round,
      message: `non-finite training values at step ${e.step} (loss ${e.loss}, margin ${e.margin}, grad norm ${e.gradNorm})`,
      time: t,
    });
  },

  'eval-metric': (s, e) =>
    updateRound(s, e.round, (r) => ({
      ...r,
      metrics: { ...r.metrics, [e.metric]: e.value },
    })),

  // the `gate` event just before it already shows the hit, and run-end says the run stopped
  'gate-stop': (s) => s,

  gate: (s, e, t) =>
    addWarning(withGate(s, e), {
      key: `gate:${e.round}:${e.metric}`,
      kind: 'gate',
      round: e.round,
      message: `gate hit in round ${e.round}: ${e.metric} ${e.value} ${e.op} ${e.threshold} (${e.action})`,
      time: t,
    }),

  warning: (s, e, t) =>
    addWarning(s, {
      key: `warning:${e.round ?? ''}:${e.message}`,
      kind: classifyWarning(e.message),
      round: e.round ?? null,
      message: e.message,
      time: t,
    }),
};

function nextTrain(prev: TrainView | null, e: TrainStep, nonFinite: boolean): TrainView {
  const tr = prev ?? {
    kind: e.rl ? ('rl' as const) : ('pairs' as const),
    step: 0,
    totalSteps: 0,
    loss: emptySeries(),
    margin: emptySeries(),
    accuracy: emptySeries(),
    gradNorm: null,
    learningRate: null,
    nonFiniteSteps: 0,
  };
  return {
    kind: tr.kind,
    step: e.step,
    totalSteps: e.totalSteps,
    loss: appendSeries(tr.loss, e.loss),
    margin: appendSeries(tr.margin, e.rl ? e.rl.reward : e.margin),
    accuracy: appendSeries(tr.accuracy, e.rl ? (e.rl.kl ?? 0) : e.accuracy),
    gradNorm: e.gradNorm,
    learningRate: e.learningRate,
    nonFiniteSteps: tr.nonFiniteSteps + (nonFinite ? 1 : 0),
  };
}

/** The gate appended to the state's bounded list of gates that fired. */
function withGate(s: RunState, e: Extract<PipelineEvent, { type: 'gate' }>): RunState {
  const gate = {
    round: e.round,
    metric: e.metric,
    value: e.value,
    threshold: e.threshold,
    op: e.op,
    action: e.action,
  };
  return { ...s, gates: [...s.gates.slice(-(WARNINGS_MAX - 1)), gate] };
}
