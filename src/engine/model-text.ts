// The text side of a model, without its weights: how a prompt becomes token ids, which token
// each judge option starts with, how TRL rows become scored sequences, and the model's facts.
// The in-process engine and a policy served elsewhere (an OpenAI-compatible server) both go
// through these, so the two tokenize every request the same way and their numbers compare.
import { fail } from '../core/errors.js';
import {
  isPreferenceRow,
  parseScoreRow,
  promptIds,
  responseIds,
  type ScoreRow,
} from './data/trl-rows.js';
import type { ScoreSequence, SequenceScore } from './generate/score.js';
import { loadModelConfig, type ModelConfig } from './model/config.js';
import { resolveModelDir } from './model/load-model.js';
import { parameterCount } from './model/memory-estimate.js';
import type { Device } from './runtime/ort-session.js';
import type { Quantize } from './model/quantize.js';
import { Tokenizer, type ChatMessage } from './tokenizer/tokenizer.js';

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

/** Sums of response-token log-probs, with the number of response tokens each sum covers. */
export type ScoreResult =
  | { chosen_logps: number; rejected_logps: number; chosen_tokens: number; rejected_tokens: number }
  /** `token_logprobs`: the per-token terms of `logps` (the drift KL needs them one by one). */
  | { logps: number; tokens: number; token_logprobs: number[] };

export class ModelText {
  constructor(
    readonly ref: string,
    readonly dir: string,
    readonly config: ModelConfig,
    readonly tokenizer: Tokenizer,
  ) {}

  /** config.json and the tokenizer files only: a moment even for a large checkpoint. */
  static open(ref: string): ModelText {
    const dir = resolveModelDir(ref);
    return new ModelText(ref, dir, loadModelConfig(dir), Tokenizer.fromDir(dir));
  }

  info(o: { adapter?: string; device: Device }): ModelInfo {
    const c = this.config;
    return {
      ref: this.ref,
      dir: this.dir,
      architecture: c.architecture,
      parameters: parameterCount(c),
      vocabSize: c.vocabSize,
      eosTokenIds: this.tokenizer.eosTokenIds,
      padTokenId: this.tokenizer.padTokenId,
      maxPositions: c.maxPositionEmbeddings,
      adapter: o.adapter,
      device: o.device,
    };
  }

  /** Chat prompts are templated with a generation prompt; text is encoded as is. */
  encodePrompt(p: PromptInput): number[] {
    const tok = this.tokenizer;
    if ('ids' in p) return p.ids;
    if ('text' in p) return tok.encode(p.text);
    return tok.encodeChat(p.messages, { addGenerationPrompt: true });
  }

  /** A token's own text, as a server reports it ('' for ids the vocabulary lacks). */
  tokenText(id: number): string {
    return this.tokenizer.idToToken(id) === undefined ? '' : this.tokenizer.decode([id]);
  }

  /**
   * What a judge's option read is made of: the ids of `prompt` followed by the assistant text
   * `prefix`, and each option's first token after them.
   */
  choiceIds(
    prompt: PromptInput,
    prefix: string,
    options: string[],
  ): { ids: number[]; firstIds: number[] } {
    const tok = this.tokenizer;
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
    return { ids, firstIds };
  }

  /**
   * TRL rows (preference or prompt/completion) as the sequences to score: a preference row gives
   * two (chosen, rejected), a completion row one (see data/trl-rows.ts for the conventions).
   */
  scoreSequences(rows: unknown[], labels: string[]): { parsed: ScoreRow[]; seqs: ScoreSequence[] } {
    const where = (i: number): string => labels[i] ?? `row ${i + 1}`;
    const tok = this.tokenizer;
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
    return { parsed, seqs };
  }
}

/** The rows' results from their sequences' scores, in the order `scoreSequences` made them. */
export function scoreResults(parsed: ScoreRow[], scores: SequenceScore[]): ScoreResult[] {
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

/** log p(id) for each id, from a next-token logits row (a stable log-sum-exp). */
export function logSoftmaxAt(logits: ArrayLike<number>, ids: number[]): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const lse = max + Math.log(sum);
  return ids.map((id) => logits[id] - lse);
}
