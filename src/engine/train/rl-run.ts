// The worker-side host of an online-RL run: the models, the trainer, and sampling from the policy
// as it trains. The caller (a pipeline stage, `pipeline rl`) alternates generate → reward →
// trainOnBatch, so rewards can come from anything the caller has (rule judges, servers, models).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GenerateOptions, GenerateResult } from '../generate/generate.js';
import { LocalEngine, type PromptInput } from '../local-engine.js';
import { loadModel, type LoadedModel } from '../model/load-model.js';
import { loadLoraAdapter, type LoraAdapter } from '../model/peft-adapter.js';
import type { Device } from '../runtime/ort-session.js';
import type { LoraSpec } from './lora.js';
import {
  RlTrainer,
  type RlBatchResult,
  type RlRow,
  type RlStepMetrics,
  type RlTrainerOptions,
} from './rl-trainer.js';
import { saveFullCheckpoint, saveLoraAdapter } from './save.js';

export interface RlJob extends Omit<RlTrainerOptions, 'mode'> {
  /** Base model: a Hugging Face folder or builtin:… */
  model: string;
  /** LoRA: continue this adapter (the policy of an earlier round); its r/alpha/targets win. */
  adapter?: string;
  /** Reference model and adapter (default: the base model without any adapter, as TRL with PEFT). */
  refModel?: string;
  refAdapter?: string;
  full: boolean;
  lora: LoraSpec;
  threads?: number;
  device?: Device;
}

export interface RlOpened {
  kind: 'lora' | 'full';
  lora?: LoraSpec;
}

/** One open run (a worker hosts at most one). */
export class RlRun {
  private sampler?: LocalEngine;

  private constructor(
    private readonly job: RlJob,
    private readonly base: LoadedModel,
    private readonly opened: LoadedModel[],
    private readonly trainer: RlTrainer,
    readonly lora: LoraSpec,
  ) {}

  static async open(job: RlJob): Promise<RlRun> {
    const base = loadModel(job.model);
    const opened = [base];
    try {
      const init = job.adapter && !job.full ? loadLoraAdapter(job.adapter) : undefined;
      const lora = init ? loraOfAdapter(init) : job.lora;
      // Full fine-tuning of a policy that is an adapter: start from the adapter merged in.
      const policyBase =
        job.full && job.adapter ? loadModel(job.model, { adapter: job.adapter }) : base;
      if (policyBase !== base) opened.push(policyBase);
      const ref =
        job.refModel || job.refAdapter
          ? loadModel(job.refModel ?? job.model, { adapter: job.refAdapter })
          : base;
      if (ref !== base) opened.push(ref);
      const trainer = await RlTrainer.create(
        policyBase,
        { ...job, mode: job.full ? { kind: 'full' } : { kind: 'lora', lora } },
        ref,
        init,
      );
      return new RlRun(job, policyBase, opened, trainer, lora);
    } catch (e) {
      for (const m of opened) m.close();
      throw e;
    }
  }

  /** Sample from the policy as it is now (a sampler over its current weights, rebuilt after each update). */
  async generate(
    prompts: PromptInput[],
    opts: GenerateOptions,
  ): Promise<{ results: GenerateResult[]; promptIds: number[][] }> {
    this.sampler ??= LocalEngine.fromModel(
      { ...this.base, weights: this.trainer.policyWeights(), close: () => {} },
      { threads: this.job.threads, device: this.job.device },
    );
    const { results } = await this.sampler.generate(prompts, opts);
    return { results, promptIds: prompts.map((p) => this.sampler!.encodePrompt(p)) };
  }

  async train(
    rows: RlRow[],
    rewards: number[],
    groupSize: number,
    onStep?: (m: RlStepMetrics) => void,
  ): Promise<RlBatchResult> {
    const out = await this.trainer.trainOnBatch(rows, rewards, groupSize, onStep);
    await this.sampler?.close();
    this.sampler = undefined;
    return out;
  }

  /** Write the policy: a PEFT adapter (LoRA) or a full checkpoint, with the step metrics given. */
  save(dir: string, metrics: RlStepMetrics[]): { dir: string; kind: 'lora' | 'full' } {
    mkdirSync(dir, { recursive: true });
    if (this.job.full) saveFullCheckpoint(dir, this.base, { override: this.trainer.params });
    else saveLoraAdapter(dir, this.base, this.lora, this.trainer.params);
    writeFileSync(
      join(dir, 'train_metrics.jsonl'),
      metrics.map((m) => JSON.stringify(m) + '\n').join(''),
    );
    return { dir, kind: this.job.full ? 'full' : 'lora' };
  }

  async close(): Promise<void> {
    await this.sampler?.close();
    await this.trainer.close();
    for (const m of this.opened) m.close();
  }
}

function loraOfAdapter(init: LoraAdapter): LoraSpec {
  return {
    r: init.config.r,
    alpha: init.config.loraAlpha,
    targets: [...new Set([...init.modules.keys()].map((m) => m.slice(m.lastIndexOf('.') + 1)))],
    useRslora: init.config.useRslora,
  };
}
