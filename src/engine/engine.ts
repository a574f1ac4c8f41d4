import { Worker } from 'node:worker_threads';
import { PipelineError } from '../core/errors.js';
import type { Request, Response } from './engine-worker.js';
import type { GenerateOptions, GenerateResult, GenerateStats } from './generate/generate.js';
import type {
  EngineOpenOptions,
  ModelInfo,
  PromptInput,
  PromptLogprobs,
  ScoreResult,
} from './local-engine.js';
import type { TrainEvent, TrainJob, TrainOutcome } from './train/run-training.js';
import type { LoraSpec } from './train/lora.js';
import type { RlJob } from './train/rl-run.js';
import type {
  RewardModelEvent,
  RewardModelJob,
  RewardModelOutcome,
} from './train/reward-model/run-rm-training.js';
import { RlSession } from './rl-session.js';

type Pending = {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  onEvent?: (e: unknown) => void;
};

/**
 * What the loop asks of a model it generates with and scores under: the in-process `Engine`, or
 * a policy served by an OpenAI-compatible server. `info.dir` is a local folder with the model's
 * config and tokenizer in both cases.
 */
export interface ModelEngine {
  readonly info: ModelInfo;
  /** Prompts worth handing over in one `generate` call (a server's requests in flight); 1 if absent. */
  readonly concurrency?: number;
  generate(
    prompts: PromptInput[],
    opts: GenerateOptions,
    onResult?: (e: { index: number; result: GenerateResult; stats: GenerateStats }) => void,
    onText?: (e: { index: number; candidate: number; text: string }) => void,
  ): Promise<{ results: GenerateResult[]; stats: GenerateStats }>;
  choiceLogprobs(prompt: PromptInput, prefix: string, options: string[]): Promise<number[]>;
  promptLogprobs(prompts: PromptInput[]): Promise<PromptLogprobs[]>;
  score(rows: unknown[], labels: string[], batchSize?: number): Promise<ScoreResult[]>;
  close(): Promise<void>;
}

/**
 * The engine as the rest of the program sees it: a model loaded in a worker thread, with async
 * generate and score. Errors thrown in the worker arrive as the same PipelineError (code, hint).
 */
export class Engine implements ModelEngine {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exited = false;

  private constructor(
    private readonly worker: Worker,
    public info: ModelInfo,
  ) {}

  private static spawn(): Engine {
    const worker = new Worker(new URL('./engine-worker.js', import.meta.url));
    const engine = new Engine(worker, undefined as unknown as ModelInfo);
    worker.on('message', (m: Response) => engine.onMessage(m));
    worker.on('error', (e) => engine.failAll(e));
    worker.on('exit', (code) => {
      engine.exited = true;
      engine.failAll(new Error(`engine worker exited with code ${code}`));
    });
    return engine;
  }

  /** Run a training job (runTraining) in its own worker thread; events arrive while it runs. */
  static async train(job: TrainJob, onEvent?: (e: TrainEvent) => void): Promise<TrainOutcome> {
    const engine = Engine.spawn();
    try {
      return (await engine.call('train', [job], onEvent as (e: unknown) => void)) as TrainOutcome;
    } finally {
      await engine.worker.terminate();
    }
  }

  /**
   * Train a reward model (runRewardModelTraining) in its own worker thread; events arrive while
   * it runs.
   */
  static async trainRewardModel(
    job: RewardModelJob,
    onEvent?: (e: RewardModelEvent) => void,
  ): Promise<RewardModelOutcome> {
    const engine = Engine.spawn();
    try {
      return (await engine.call(
        'train-rm',
        [job],
        onEvent as (e: unknown) => void,
      )) as RewardModelOutcome;
    } finally {
      await engine.worker.terminate();
    }
  }

  /**
   * Open an online-RL run in its own worker thread (train/rl-run.ts): sample from the policy as
   * it trains, train on rewarded batches, save. Close it to end the worker.
   */
  static async rl(job: RlJob): Promise<RlSession> {
    const engine = Engine.spawn();
    try {
      const opened = (await engine.call('rl.open', [job])) as { lora: LoraSpec };
      return new RlSession(engine, opened.lora);
    } catch (e) {
      await engine.worker.terminate();
      throw e;
    }
  }

  /** For RlSession: one call into the worker (events go to `onEvent`). */
  request(method: string, params: unknown[], onEvent?: (e: unknown) => void): Promise<unknown> {
    return this.call(method, params, onEvent);
  }

  /** For RlSession: end the worker. */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  static async open(ref: string, opts: EngineOpenOptions = {}): Promise<Engine> {
    const engine = Engine.spawn();
    const worker = engine.worker;
    try {
      engine.info = (await engine.call('open', [ref, opts])) as ModelInfo;
    } catch (e) {
      await worker.terminate();
      throw e;
    }
    return engine;
  }

  /**
   * Generate for every prompt. `onResult` hears each prompt's result as it finishes; `onText`
   * (streaming) hears each piece of text a candidate gets, as it is decoded.
   */
  generate(
    prompts: PromptInput[],
    opts: GenerateOptions,
    onResult?: (e: { index: number; result: GenerateResult; stats: GenerateStats }) => void,
    onText?: (e: { index: number; candidate: number; text: string }) => void,
  ): Promise<{ results: GenerateResult[]; stats: GenerateStats }> {
    const onEvent = (e: unknown) => {
      const ev = e as { text?: { index: number; candidate: number; text: string } };
      if (ev.text) onText?.(ev.text);
      else onResult?.(e as { index: number; result: GenerateResult; stats: GenerateStats });
    };
    return this.call('generate', [prompts, opts, !!onText], onEvent) as Promise<{
      results: GenerateResult[];
      stats: GenerateStats;
    }>;
  }

  /** Log-probs of each option's first token after prompt + assistant prefix (LocalEngine.choiceLogprobs). */
  choiceLogprobs(prompt: PromptInput, prefix: string, options: string[]): Promise<number[]> {
    return this.call('choiceLogprobs', [prompt, prefix, options]) as Promise<number[]>;
  }

  /** Each prompt's tokens and their log-probs given the tokens before (LocalEngine.promptLogprobs). */
  promptLogprobs(prompts: PromptInput[]): Promise<PromptLogprobs[]> {
    return this.call('promptLogprobs', [prompts]) as Promise<PromptLogprobs[]>;
  }

  /** Log-probs of TRL rows; `labels[i]` (e.g. `file:line`) locates row i in error messages. */
  score(rows: unknown[], labels: string[], batchSize?: number): Promise<ScoreResult[]> {
    return this.call('score', [rows, labels, batchSize]) as Promise<ScoreResult[]>;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    try {
      await this.call('close', []);
    } finally {
      await this.worker.terminate();
    }
  }

  private call(
    method: string,
    params: unknown[],
    onEvent?: (e: unknown) => void,
  ): Promise<unknown> {
    if (this.exited) return Promise.reject(new Error('the engine worker has exited'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onEvent });
      this.worker.postMessage({ id, method, params } satisfies Request);
    });
  }

  private onMessage(m: Response): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if ('event' in m) {
      p.onEvent?.(m.event);
      return;
    }
    this.pending.delete(m.id);
    if (m.ok) {
      p.resolve(m.result);
      return;
    }
    const e = m.error;
    const err =
      e.code !== undefined
        ? new PipelineError({
            code: e.code,
            message: e.message,
            hint: e.hint,
            exitCode: e.exitCode,
          })
        : Object.assign(new Error(e.message), { name: e.name });
    err.stack = e.stack;
    p.reject(err);
  }

  private failAll(e: unknown): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
