// The served models: the base (the model the server was started with, with its --adapter if
// any) and the LoRA adapters loaded at run time through vLLM's adapter API. Each is an engine of
// its own (a worker thread holding the model with the adapter applied) with its own queue.
import type { Engine, ModelInfo } from '../engine/index.js';
import { ApiError, badParam, modelNotFound } from './api-error.js';
import { Batcher } from './batcher.js';

/** What the server needs of an engine: `Engine`, or a stand-in in tests. */
export type ServeEngine = Pick<Engine, 'generate' | 'promptLogprobs' | 'close'> & {
  info: ModelInfo;
};

export interface ServedModel {
  name: string;
  engine: ServeEngine;
  batcher: Batcher;
  /** Unix seconds. */
  created: number;
  /** The adapter folder, for models loaded with load_lora_adapter. */
  loraPath?: string;
}

export interface RegistryOptions {
  maxBatchSize: number;
  maxQueue: number;
  batchWaitMs?: number;
  /** Continuous batching (see batcher.ts); off: static batching. */
  continuous?: boolean;
  /** Open the base model with a PEFT adapter (load_lora_adapter); absent: the API is off. */
  openAdapter?: (path: string) => Promise<ServeEngine>;
}

export class ModelRegistry {
  private readonly models = new Map<string, ServedModel>();
  private readonly loading = new Set<string>();
  readonly base: ServedModel;

  constructor(
    baseName: string,
    baseEngine: ServeEngine,
    private readonly opts: RegistryOptions,
  ) {
    this.base = this.add(baseName, baseEngine);
  }

  private add(name: string, engine: ServeEngine, loraPath?: string): ServedModel {
    const m: ServedModel = {
      name,
      engine,
      batcher: new Batcher(engine, this.opts),
      created: Math.floor(Date.now() / 1000),
      loraPath,
    };
    this.models.set(name, m);
    return m;
  }

  list(): ServedModel[] {
    return [...this.models.values()];
  }

  /** The model a request names; 404 otherwise. */
  get(name: string): ServedModel {
    const m = this.models.get(name);
    if (!m) throw modelNotFound(name, [...this.models.keys()]);
    return m;
  }

  async loadAdapter(name: unknown, path: unknown): Promise<ServedModel> {
    if (!this.opts.openAdapter)
      throw new ApiError(
        400,
        'Runtime LoRA loading is off on this server.',
        'invalid_request_error',
        null,
        'lora_disabled',
      );
    if (typeof name !== 'string' || name === '')
      throw badParam('lora_name', "'lora_name' must be a non-empty string.");
    if (typeof path !== 'string' || path === '')
      throw badParam('lora_path', "'lora_path' must be the path of a PEFT adapter folder.");
    if (this.models.has(name) || this.loading.has(name))
      throw badParam(
        'lora_name',
        `The model '${name}' is already loaded; unload it first.`,
        'lora_exists',
      );
    this.loading.add(name);
    try {
      return this.add(name, await this.opts.openAdapter(path), path);
    } finally {
      this.loading.delete(name);
    }
  }

  /** Remove an adapter: new requests get 404 at once; it closes when its queue is done. */
  async unloadAdapter(name: unknown): Promise<void> {
    if (typeof name !== 'string' || name === '')
      throw badParam('lora_name', "'lora_name' must be a non-empty string.");
    const m = this.models.get(name);
    if (!m?.loraPath)
      throw new ApiError(
        404,
        m
          ? `'${name}' is the base model, not a loaded adapter.`
          : `No adapter named '${name}' is loaded.`,
        'not_found_error',
        'lora_name',
        'lora_not_found',
      );
    this.models.delete(name);
    await m.batcher.idle();
    await m.engine.close();
  }

  /** Wait for every queue, then close every engine. */
  async closeAll(): Promise<void> {
    const all = this.list();
    this.models.clear();
    await Promise.all(all.map((m) => m.batcher.idle()));
    await Promise.all(all.map((m) => m.engine.close()));
  }
}
