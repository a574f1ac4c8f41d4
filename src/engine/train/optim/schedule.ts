// Learning-rate schedules, computed in JS per optimizer step and fed to the step graph as a scalar.
// Semantics of transformers' `get_scheduler` (transformers/optimization.py), evaluated at the
// 0-based optimizer step s (the first update uses s = 0, so with warmup it has lr 0, as in
// transformers), with W warmup steps and T total steps:
//
//   constant              lr                                  (ignores W, like transformers)
//   constant_with_warmup  lr · s/max(1, W)  for s < W, else lr
//   linear                lr · s/max(1, W)  for s < W, else lr · max(0, (T − s)/max(1, T − W))
//   cosine                lr · s/max(1, W)  for s < W, else
//                         lr · max(0, ½(1 + cos(π · 2 · 0.5 · (s − W)/max(1, T − W))))
//                         (num_cycles = 0.5: a half cosine from lr to 0)
import { fail } from '../../../core/errors.js';

export type LrSchedule = 'constant' | 'constant_with_warmup' | 'linear' | 'cosine';
export const LR_SCHEDULES: readonly LrSchedule[] = [
  'constant',
  'constant_with_warmup',
  'linear',
  'cosine',
];

export interface ScheduleOptions {
  schedule: LrSchedule;
  learningRate: number;
  warmupSteps: number;
  totalSteps: number;
}

function check(step: number, o: ScheduleOptions): void {
  const bad = (what: string, hint: string) => fail('E_LR_SCHEDULE', what, hint);
  if (!LR_SCHEDULES.includes(o.schedule)) {
    bad(
      `unknown learning-rate schedule "${o.schedule}"`,
      `choose one of: ${LR_SCHEDULES.join(', ')}`,
    );
  }
  if (!(o.learningRate >= 0) || !Number.isFinite(o.learningRate)) {
    bad(
      `learning_rate must be a non-negative number, got ${o.learningRate}`,
      'set learning_rate in the train stage or --learning-rate (the default is 5e-6)',
    );
  }
  if (!Number.isInteger(o.warmupSteps) || o.warmupSteps < 0) {
    bad(
      `warmup_steps must be a whole number ≥ 0, got ${o.warmupSteps}`,
      'set warmup_steps to 0 (no warm-up) or a count of optimizer steps',
    );
  }
  if (!Number.isInteger(o.totalSteps) || o.totalSteps < 1) {
    bad(
      `the total number of optimizer steps must be a whole number ≥ 1, got ${o.totalSteps}`,
      'training needs at least one batch: check the data, epochs and max_steps',
    );
  }
  if (!Number.isInteger(step) || step < 0) {
    bad(
      `optimizer step must be a whole number ≥ 0, got ${step}`,
      'steps count from 0; this is a bug in the caller of the schedule',
    );
  }
}

/** The multiplier transformers' LambdaLR applies at 0-based step `step`. */
export function lrLambda(step: number, o: ScheduleOptions): number {
  check(step, o);
  const W = o.warmupSteps;
  const T = o.totalSteps;
  if (o.schedule === 'constant') return 1;
  if (step < W) return step / Math.max(1, W);
  switch (o.schedule) {
    case 'constant_with_warmup':
      return 1;
    case 'linear':
      return Math.max(0, (T - step) / Math.max(1, T - W));
    case 'cosine': {
      const progress = (step - W) / Math.max(1, T - W);
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 0.5 * 2 * progress)));
    }
  }
}

/** Learning rate of the update at 0-based optimizer step `step`. */
export function learningRateAt(step: number, opts: ScheduleOptions): number {
  return opts.learningRate * lrLambda(step, opts);
}
