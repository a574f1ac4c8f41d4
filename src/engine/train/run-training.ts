import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPipelineError, PipelineError } from '../errors.js';
import { loadModel, type LoadedModel } from '../model/load-model.js';
import { loadLoraAdapter } from '../model/peft-adapter.js';
import { writeSafetensors, type TensorToWrite } from '../model/safetensors.js';
import type { Device } from '../runtime/ort-session.js';
import type { LossOptions, LossType } from './losses/index.js';
import { lossNeedsReference } from './losses/index.js';
import type { LoraSpec } from './lora.js';
import { tokenizePairs } from './pair-batches.js';
import { saveFullCheckpoint, saveLoraAdapter } from './save.js';
import type { OptimizerSpec } from './train-graph.js';
import { DpoTrainer, type StepMetrics } from './trainer.js';

export interface TrainJob {
  /** Base model: a Hugging Face folder or builtin:tiny. */
  model: string;
  /** Continue training this PEFT LoRA adapter (its r/alpha/targets win over `lora`). */
  adapter?: string;
  /**
   * Reference model for the DPO losses. Default, as TRL does with PEFT: the base model without
   * any adapter. `refAdapter` applies an adapter to the reference (e.g. the round-start policy).
   */
  refModel?: string;
  refAdapter?: string;
  rows: unknown[];
  /** `file:line` of each row, for error messages. */
  labels: string[];
  out: string;
  full: boolean;
  lora: LoraSpec;
  losses: LossType[];
  lossWeights: number[];
  lossOptions: LossOptions;
  optimizer: OptimizerSpec;
  learningRate: number;
  lrSchedule: 'constant' | 'linear' | 'cosine';
  warmupSteps: number;
  epochs: number;
  maxSteps?: number;
  batchSize: number;
  gradAccum: number;
  maxLength: number;
  seed: number;
  /** Also write the merged full checkpoint (LoRA) to `<out>/merged`. */
  merge: boolean;
  /** Write d loss / d param of the first batch (before any update) to this safetensors file. */
  dumpGrads?: string;
  threads?: number;
  device?: Device;
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

/** The whole `pipeline train` job: data → reference log-probs → steps → saved adapter/checkpoint. */
export async function runTraining(
  job: TrainJob,
  emit: (e: TrainEvent) => void = () => {},
): Promise<TrainOutcome> {
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
    const pairs = tokenizePairs(tok, job.rows, job.labels, job.maxLength);
    emit({
      type: 'log',
      message: `${pairs.length} pairs, ${base.config.architecture} from ${base.dir}`,
    });

    let refs: { chosen: number; rejected: number }[] | undefined;
    if (lossNeedsReference(job.losses)) {
      const ref =
        job.refModel || job.refAdapter
          ? loadModel(job.refModel ?? job.model, { adapter: job.refAdapter })
          : base;
      if (ref !== base) opened.push(ref);
      const t0 = performance.now();
      refs = await DpoTrainer.referenceLogps(ref, pairs, {
        padId: tok.padTokenId ?? tok.eosTokenIds[0] ?? 0,
        threads: job.threads,
        device: job.device,
        batchSize: Math.max(1, job.batchSize * 2),
      });
      emit({
        type: 'log',
        message: `reference log-probs of ${pairs.length} pairs in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      });
    }

    // Full fine-tuning starts from the adapter merged in, if one was given.
    const policyBase =
      job.full && job.adapter ? loadModel(job.model, { adapter: job.adapter }) : base;
    if (policyBase !== base) opened.push(policyBase);
    const trainer = await DpoTrainer.create(
      policyBase,
      {
        mode: job.full ? { kind: 'full' } : { kind: 'lora', lora },
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
        seed: job.seed,
        threads: job.threads,
        device: job.device,
      },
      job.full ? undefined : init,
    );
    mkdirSync(job.out, { recursive: true });
    const outcome: TrainOutcome = { out: job.out, kind: job.full ? 'full' : 'lora', steps: [] };
    const save = () => {
      if (job.full) {
        saveFullCheckpoint(job.out, policyBase, { override: trainer.params });
        outcome.checkpointDir = job.out;
      } else {
        saveLoraAdapter(job.out, base, lora, trainer.params);
        outcome.adapterDir = job.out;
      }
    };
    try {
      if (job.dumpGrads) {
        const first = pairs.slice(0, job.batchSize);
        const { grads } = await trainer.gradients(first, refs?.slice(0, first.length));
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
      const totalSteps = trainer.totalSteps(pairs.length);
      const log = join(job.out, 'train_metrics.jsonl');
      writeFileSync(log, '');
      outcome.steps = await trainer.train(pairs, refs, (metrics) => {
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
