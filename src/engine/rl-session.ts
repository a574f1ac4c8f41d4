// The main thread's handle on an online-RL run hosted by an engine worker (train/rl-run.ts).
import type { Engine } from './engine.js';
import type { GenerateOptions, GenerateResult } from './generate/generate.js';
import type { PromptInput } from './local-engine.js';
import type { LoraSpec } from './train/lora.js';
import type { RlBatchResult, RlRow, RlStepMetrics } from './train/rl-trainer.js';

export class RlSession {
  constructor(
    private readonly engine: Engine,
    /** The LoRA shape trained (an earlier round's adapter's, when one is continued). */
    readonly lora: LoraSpec,
  ) {}

  /** Sample from the policy's current weights; `promptIds` are the prompts as tokenized. */
  generate(
    prompts: PromptInput[],
    opts: GenerateOptions,
  ): Promise<{ results: GenerateResult[]; promptIds: number[][] }> {
    return this.engine.request('rl.generate', [prompts, opts]) as Promise<{
      results: GenerateResult[];
      promptIds: number[][];
    }>;
  }

  /** Train on one rewarded generation batch (groups of `groupSize` consecutive rows). */
  train(
    rows: RlRow[],
    rewards: number[],
    groupSize: number,
    onStep?: (m: RlStepMetrics) => void,
  ): Promise<RlBatchResult> {
    return this.engine.request(
      'rl.train',
      [rows, rewards, groupSize],
      onStep as (e: unknown) => void,
    ) as Promise<RlBatchResult>;
  }

  save(dir: string, metrics: RlStepMetrics[]): Promise<{ dir: string; kind: 'lora' | 'full' }> {
    return this.engine.request('rl.save', [dir, metrics]) as Promise<{
      dir: string;
      kind: 'lora' | 'full';
    }>;
  }

  async close(): Promise<void> {
    try {
      await this.engine.request('rl.close', []);
    } finally {
      await this.engine.terminate();
    }
  }
}
