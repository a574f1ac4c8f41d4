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

/** TRL PPOConfig's defaults for the ppo fields a stage leaves unset. */
export const PPO_DEFAULTS = {
  kl_coef: 0.05,
  kl_estimator: 'k1',
  cliprange: 0.2,
  cliprange_value: 0.2,
  vf_coef: 0.1,
  gamma: 1,
  lam: 0.95,
  whiten_rewards: false,
  num_ppo_epochs: 4,
} as const;

export function rlJobOf(spec: RlStageSpec, m: RlModels): RlJob {
  if (spec.algorithm === 'ppo') return ppoJobOf(spec, m);
  return groupJobOf(spec, m);
}

/** PPO: TRL PPOConfig's names mapped onto the trainer's (the clip is epsilon, the KL coefficient beta). */
function ppoJobOf(spec: RlStageSpec, m: RlModels): RlJob {
  const o = { ...PPO_DEFAULTS, ...definedOf(spec) };
  const job = groupJobOf({ ...spec, num_iterations: o.num_ppo_epochs }, m);
  return {
    ...job,
    loss: { ...job.loss, beta: o.kl_coef, epsilon: o.cliprange, epsilonHigh: o.cliprange },
    ppo: {
      klEstimator: o.kl_estimator,
      cliprangeValue: o.cliprange_value,
      vfCoef: o.vf_coef,
      gamma: o.gamma,
      lam: o.lam,
      whitenRewards: o.whiten_rewards,
    },
  };
}

/** The ppo fields the stage sets. */
function definedOf(spec: RlStageSpec) {
  const out: Partial<Record<keyof typeof PPO_DEFAULTS, unknown>> = {};
  for (const k of Object.keys(PPO_DEFAULTS) as (keyof typeof PPO_DEFAULTS)[])
    if (spec[k] !== undefined) out[k] = spec[k];
  return out as Partial<Pick<RlStageSpec, keyof typeof PPO_DEFAULTS>>;
}

function groupJobOf(spec: RlStageSpec, m: RlModels): RlJob {
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
