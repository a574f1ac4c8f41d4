import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail, isPipelineError, PipelineError } from '../../core/errors.js';
import { loadModel, type LoadedModel } from '../model/load-model.js';
import { loadLoraAdapter } from '../model/peft-adapter.js';
import { writeSafetensors, type TensorToWrite } from '../model/safetensors.js';
import { lossNeedsReference } from './losses/index.js';
import type { LoraSpec } from './lora.js';
import { KtoTrainer, planKtoSteps, tokenizeKtoRows } from './kto-trainer.js';
import { tokenizePairs } from './pair-batches.js';
import { saveFullCheckpoint, saveLoraAdapter } from './save.js';
import { DpoTrainer, type StepMetrics, type TrainerOptions } from './trainer.js';

/**
 * A training job: the trainer's options (losses — DPO-family types or `['kto']` alone —,
 * optimizer, schedule, batching, seed, device) without `mode`, which `full` and `lora` decide.
 */
export interface TrainJob extends Omit<TrainerOptions, 'mode'> {
  /** Base model: a Hugging Face folder or builtin:tiny. */
  model: string;
  /** Continue training this PEFT LoRA adapter (its r/alpha/targets win over `lora`). */
  adapter?: string;
  /**
   * Reference model for the DPO losses and KTO. Default, as TRL does with PEFT: the base model without
   * any adapter. `refAdapter` applies an adapter to the reference (e.g. the round-start policy).
   */
  refModel?: string;
  refAdapter?: string;
  /** TRL preference rows, or TRL unpaired rows {prompt, completion, label} when losses = ['kto']. */
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

/** What the DPO and KTO paths share after their data and reference log-probs are ready. */
interface PreparedRun {
  trainer: {
    readonly params: Map<string, Float32Array>;
    readonly graph: { params: { name: string; dims: number[] }[] };
    close(): Promise<void>;
  };
  policyBase: LoadedModel;
  totalSteps: number;
  /** d loss / d param of the first micro-batch, before any update (`--dump-grads`). */
  firstGrads(): Promise<Map<string, Float32Array>>;
  train(onStep: (m: StepMetrics) => void): Promise<StepMetrics[]>;
}

export type TrainEvent =
  { type: 'log'; message: string } | { type: 'step'; metrics: StepMetrics; totalSteps: number };

/** The whole `pipeline train` job: data → reference log-probs → steps → saved adapter/checkpoint. */
export async function runTraining(
  job: TrainJob,
  emit: (e: TrainEvent) => void = () => {},
): Promise<TrainOutcome> {
  const kto = job.losses.includes('kto');
  if (kto && job.losses.length > 1)
    fail(
      'E_LOSS_CONFIG',
      `loss "kto" cannot be combined with other losses (got ${job.losses.join(', ')})`,
      'kto trains on unpaired rows {"prompt", "completion", "label"}; the other losses on pairs: run them separately',
    );
  if (kto && job.lossWeights.some((w) => w !== 1))
    fail(
      'E_LOSS_CONFIG',
      `loss weights do not apply to kto (got ${job.lossWeights.join(', ')})`,
      'weigh the two labels with desirable_weight / undesirable_weight instead',
    );
  const base = loadModel(job.model);
  const opened: LoadedModel[] = [base];
  try {
    const init = job.adapter ? loadLoraAdapter(job.adapter) : undefined;
    let lora = job.lora;
    if (init && !job.full) {
      const targets = [
        ...new Set([...init.modules.keys()].map((m) => m.slice(m.lastIndexOf('.') + 1))),
      ];
      lora = {
        r: init.config.r,
        alpha: init.config.loraAlpha,
        targets,
        useRslora: init.config.useRslora,
      };
      emit({
        type: 'log',
        message: `continuing adapter ${job.adapter} (r ${lora.r}, alpha ${lora.alpha}, ${targets.join(',')})`,
      });
    }
    const tok = base.tokenizer;
    const padId = tok.batchPadId;
    const openRef = () => {
      const ref =
        job.refModel || job.refAdapter
          ? loadModel(job.refModel ?? job.model, { adapter: job.refAdapter })
          : base;
      if (ref !== base) opened.push(ref);
      return ref;
    };
    // Full fine-tuning starts from the adapter merged in, if one was given.
    const policyBase = () => {
      const m = job.full && job.adapter ? loadModel(job.model, { adapter: job.adapter }) : base;
      if (m !== base) opened.push(m);
      return m;
    };
    const trainerOptions = {
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

    let run: PreparedRun;
    if (kto) {
      const rows = tokenizeKtoRows(tok, job.rows, job.labels);
      const desirable = rows.filter((r) => r.desirable).length;
      emit({
        type: 'log',
        message: `${rows.length} KTO rows (${desirable} desirable, ${rows.length - desirable} undesirable), ${base.config.architecture} from ${base.dir}`,
      });
      // TRL's KTOTrainer warns outside this range (KTO paper, section 4.2).
      const ratio =
        (job.lossOptions.desirableWeight * desirable) /
        (job.lossOptions.undesirableWeight * (rows.length - desirable));
      if (!(ratio >= 1 && ratio <= 4 / 3))
        emit({
          type: 'log',
          message: `note: desirable_weight·#desirable / (undesirable_weight·#undesirable) = ${ratio.toFixed(2)}; the KTO paper recommends 1 to 4/3`,
        });
      const opts = { ...trainerOptions, maxLength: job.maxLength };
      // KL sequences depend on batch composition: fix the batches, then score exactly those.
      const plan = planKtoSteps(rows.length, opts);
      const t0 = performance.now();
      const refs = await KtoTrainer.referenceLogps(openRef(), rows, plan, {
        padId,
        maxLength: job.maxLength,
        threads: job.threads,
        device: job.device,
        batchSize: Math.max(1, job.batchSize * 2),
      });
      emit({
        type: 'log',
        message: `reference log-probs of ${refs.kl.size} sequences in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      });
      const policy = policyBase();
      const trainer = await KtoTrainer.create(policy, opts, job.full ? undefined : init);
      run = {
        trainer,
        policyBase: policy,
        totalSteps: plan.length,
        firstGrads: async () => (await trainer.gradients(rows, refs, plan[0].micro[0])).grads,
        train: (onStep) => trainer.train(rows, refs, onStep),
      };
    } else {
      job.rows.forEach((v, i) => {
        if (v && typeof v === 'object' && 'label' in v && 'completion' in v && !('chosen' in v))
          fail(
            'E_DATA_ROW',
            `${job.labels[i] ?? `row ${i + 1}`}: an unpaired KTO row (prompt, completion, label), but loss ${job.losses.join(', ')} needs pairs`,
            'train unpaired rows with --loss kto, or give {"prompt", "chosen", "rejected"} rows',
          );
      });
      const pairs = tokenizePairs(tok, job.rows, job.labels, job.maxLength);
      emit({
        type: 'log',
        message: `${pairs.length} pairs, ${base.config.architecture} from ${base.dir}`,
      });

      let refs: { chosen: number; rejected: number }[] | undefined;
      if (lossNeedsReference(job.losses)) {
        const t0 = performance.now();
        refs = await DpoTrainer.referenceLogps(openRef(), pairs, {
          padId,
          threads: job.threads,
          device: job.device,
          batchSize: Math.max(1, job.batchSize * 2),
        });
        emit({
          type: 'log',
          message: `reference log-probs of ${pairs.length} pairs in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
        });
      }
      const policy = policyBase();
      const trainer = await DpoTrainer.create(policy, trainerOptions, job.full ? undefined : init);
      run = {
        trainer,
        policyBase: policy,
        totalSteps: trainer.totalSteps(pairs.length),
        firstGrads: async () => {
          const first = pairs.slice(0, job.batchSize);
          return (await trainer.gradients(first, refs?.slice(0, first.length))).grads;
        },
        train: (onStep) => trainer.train(pairs, refs, onStep),
      };
    }
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
        const grads = await run.firstGrads();
        const tensors: Record<string, TensorToWrite> = {};
        for (const p of trainer.graph.params)
          tensors[p.name] = { dtype: 'F32', shape: p.dims, data: grads.get(p.name)! };
        writeSafetensors(job.dumpGrads, tensors, {
          format: 'pt',
          what: 'gradient of the first batch loss before any update',
        });
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
  } finally {
    for (const m of opened) m.close();
  }
}
