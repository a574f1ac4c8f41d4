// The request queue in front of one engine. Continuous batching (the server's default): every
// request goes to the engine at once and joins its running decode loop at the next step when
// the sampling agrees (GenerateOptions.continuous), up to `maxBatchSize` sequences; the engine
// queues the rest. Static batching: requests that wait together and ask for the same sampling
// options (seeds aside: each prompt keeps its own) share one engine call, whose candidates are
// decoded in one batch (batchPrompts); one call runs at a time. Either way a request past
// `maxQueue` waiting ones is refused with 429.
import type { Engine, GenerateOptions, GenerateResult, PromptInput } from '../engine/index.js';
import { ApiError } from './api-error.js';

export interface GenerateJob {
  prompts: PromptInput[];
  options: Omit<GenerateOptions, 'seed' | 'seeds'>;
  /** Prompt j of the job draws from seed + j * 1_000_003, as in a lone engine call. */
  seed: number;
  /** Streaming: prompt `index` (of this job)'s candidate `candidate` got `text`. */
  onText?: (index: number, candidate: number, text: string) => void;
}

/** What the batcher needs of an engine (an `Engine`, or a stand-in in tests). */
export type BatchEngine = Pick<Engine, 'generate'>;

interface Queued {
  job: GenerateJob;
  key: string;
  resolve: (r: GenerateResult[]) => void;
  reject: (e: unknown) => void;
}

export interface BatcherStats {
  /** Engine calls made. */
  calls: number;
  /** Requests served (each is in exactly one call, or retried alone after a shared call failed). */
  requests: number;
  /** The most requests one call carried (continuous batching: the most in the engine at once). */
  largestBatch: number;
  /** Continuous batching: the most sequences one decode step carried (requests sharing steps). */
  largestStep: number;
}

export class Batcher {
  private readonly queue: Queued[] = [];
  private running: Promise<void> | undefined;
  readonly stats: BatcherStats = { calls: 0, requests: 0, largestBatch: 0, largestStep: 0 };

  constructor(
    private readonly engine: BatchEngine,
    private readonly opts: {
      maxBatchSize: number;
      maxQueue: number;
      /** How long a call waits before it starts, for requests arriving together (default 0). */
      batchWaitMs?: number;
      /** Continuous batching: requests join the engine's running decode loop (default off). */
      continuous?: boolean;
    },
  ) {}

  /** Continuous batching: requests handed to the engine and not answered yet. */
  private inEngine = 0;

  /** Requests waiting (not the ones in the running call or decode loop). */
  get waiting(): number {
    return this.opts.continuous
      ? Math.max(0, this.inEngine - this.opts.maxBatchSize)
      : this.queue.length;
  }

  get busy(): boolean {
    return this.running !== undefined || this.queue.length > 0 || this.inEngine > 0;
  }

  /** Queue a job; throws a 429 ApiError at once when the queue is full. */
  submit(job: GenerateJob): Promise<GenerateResult[]> {
    if (this.waiting >= this.opts.maxQueue)
      throw new ApiError(
        429,
        `The server's queue is full (${this.opts.maxQueue} requests waiting); retry shortly.`,
        'rate_limit_error',
        null,
        'queue_full',
        { 'retry-after': '1' },
      );
    if (this.opts.continuous) return this.join(job);
    return new Promise((resolve, reject) => {
      this.queue.push({ job, key: JSON.stringify(job.options), resolve, reject });
      this.pump();
    });
  }

  /** Continuous batching: straight to the engine, which joins it to its running loop. */
  private async join(job: GenerateJob): Promise<GenerateResult[]> {
    this.inEngine++;
    this.stats.calls += 1;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, this.inEngine);
    try {
      const { results, stats } = await this.engine.generate(
        job.prompts,
        {
          ...job.options,
          seed: job.seed,
          seeds: job.prompts.map((_, j) => job.seed + j * 1_000_003),
          continuous: true,
          maxBatchRows: this.opts.maxBatchSize,
        },
        undefined,
        job.onText
          ? ({ index, candidate, text }) => job.onText!(index, candidate, text)
          : undefined,
      );
      this.stats.largestStep = Math.max(this.stats.largestStep, stats.maxStepRows ?? 0);
      return results;
    } finally {
      this.inEngine--;
      this.stats.requests += 1;
    }
  }

  /** Resolves once nothing is queued or running. */
  async idle(): Promise<void> {
    while (this.inEngine > 0) await new Promise((r) => setTimeout(r, 5));
    while (this.running) await this.running;
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    // A short wait lets requests that arrive together (or clients answered by the last call
    // sending their next request) join this call.
    this.running = (async () => {
      await new Promise((r) => setTimeout(r, this.opts.batchWaitMs ?? 0));
      await this.run(this.take());
    })().finally(() => {
      this.running = undefined;
      this.pump();
    });
  }

  /**
   * The first waiting job and the later ones with the same options, up to maxBatchSize
   * sequences (prompts x n) in all; a larger job runs alone.
   */
  private take(): Queued[] {
    const first = this.queue.shift()!;
    const batch = [first];
    const size = (q: Queued) => q.job.prompts.length * q.job.options.n;
    let rows = size(first);
    for (let i = 0; i < this.queue.length;) {
      const q = this.queue[i];
      if (q.key === first.key && rows + size(q) <= this.opts.maxBatchSize) {
        batch.push(q);
        rows += size(q);
        this.queue.splice(i, 1);
      } else i++;
    }
    return batch;
  }

  private async run(batch: Queued[]): Promise<void> {
    const progress = { streamed: false };
    try {
      const results = await this.call(batch, progress);
      let at = 0;
      for (const q of batch) {
        q.resolve(results.slice(at, at + q.job.prompts.length));
        at += q.job.prompts.length;
      }
      this.stats.requests += batch.length;
    } catch (e) {
      // The engine checks every prompt of a batched call before decoding any: a bad request
      // (say, a prompt too long for the model) fails the call with nothing streamed. Run each
      // request alone then, so the error reaches its own request only. A failure after text was
      // streamed (the engine broke) fails them all: a rerun would stream the text twice.
      if (batch.length === 1 || progress.streamed) {
        this.stats.requests += batch.length;
        for (const q of batch) q.reject(e);
        return;
      }
      for (const q of batch) await this.run([q]);
    }
  }

  private async call(batch: Queued[], progress: { streamed: boolean }): Promise<GenerateResult[]> {
    const prompts: PromptInput[] = [];
    const seeds: number[] = [];
    const owner: { job: GenerateJob; index: number }[] = [];
    for (const { job } of batch)
      job.prompts.forEach((p, j) => {
        prompts.push(p);
        seeds.push(job.seed + j * 1_000_003);
        owner.push({ job, index: j });
      });
    const streaming = batch.some((q) => q.job.onText);
    this.stats.calls += 1;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    const { results } = await this.engine.generate(
      prompts,
      { ...batch[0].job.options, seed: seeds[0], seeds, batchPrompts: true },
      undefined,
      streaming
        ? ({ index, candidate, text }) => {
            progress.streamed = true;
            owner[index].job.onText?.(owner[index].index, candidate, text);
          }
        : undefined,
    );
    return results;
  }
}
