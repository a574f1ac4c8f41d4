import { fail } from '../core/errors.js';
import {
  Generator,
  type GenerateOptions,
  type GenerateResult,
  type GenerateStats,
} from './generate/generate.js';
import { decodeJoining, joinKey, type JoiningRequest } from './generate/continuous.js';
import { scoreSequences } from './generate/score.js';
import { toOnnxBytes } from './graph/serialize.js';
import {
  buildDecoderGraph,
  buildLogprobsGraph,
  inferenceBinder,
} from './model/inference-graphs.js';
import type { Quantize } from './model/quantize.js';
import { loadModel, type LoadedModel } from './model/load-model.js';
import { OrtSession, type Device } from './runtime/ort-session.js';
import {
  logSoftmaxAt,
  ModelText,
  scoreResults,
  type ModelInfo,
  type PromptInput,
  type ScoreResult,
} from './model-text.js';

export type { ModelInfo, PromptInput, ScoreResult } from './model-text.js';

export interface EngineOpenOptions {
  adapter?: string;
  device?: Device;
  /** Intra-op threads for onnxruntime (default: one per core). */
  threads?: number;
  /**
   * Weight-only quantization of the Linear layers (int8 / int4, onnxruntime's MatMulNBits), made
   * once at load and cached on disk: generation, scoring and judging all run on it.
   */
  quantize?: Quantize;
  /** Quantization block size along the input dimension (16, 32, 64 or 128; default 32). */
  quantizeBlockSize?: number;
}

/** A prompt's tokens, their texts and log-probs (null for the first: nothing predicts it). */
export interface PromptLogprobs {
  ids: number[];
  tokens: string[];
  logprobs: (number | null)[];
}

/**
 * The engine's operations in the calling thread: load a model, generate, score. Sessions are
 * built lazily (the decoder graph for generation, the full-sequence graph for scoring), since
 * each holds its own copy of the weights. The CLI uses it through `Engine` (a worker thread).
 */
export class LocalEngine {
  private decoder?: Promise<OrtSession>;
  private scorer?: Promise<OrtSession>;
  /** Continuous batching: requests waiting to join, and the decode loop running (if any). */
  private readonly joining: { key: string; req: JoiningRequest }[] = [];
  private joinLoop?: Promise<void>;

  private readonly text: ModelText;

  private constructor(
    readonly model: LoadedModel,
    private readonly opts: EngineOpenOptions,
  ) {
    this.text = new ModelText(model.ref, model.dir, model.config, model.tokenizer);
  }

  static open(ref: string, opts: EngineOpenOptions = {}): LocalEngine {
    return new LocalEngine(
      loadModel(ref, {
        adapter: opts.adapter,
        quantize: opts.quantize,
        quantizeBlockSize: opts.quantizeBlockSize,
      }),
      opts,
    );
  }

  /** An engine over weights already in memory (online RL samples from the policy it trains). */
  static fromModel(model: LoadedModel, opts: EngineOpenOptions = {}): LocalEngine {
    return new LocalEngine(model, opts);
  }

  info(): ModelInfo {
    return {
      ...this.text.info({ adapter: this.model.adapter?.dir, device: this.opts.device ?? 'cpu' }),
      ...(this.model.quantized ? { quantize: this.model.quantized.kind } : {}),
    };
  }

  private session(kind: 'decoder' | 'scorer'): Promise<OrtSession> {
    const sessionOpts = { device: this.opts.device, threads: this.opts.threads };
    const { config } = this.model;
    if (kind === 'decoder') {
      this.decoder ??= OrtSession.create(
        toOnnxBytes(buildDecoderGraph(config, inferenceBinder(this.model))),
        sessionOpts,
      );
      return this.decoder;
    }
    this.scorer ??= OrtSession.create(
      toOnnxBytes(buildLogprobsGraph(config, inferenceBinder(this.model))),
      sessionOpts,
    );
    return this.scorer;
  }

  encodePrompt(p: PromptInput): number[] {
    return this.text.encodePrompt(p);
  }

  async generate(
    prompts: PromptInput[],
    opts: GenerateOptions,
    onResult?: (index: number, r: GenerateResult, stats: GenerateStats) => void,
    /** Streaming: prompt `index`'s candidate `candidate` just got `text`. */
    onText?: (index: number, candidate: number, text: string) => void,
  ): Promise<{ results: GenerateResult[]; stats: GenerateStats }> {
    const gen = new Generator(
      await this.session('decoder'),
      this.model.config,
      this.model.tokenizer,
    );
    const stats: GenerateStats = { prefillTokens: 0, prefillMs: 0, decodeTokens: 0, decodeMs: 0 };
    if (opts.continuous) return this.generateJoining(prompts, opts, stats, onText);
    const results: GenerateResult[] = [];
    if (opts.seeds && opts.seeds.length !== prompts.length)
      fail(
        'E_GENERATE_OPTION',
        `seeds has ${opts.seeds.length} entries for ${prompts.length} prompts`,
        'give one seed per prompt, or none',
      );
    if (opts.batchPrompts && prompts.length > 1) {
      const seeds = prompts.map((_, i) => opts.seeds?.[i] ?? opts.seed + i * 1_000_003);
      const all = await gen.generateMany(
        prompts.map((p) => this.encodePrompt(p)),
        opts,
        seeds,
        stats,
        onText,
      );
      all.forEach((r, i) => onResult?.(i, r, stats));
      return { results: all, stats };
    }
    for (let i = 0; i < prompts.length; i++) {
      // Each prompt gets its own seed stream so its output does not depend on its position.
      const r = await gen.generate(
        this.encodePrompt(prompts[i]),
        { ...opts, seed: opts.seeds?.[i] ?? opts.seed + i * 1_000_003 },
        stats,
        onText ? (candidate, text) => onText(i, candidate, text) : undefined,
      );
      results.push(r);
      onResult?.(i, r, stats);
    }
    return { results, stats };
  }

  /** Continuous batching (GenerateOptions.continuous): join the running loop, or start one. */
  private generateJoining(
    prompts: PromptInput[],
    opts: GenerateOptions,
    stats: GenerateStats,
    onText?: (index: number, candidate: number, text: string) => void,
  ): Promise<{ results: GenerateResult[]; stats: GenerateStats }> {
    const ids = prompts.map((p) => this.encodePrompt(p));
    const seeds = prompts.map((_, i) => opts.seeds?.[i] ?? opts.seed + i * 1_000_003);
    return new Promise((resolve, reject) => {
      this.joining.push({
        key: joinKey(opts),
        req: {
          prompts: ids,
          opts,
          seeds,
          onText,
          stats,
          resolve: (results) => resolve({ results, stats }),
          reject,
        },
      });
      void this.pumpJoining(opts.maxBatchRows ?? 16);
    });
  }

  /** Run decode loops one after another, each for the waiting requests of one joinKey. */
  private async pumpJoining(maxRows: number): Promise<void> {
    if (this.joinLoop || this.joining.length === 0) return;
    const key = this.joining[0].key;
    const gen = new Generator(
      await this.session('decoder'),
      this.model.config,
      this.model.tokenizer,
    );
    if (this.joinLoop) return; // another call started one while the session was built
    const pull = (room: number) => {
      const taken: JoiningRequest[] = [];
      for (let i = 0; i < this.joining.length;) {
        const w = this.joining[i];
        const rows = w.req.prompts.length * w.req.opts.n;
        // a request larger than the whole batch still runs, alone
        if (w.key === key && (rows <= room || (room === maxRows && taken.length === 0))) {
          taken.push(w.req);
          room -= rows;
          this.joining.splice(i, 1);
        } else i++;
      }
      return taken;
    };
    this.joinLoop = decodeJoining(gen, maxRows, pull)
      .catch(() => undefined) // each request in the loop has its own rejection
      .finally(() => {
        this.joinLoop = undefined;
        void this.pumpJoining(maxRows);
      });
  }

  /**
   * Log-probabilities of a few continuations' first tokens after `prompt` (chat-templated with a
   * generation prompt) followed by the assistant text `prefix`: one prefill, no sampling. Used to
   * read a judge's score distribution (e.g. prefix "Score: ", options "0".."5").
   */
  async choiceLogprobs(prompt: PromptInput, prefix: string, options: string[]): Promise<number[]> {
    const { ids, firstIds } = this.text.choiceIds(prompt, prefix, options);
    const gen = new Generator(
      await this.session('decoder'),
      this.model.config,
      this.model.tokenizer,
    );
    return logSoftmaxAt(await gen.lastLogits(ids), firstIds);
  }

  /**
   * Each prompt's tokens with log p(token | the tokens before it), as a server's echo/prompt
   * log-probs report them: the first token has none (null). Chat prompts are templated with a
   * generation prompt, as `generate` sees them.
   */
  async promptLogprobs(prompts: PromptInput[]): Promise<PromptLogprobs[]> {
    const tok = this.model.tokenizer;
    const ids = prompts.map((p) => this.encodePrompt(p));
    const seqs = ids
      .filter((x) => x.length > 1)
      .map((x) => ({ promptIds: x.slice(0, 1), responseIds: x.slice(1) }));
    const scores = seqs.length
      ? await scoreSequences(await this.session('scorer'), seqs, { padId: tok.batchPadId })
      : [];
    let k = 0;
    return ids.map((x) => ({
      ids: x,
      tokens: x.map((id) => this.text.tokenText(id)),
      logprobs: [null, ...(x.length > 1 ? scores[k++].tokenLogprobs : [])],
    }));
  }

  /** Sequence log-probs of TRL rows (see data/trl-rows.ts for the conventions). */
  async score(rows: unknown[], labels: string[], batchSize = 8): Promise<ScoreResult[]> {
    const { parsed, seqs } = this.text.scoreSequences(rows, labels);
    const scores = await scoreSequences(await this.session('scorer'), seqs, {
      padId: this.model.tokenizer.batchPadId,
      batchSize,
    });
    return scoreResults(parsed, scores);
  }

  async close(): Promise<void> {
    for (const s of [this.decoder, this.scorer]) if (s) await (await s).release();
    this.model.close();
  }
}
