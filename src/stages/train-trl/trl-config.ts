import { fail } from '../../core/errors.js';
import { resolveModelDir, type TrainJob } from '../../engine/index.js';
import type { TrlSpec } from '../../spec/schema.js';
import { TRL_DPO_LOSSES } from '../../spec/validate/trl-checks.js';

/** Where one launch of the TRL script reads and writes (all inside the round's folder). */
export interface TrlFiles {
  /** The round's rows as TRL JSONL. */
  trainFile: string;
  /** One JSON line per logged step, appended by the script's callback. */
  metricsFile: string;
  /** TRL's output_dir and the datasets cache: cleared before every launch. */
  workDir: string;
}

/**
 * What scripts/trl/train_dpo.py reads: the models, the files, PEFT LoraConfig fields and the
 * DPOConfig keyword arguments, by TRL's names.
 */
export interface TrlConfig {
  model: string;
  adapter: string | null;
  ref_model: string;
  ref_adapter: string | null;
  full: boolean;
  merge: boolean;
  dtype: TrlSpec['dtype'];
  lora: { r: number; lora_alpha: number; lora_dropout: number; target_modules: string[] };
  train_file: string;
  metrics_file: string;
  work_dir: string;
  out: string;
  args: Record<string, unknown>;
}

/** Refuse what TRL's DPOTrainer cannot train (validation refuses it first; this guards the job). */
export function checkTrlJob(job: TrainJob): void {
  if (job.losses.includes('kto'))
    fail(
      'E_TRL_UNSUPPORTED',
      'loss kto cannot train with backend trl yet: the TRL backend runs DPOTrainer on pairs',
      'train KTO in-process (backend: engine), or pairs with a DPO-family loss under backend: trl',
    );
  const other = job.losses.filter((l) => !TRL_DPO_LOSSES.includes(l));
  if (other.length)
    fail(
      'E_TRL_UNSUPPORTED',
      `loss ${other.join(', ')} is not a TRL DPOTrainer loss_type`,
      `with backend trl use ${TRL_DPO_LOSSES.join(', ')}; or train in-process (backend: engine)`,
    );
  if (job.lossOptions.softLabels)
    fail(
      'E_TRL_UNSUPPORTED',
      "soft labels cannot train with backend trl: TRL's DPOTrainer has no per-pair labels",
      'set soft_labels: false, or train in-process (backend: engine)',
    );
}

/**
 * The TRL config of a training job. Model references become folders (builtin:tiny is written
 * to its cache first, as the engine does); the reference defaults to the base model, as in
 * TrainJob. `trl.args` wins over everything derived here.
 */
export function trlConfig(
  job: TrainJob,
  trl: TrlSpec,
  files: TrlFiles,
  loraDropout = 0,
): TrlConfig {
  const o = job.optimizer;
  const args: Record<string, unknown> = {
    beta: job.lossOptions.beta,
    loss_type: job.losses,
    loss_weights: job.lossWeights,
    label_smoothing: job.lossOptions.labelSmoothing,
    learning_rate: job.learningRate,
    lr_scheduler_type: job.lrSchedule,
    warmup_steps: job.warmupSteps,
    num_train_epochs: job.epochs,
    max_steps: job.maxSteps ?? -1,
    per_device_train_batch_size: job.batchSize,
    gradient_accumulation_steps: job.gradAccum,
    gradient_checkpointing: !!job.gradientCheckpointing,
    max_length: job.maxLength,
    seed: job.seed,
    data_seed: job.seed,
    adam_beta1: o.beta1,
    adam_beta2: o.beta2,
    adam_epsilon: o.eps,
    weight_decay: o.weightDecay,
    max_grad_norm: o.maxGradNorm,
    precompute_ref_log_probs: trl.precompute_ref_log_probs,
    // TRL's DPOConfig turns bf16 mixed precision on by default; the model's dtype decides here
    bf16: trl.dtype === 'bfloat16',
    fp16: trl.dtype === 'float16',
    ...trl.args,
  };
  return {
    model: resolveModelDir(job.model),
    adapter: job.adapter ?? null,
    ref_model: resolveModelDir(job.refModel ?? job.model),
    ref_adapter: job.refAdapter ?? null,
    full: job.full,
    merge: job.merge,
    dtype: trl.dtype,
    lora: {
      r: job.lora.r,
      lora_alpha: job.lora.alpha,
      lora_dropout: loraDropout,
      target_modules: job.lora.targets,
    },
    train_file: files.trainFile,
    metrics_file: files.metricsFile,
    work_dir: files.workDir,
    out: job.out,
    args,
  };
}
