// The call a build script makes to fine-tune a model on prompt-completion rows without the CLI:
// runTraining with losses ['sft'] and TRL SFTConfig's defaults for whatever it leaves out.
import type { LossOptions } from './losses/index.js';
import { DEFAULT_LORA_TARGETS } from './lora.js';
import { runTraining, type TrainEvent, type TrainJob, type TrainOutcome } from './run-training.js';

/** A TrainJob without the loss fields (SFT has none): the model, the rows and where to write. */
export type SftJob = Partial<Omit<TrainJob, 'losses' | 'lossWeights' | 'lossOptions'>> &
  Pick<TrainJob, 'model' | 'rows' | 'out'>;

// Unused by SFT's graph, but every trainer option set carries them.
const NO_PREFERENCE: LossOptions = {
  beta: 0.1,
  labelSmoothing: 0,
  simpoGamma: 0.5,
  desirableWeight: 1,
  undesirableWeight: 1,
};

/**
 * Supervised fine-tuning on TRL prompt-completion rows; writes a full checkpoint (`full: true`) or
 * a PEFT adapter to `out`. Defaults follow TRL's SFTConfig (learning rate 2e-5, linear schedule,
 * 3 epochs, batch 8, max_length 1024, seed 42, max_grad_norm 1) and the CLI's LoRA shape (r 16,
 * alpha 32); `labels` default to `row N`.
 */
export function trainSft(job: SftJob, emit?: (e: TrainEvent) => void): Promise<TrainOutcome> {
  return runTraining(
    {
      labels: job.rows.map((_, i) => `row ${i + 1}`),
      full: false,
      lora: { r: 16, alpha: 32, targets: [...DEFAULT_LORA_TARGETS] },
      optimizer: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 },
      learningRate: 2e-5,
      lrSchedule: 'linear',
      warmupSteps: 0,
      epochs: 3,
      batchSize: 8,
      gradAccum: 1,
      maxLength: 1024,
      seed: 42,
      merge: false,
      ...job,
      losses: ['sft'],
      lossWeights: [1],
      lossOptions: NO_PREFERENCE,
    },
    emit,
  );
}
