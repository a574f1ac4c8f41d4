// What DpoTrainer (trainer.ts), KtoTrainer (kto-trainer.ts) and SftTrainer (sft-trainer.ts) share: a StepSession that holds
// the parameters and moments between steps, the options, the pad id batches are laid out with,
// and the step graph's model-side options. Each subclass lays out its own rows.
import type { LoadedModel } from '../model/load-model.js';
import { fail } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { epochSteps, runSteps } from './pair-batches.js';
import type { StepSession } from './step-session.js';
import type { TrainerOptions } from './trainer-options.js';
import type { TrainGraph } from './train-graph.js';

/** What the shared step loop reads of a trainer's options (a reward model has no DPO losses). */
export type SessionTrainerOptions = Omit<TrainerOptions, 'losses' | 'lossWeights' | 'lossOptions'>;

export abstract class SessionTrainer<O extends SessionTrainerOptions> {
  readonly params: Map<string, Float32Array>;
  readonly graph: TrainGraph;

  protected constructor(
    protected readonly session: StepSession,
    protected readonly opts: O,
    protected readonly padId: number,
  ) {
    this.params = session.params;
    this.graph = session.graph;
  }

  /** Optimizer steps a run over `n` rows (or pairs) takes. */
  totalSteps(n: number): number {
    return runSteps(n, this.opts);
  }

  async close(): Promise<void> {
    await this.session.close();
  }

  /**
   * The whole run over `items`: epochs reshuffled with the seed's data stream (stream 2), cut
   * into `gradAccum` micro-batches per optimizer step, until the run's step count; `step` applies
   * one optimizer step and returns its metrics.
   */
  protected async trainEpochs<T, M>(
    items: T[],
    step: (micro: T[][], totalSteps: number, epoch: number) => Promise<M>,
    onStep?: (m: M) => void,
  ): Promise<M[]> {
    const total = this.totalSteps(items.length);
    const steps = epochSteps(items, this.opts, new Rng(this.opts.seed).fork(2));
    const history: M[] = [];
    while (this.session.optimizerStep < total) {
      const { epoch, micro } = steps.next().value;
      const m = await step(micro, total, epoch);
      history.push(m);
      onStep?.(m);
    }
    return history;
  }
}

/** The step graph's options that come from the model and the trainer options, loss aside. */
export function stepGraphOptions(base: LoadedModel, opts: TrainerOptions) {
  return {
    cfg: base.config,
    weights: base.weights,
    mode: opts.mode,
    lossOptions: opts.lossOptions,
    optimizer: opts.optimizer,
    accumulate: opts.gradAccum > 1,
    gradientCheckpointing: opts.gradientCheckpointing,
  };
}

/**
 * The unpaired trainers (SFT, KTO) train one loss alone: E_LOSS_CONFIG naming the trainer when
 * `losses` is anything else, with `hint` saying why it cannot be combined.
 */
export function requireLossAlone(
  losses: readonly string[],
  loss: string,
  trainer: string,
  hint: string,
): void {
  if (losses.length !== 1 || losses[0] !== loss)
    fail('E_LOSS_CONFIG', `${trainer} trains loss "${loss}" alone, got ${losses.join(', ')}`, hint);
}
