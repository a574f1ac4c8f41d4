// An rl stage's settings as the engine's job (train/rl-run.ts): what trains, against which
// reference, with the stage's loss, sampling and optimizer options.
import type { Device, RlJob } from '../../engine/index.js';
import type { RlStageSpec } from '../../spec/schema.js';

export interface RlModels {
  /** The base model; `adapter` the LoRA policy to continue (none: a fresh adapter). */
  model: string;
  adapter?: string;
  /** The reference (default: the base model without any adapter). */
  refModel?: string;
  refAdapter?: string;
  seed: number;
  threads?: number;
  device?: Device;
}

export function rlJobOf(spec: RlStageSpec, m: RlModels): RlJob {
  const rows = spec.prompts_per_step * spec.num_generations;
  return {
    ...m,
    full: spec.full,
    lora: { r: spec.lora.r, alpha: spec.lora.alpha, targets: spec.lora.target_modules },
    algorithm: spec.algorithm,
    loss: {
      lossType: spec.loss_type,
      beta: spec.beta,
      epsilon: spec.epsilon,
      epsilonHigh: spec.epsilon_high ?? spec.epsilon,
      importanceSamplingLevel: spec.importance_sampling_level,
      useBiasCorrectionKl: spec.use_bias_correction_kl,
      maxCompletionLength: spec.max_completion_length,
    },
    temperature: spec.temperature,
    numIterations: spec.num_iterations,
    scaleRewards: spec.scale_rewards,
    maskTruncatedCompletions: spec.mask_truncated_completions,
    rowsPerStep: rows,
    totalSteps: spec.steps * spec.num_iterations,
    batchSize: spec.batch_size,
    gradAccum: Math.ceil(rows / spec.batch_size),
    optimizer: {
      beta1: spec.adam_beta1,
      beta2: spec.adam_beta2,
      eps: spec.adam_epsilon,
      weightDecay: spec.weight_decay,
      maxGradNorm: spec.max_grad_norm,
    },
    learningRate: spec.learning_rate,
    lrSchedule: spec.lr_scheduler_type,
    warmupSteps: spec.warmup_steps,
    gradientCheckpointing: spec.gradient_checkpointing,
  };
}
