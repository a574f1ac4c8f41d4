import { fail } from '../core/errors.js';
import {
  parseScoreRow,
  isPreferenceRow,
  promptIds,
  responseIds,
  type ScoreRow,
} from './data/trl-rows.js';
import {
  Generator,
  type GenerateOptions,
  type GenerateResult,
  type GenerateStats,
} from './generate/generate.js';
import { scoreSequences, type ScoreSequence } from './generate/score.js';
import { toOnnxBytes } from './graph/serialize.js';
import {
  buildDecoderGraph,
  buildLogprobsGraph,
  inferenceBinder,
} from './model/inference-graphs.js';
import type { Quantize } from './model/quantize.js';
import { loadModel, type LoadedModel } from './model/load-model.js';
import { OrtSession, type Device } from './runtime/ort-session.js';
import type { ChatMessage } from './tokenizer/tokenizer.js';

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

/** One generation request: chat messages, raw text, or token ids. */
export type PromptInput = { messages: ChatMessage[] } | { text: string } | { ids: number[] };

export interface ModelInfo {
  ref: string;
  dir: string;
  architecture: string;
  parameters: number;
  vocabSize: number;
  eosTokenIds: number[];
  padTokenId: number | undefined;
  /** Positions the model can attend over (prompt + generated tokens). */
  maxPositions: number;
  adapter?: string;
  device: Device;
  /** The weight quantization the engine runs with, if any. */
  quantize?: Quantize;
}

/** A prompt's tokens, their texts and log-probs (null for the first: nothing predicts it). */
export interface PromptLogprobs {
  ids: number[];
  tokens: string[];
  logprobs: (number | null)[];
}

/** Sums of response-token log-probs, with the number of response tokens each sum covers. */
export type ScoreResult =
  | { chosen_logps: number; rejected_logps: number; chosen_tokens: number; rejected_tokens: number }
  /** `token_logprobs`: the per-token terms of `logps` (the drift KL needs them one by one). */
  | { logps: number; tokens: number; token_logprobs: number[] };

/**
 * The engine's operations in the calling thread: load a model, generate, score. Sessions are
 * built lazily (the decoder graph for generation, the full-sequence graph for scoring), since
 * each holds its own copy of the weights. The CLI uses it through `Engine` (a worker thread).
 */
export class LocalEngine {
  private decoder?: Promise<OrtSession>;
  private scorer?: Promise<OrtSession>;

  private constructor(
    readonly model: LoadedModel,
    private readonly opts: EngineOpenOptions,
  ) {}

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
    const c = this.model.config;
    const perLayer =
      c.hiddenSize * (c.numAttentionHeads + 2 * c.numKeyValueHeads) * c.headDim +
      c.numAttentionHeads * c.headDim * c.hiddenSize +
      3 * c.hiddenSize * c.intermediateSize +
      2 * c.hiddenSize;
    const parameters =
      c.vocabSize * c.hiddenSize * (c.tieWordEmbeddings ? 1 : 2) +
      c.numHiddenLayers * perLayer +
      c.hiddenSize;
    return {
      ref: this.model.ref,
      dir: this.model.dir,
      architecture: c.architecture,
      parameters,
      vocabSize: c.vocabSize,
      eosTokenIds: this.model.tokenizer.eosTokenIds,
      padTokenId: this.model.tokenizer.padTokenId,
      maxPositions: c.maxPositionEmbeddings,
      adapter: this.model.adapter?.dir,
      device: this.opts.device ?? 'cpu',
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
    const tok = this.model.tokenizer;
    if ('ids' in p) return p.ids;
    if ('text' in p) return tok.encode(p.text);
    return tok.encodeChat(p.messages, { addGenerationPrompt: true });
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

  /**
   * Log-probabilities of a few continuations' first tokens after `prompt` (chat-templated with a
   * generation prompt) followed by the assistant text `prefix`: one prefill, no sampling. Used to
   * read a judge's score distribution (e.g. prefix "Score: ", options "0".."5").
   */
  async choiceLogprobs(prompt: PromptInput, prefix: string, options: string[]): Promise<number[]> {
    const tok = this.model.tokenizer;
    const ids = [...this.encodePrompt(prompt), ...(prefix ? tok.encode(prefix) : [])];
    const firstIds = options.map((o) => {
      // Tokenize the option in context so a leading-space merge is the one the model would emit.
      const withOption = tok.encode(prefix + o);
      const base = prefix ? tok.encode(prefix) : [];
      const rest = withOption.slice(base.length);
      const same = base.every((t, i) => withOption[i] === t);
      const id = same && rest.length ? rest[0] : tok.encode(o)[0];
      if (id === undefined)
        fail(
          'E_CHOICE_OPTION',
          `option ${JSON.stringify(o)} encodes to no tokens`,
          'use non-empty options',
        );
      return id;
    });
    const gen = new Generator(await this.session('decoder'), this.model.config, tok);
    const logits = await gen.lastLogits(ids);
    let max = -Infinity;
    for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
    let sum = 0;
    for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
    const lse = max + Math.log(sum);
    return firstIds.map((id) => logits[id] - lse);
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
      tokens: x.map((id) => (tok.idToToken(id) === undefined ? '' : tok.decode([id]))),
      logprobs: [null, ...(x.length > 1 ? scores[k++].tokenLogprobs : [])],
    }));
  }

  /** Sequence log-probs of TRL rows (see data/trl-rows.ts for the conventions). */
  async score(rows: unknown[], labels: string[], batchSize = 8): Promise<ScoreResult[]> {
    const where = (i: number): string => labels[i] ?? `row ${i + 1}`;
    const tok = this.model.tokenizer;
    const parsed: ScoreRow[] = rows.map((r, i) => parseScoreRow(r, where(i)));
    const seqs: ScoreSequence[] = [];
    parsed.forEach((r, i) => {
      const p = promptIds(tok, r.prompt);
      if (p.length === 0)
        fail(
          'E_DATA_ROW',
          `${where(i)}: the prompt is empty`,
          'every row needs a non-empty prompt',
        );
      if (isPreferenceRow(r)) {
        seqs.push({ promptIds: p, responseIds: responseIds(tok, r.chosen, where(i)) });
        seqs.push({ promptIds: p, responseIds: responseIds(tok, r.rejected, where(i)) });
      } else {
        seqs.push({ promptIds: p, responseIds: responseIds(tok, r.completion, where(i)) });
      }
    });
    const scores = await scoreSequences(await this.session('scorer'), seqs, {
      padId: tok.batchPadId,
      batchSize,
    });
    let k = 0;
    return parsed.map((r) =>
      isPreferenceRow(r)
        ? {
            chosen_logps: scores[k].logps,
            chosen_tokens: scores[k++].tokenLogprobs.length,
            rejected_logps: scores[k].logps,
            rejected_tokens: scores[k++].tokenLogprobs.length,
          }
        : {
            logps: scores[k].logps,
            tokens: scores[k].tokenLogprobs.length,
            token_logprobs: scores[k++].tokenLogprobs,
          },
    );
  }

  async close(): Promise<void> {
    for (const s of [this.decoder, this.scorer]) if (s) await (await s).release();
    this.model.close();
  }
}
