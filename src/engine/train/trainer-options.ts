// What a trainer is asked to do: mode, losses, optimizer and schedule, batching, seed, device.
// Its own file so the trainers (trainer.ts, kto-trainer.ts) and the step session they drive
// (step-session.ts) all import it from below instead of from each other.

import type { Device } from '../runtime/ort-session.js';
import type { LossOptions, LossType } from './losses/index.js';
import type { OptimizerSpec, TrainMode } from './train-graph.js';

export interface TrainerOptions {
  mode: TrainMode;
  losses: LossType[];
  lossWeights: number[];
  lossOptions: LossOptions;
  optimizer: OptimizerSpec;
  learningRate: number;
  lrSchedule: 'constant' | 'linear' | 'cosine';
  warmupSteps: number;
  epochs: number;
  /** Optimizer steps; overrides epochs when set. */
  maxSteps?: number;
  /** Pairs per micro-batch (TRL per_device_train_batch_size). */
  batchSize: number;
  gradAccum: number;
  /** Recompute each layer in the backward pass instead of storing its activations (transformers' gradient_checkpointing). */
  gradientCheckpointing?: boolean;
  seed: number;
  threads?: number;
  device?: Device;
}
