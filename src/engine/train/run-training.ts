import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail, isPipelineError, PipelineError } from '../../core/errors.js';
import { loadModel, type LoadedModel } from '../model/load-model.js';
import { loadLoraAdapter, type LoraAdapter } from '../model/peft-adapter.js';
import { writeSafetensors, type TensorToWrite } from '../model/safetensors-write.js';
import type { LoraSpec } from './lora.js';
import {
  prepareKto,
  preparePairs,
  prepareSft,
  type PreparedRun,
  type RunSetup,
} from './prepare-run.js';
import { saveFullCheckpoint, saveLoraAdapter } from './save.js';
import type { TrainerOptions } from './trainer-options.js';
import type { StepMetrics } from './trainer.js';

/**
 * A training job: the trainer's options (losses — DPO-family types, `['kto']` alone, or `['sft']`
 * alone on prompt-completion rows —,
 * optimizer, schedule, batching, seed, device) without `mode`, which `full` and `lora` decide.
 */
export interface TrainJob extends Omit<TrainerOptions, 'mode'> {
  /** Base model: a Hugging Face folder or builtin:tiny. */
  model: string;
  /** Continue training this PEFT LoRA adapter (its r/alpha/targets win over `lora`). */
  adapter?: string;
  /**
   * Reference model for the DPO losses and KTO (SFT has none). Default, as TRL does with PEFT: the base model without
   * any adapter. `refAdapter` applies an adapter to the reference (e.g. the round-start policy).
   */
  refModel?: string;
  refAdapter?: string;
  /**
   * TRL preference rows; TRL unpaired rows {prompt, completion, label} when losses = ['kto']; TRL
   * prompt-completion rows {prompt, completion} for SFT (losses = ['sft']).
   */
  rows: unknown[];
  /** `file:line` of each row, for error messages. */
  labels: string[];
  out: string;
  full: boolean;
  lora: LoraSpec;
  maxLength: number;
  /** Also write the merged full checkpoint (LoRA) to `<out>/merged`. */
  merge: boolean;
  /** Write d loss / d param of the first batch (before any update) to this safetensors file. */
  dumpGrads?: string;
}

export interface TrainOutcome {
  out: string;
  kind: 'lora' | 'full';
  steps: StepMetrics[];
  adapterDir?: string;
  checkpointDir?: string;
  mergedDir?: string;
  gradsFile?: string;
}

export type TrainEvent =
  { type: 'log'; message: string } | { type: 'step'; metrics: StepMetrics; totalSteps: number };

/**
 * Which rows the job trains on. `sft` alone on prompt-completion rows is supervised fine-tuning
 * (TRL SFTTrainer); `sft` alone on pairs stays the pair loss on the chosen side, as before.
 */
export function trainingKind(job: Pick<TrainJob, 'losses' | 'rows'>): 'sft' | 'kto' | 'pairs' {
  if (job.losses.includes('kto')) return 'kto';
  const first = job.rows[0];
  const paired = !!first && typeof first === 'object' && ('chosen' in first || 'rejected' in first);
  return job.losses.length === 1 && job.losses[0] === 'sft' && !paired ? 'sft' : 'pairs';
}

/** KTO trains on unpaired rows and weighs its labels itself: it runs alone, unweighted. */
function checkKtoLosses(job: TrainJob): void {
  if (job.losses.length > 1)
    fail(
      'E_LOSS_CONFIG',
      `loss "kto" cannot be combined with other losses (got ${job.losses.join(', ')})`,
      'kto trains on unpaired rows {"prompt", "completion", "label"}; the other losses on pairs: run them separately',
    );
  if (job.lossWeights.some((w) => w !== 1))
    fail(
      'E_LOSS_CONFIG',
      `loss weights do not apply to kto (got ${job.lossWeights.join(', ')})`,
      'weigh the two labels with desirable_weight / undesirable_weight instead',
    );
}

/** The LoRA shape of the run: the job's, or that of the adapter a LoRA run continues. */
function loraOf(job: TrainJob, init: LoraAdapter | undefined, log: (m: string) => void): LoraSpec {
  if (!init || job.full) return job.lora;
  const targets = [
    ...new Set([...init.modules.keys()].map((m) => m.slice(m.lastIndexOf('.') + 1))),
  ];
  const lora = {
    r: init.config.r,
    alpha: init.config.loraAlpha,
    targets,
    useRslora: init.config.useRslora,
  };
  log(`continuing adapter ${job.adapter} (r ${lora.r}, alpha ${lora.alpha}, ${targets.join(',')})`);
  return lora;
}

function trainerOptionsOf(job: TrainJob, lora: LoraSpec): TrainerOptions {
  return {
    mode: job.full ? ({ kind: 'full' } as const) : ({ kind: 'lora', lora } as const),
    losses: job.losses,
    lossWeights: job.lossWeights,
    lossOptions: job.lossOptions,
    optimizer: job.optimizer,
    learningRate: job.learningRate,
    lrSchedule: job.lrSchedule,
    warmupSteps: job.warmupSteps,
    epochs: job.epochs,
    maxSteps: job.maxSteps,
    batchSize: job.batchSize,
    gradAccum: job.gradAccum,
    gradientCheckpointing: job.gradientCheckpointing,
    seed: job.seed,
    threads: job.threads,
    device: job.device,
  };
}

/** `--dump-grads`: d loss / d param of the first batch, before any update, as safetensors. */
async function dumpFirstGrads(run: PreparedRun, file: string): Promise<void> {
  const grads = await run.firstGrads();
  const tensors: Record<string, TensorToWrite> = {};
  for (const p of run.trainer.graph.params)
    tensors[p.name] = { dtype: 'F32', shape: p.dims, data: grads.get(p.name)! };
  writeSafetensors(file, tensors, {
    format: 'pt',
    what: 'gradient of the first batch loss before any update',
  });
}

/**
 * Step the prepared run and save what it trained: the adapter or the full checkpoint (also the
 * last good weights when a step turns out not finite), then the merged checkpoint if asked.
 */
async function trainAndSave(
  job: TrainJob,
  run: PreparedRun,
  base: LoadedModel,
  lora: LoraSpec,
  emit: (e: TrainEvent) => void,
): Promise<TrainOutcome> {
  const { trainer, policyBase: policyModel } = run;
  mkdirSync(job.out, { recursive: true });
  const outcome: TrainOutcome = { out: job.out, kind: job.full ? 'full' : 'lora', steps: [] };
  const save = () => {
    if (job.full) {
      saveFullCheckpoint(job.out, policyModel, { override: trainer.params });
      outcome.checkpointDir = job.out;
    } else {
      saveLoraAdapter(job.out, base, lora, trainer.params);
      outcome.adapterDir = job.out;
    }
  };
  try {
    if (job.dumpGrads) {
      await dumpFirstGrads(run, job.dumpGrads);
      outcome.gradsFile = job.dumpGrads;
      emit({ type: 'log', message: `gradients of the first batch written to ${job.dumpGrads}` });
    }
    const totalSteps = run.totalSteps;
    const log = join(job.out, 'train_metrics.jsonl');
    writeFileSync(log, '');
    outcome.steps = await run.train((metrics) => {
      appendFileSync(log, JSON.stringify(metrics) + '\n');
      emit({ type: 'step', metrics, totalSteps });
    });
  } catch (e) {
    if (isPipelineError(e) && e.code === 'E_TRAIN_NOT_FINITE') {
      save();
      throw new PipelineError({
        code: e.code,
        message: `${e.message}; last good weights saved to ${job.out}`,
        hint: e.hint,
      });
    }
    throw e;
  } finally {
    await trainer.close();
  }
  save();
  if (job.merge && !job.full) {
    outcome.mergedDir = join(job.out, 'merged');
    saveFullCheckpoint(outcome.mergedDir, base, { lora: { spec: lora, params: trainer.params } });
  }
  return outcome;
}

/** The whole `pipeline train` job: data → reference log-probs → steps → saved adapter/checkpoint. */
export async function runTraining(
  job: TrainJob,
  emit: (e: TrainEvent) => void = () => {},
): Promise<TrainOutcome> {
  const kind = trainingKind(job);
  if (kind === 'kto') checkKtoLosses(job);
  const log = (message: string) => emit({ type: 'log', message });
  const base = loadModel(job.model);
  // Every model opened here is closed at the end, whatever happens.
  const opened: LoadedModel[] = [base];
  try {
    const init = job.adapter ? loadLoraAdapter(job.adapter) : undefined;
    const lora = loraOf(job, init, log);
    const setup: RunSetup = {
      job,
      base,
      init,
      options: trainerOptionsOf(job, lora),
      openRef: () => {
        const ref =
          job.refModel || job.refAdapter
            ? loadModel(job.refModel ?? job.model, { adapter: job.refAdapter })
            : base;
        if (ref !== base) opened.push(ref);
        return ref;
      },
      // Full fine-tuning starts from the adapter merged in, if one was given.
      policyBase: () => {
        const m = job.full && job.adapter ? loadModel(job.model, { adapter: job.adapter }) : base;
        if (m !== base) opened.push(m);
        return m;
      },
      log,
    };
    const prepare = { sft: prepareSft, kto: prepareKto, pairs: preparePairs }[kind];
    const run = await prepare(setup);
    return await trainAndSave(job, run, base, lora, emit);
  } finally {
    for (const m of opened) m.close();
  }
}
