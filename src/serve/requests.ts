// Request validation: an OpenAI chat-completions or completions body -> the engine's prompts and
// options, or a 400 naming the offending field. Fields this server does not implement are
// refused when they would change the answer (penalties, tools, logit_bias), ignored otherwise.
import type { ChatMessage, GenerateOptions, PromptInput } from '../engine/index.js';
import { badParam } from './api-error.js';

export type Endpoint = 'chat' | 'completion';

export interface ServeRequest {
  endpoint: Endpoint;
  model: string;
  /** One prompt for chat; one or more for completions (choices are prompt-major). */
  prompts: PromptInput[];
  /** Engine options, without `seed`/`seeds` (the batcher sets them from `seed`). */
  options: Omit<GenerateOptions, 'seed' | 'seeds'>;
  /** The request's seed, or undefined: the server draws one. */
  seed: number | undefined;
  /** null: no logprobs; else the number of alternatives per token (0..20). */
  logprobs: number | null;
  stream: boolean;
  includeUsage: boolean;
  /** Completions only: return the prompt before the completion. */
  echo: boolean;
  /** vLLM's prompt_logprobs: null, or alternatives per prompt token (only the actual one is given). */
  promptLogprobs: number | null;
  /** vLLM's return_tokens_as_token_ids: logprobs name tokens "token_id:<id>", not by text. */
  tokensAsIds: boolean;
}

export interface Limits {
  /** Most tokens a request may ask for (the model's positions). */
  maxTokens: number;
  /** max_tokens when a chat request gives none (completions default to 16, as OpenAI's). */
  defaultChatMaxTokens: number;
  /** Most choices per request (n times the number of prompts). */
  maxChoices: number;
}

type Body = Record<string, unknown>;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const given = (b: Body, k: string) => b[k] !== undefined && b[k] !== null;

function num(b: Body, k: string, lo: number, hi: number, dflt: number, int = false): number {
  if (!given(b, k)) return dflt;
  const v = b[k];
  if (!(int ? isInt(v) : isNum(v)) || (v as number) < lo || (v as number) > hi)
    throw badParam(
      k,
      `'${k}' must be ${int ? 'an integer' : 'a number'} from ${lo} to ${hi}, got ${JSON.stringify(v)}.`,
    );
  return v as number;
}

function bool(b: Body, k: string): boolean {
  if (!given(b, k)) return false;
  if (typeof b[k] !== 'boolean') throw badParam(k, `'${k}' must be true or false.`);
  return b[k] as boolean;
}

/** Fields that change sampling in ways this engine does not implement: refused, not ignored. */
function refuseUnsupported(b: Body): void {
  for (const k of ['presence_penalty', 'frequency_penalty'])
    if (given(b, k) && b[k] !== 0)
      throw badParam(k, `'${k}' is not supported by this server (only 0).`, 'unsupported');
  if (given(b, 'repetition_penalty') && b.repetition_penalty !== 1)
    throw badParam(
      'repetition_penalty',
      "'repetition_penalty' is not supported by this server (only 1).",
      'unsupported',
    );
  for (const k of ['logit_bias', 'tools', 'functions', 'response_format', 'suffix', 'best_of'])
    if (given(b, k) && !(k === 'best_of' && b[k] === 1))
      throw badParam(k, `'${k}' is not supported by this server.`, 'unsupported');
}

function stops(b: Body): string[] {
  if (!given(b, 'stop')) return [];
  const s = b.stop;
  const list = typeof s === 'string' ? [s] : s;
  if (
    !Array.isArray(list) ||
    list.length > 16 ||
    !list.every((x) => typeof x === 'string' && x.length > 0)
  )
    throw badParam('stop', "'stop' must be a non-empty string or a list of up to 16 of them.");
  return list as string[];
}

function messages(b: Body): ChatMessage[] {
  const m = b.messages;
  if (!Array.isArray(m) || m.length === 0)
    throw badParam('messages', "'messages' must be a non-empty list of messages.");
  return m.map((x: unknown, i) => {
    const where = `messages[${i}]`;
    if (typeof x !== 'object' || x === null) throw badParam(where, `'${where}' must be an object.`);
    const { role, content } = x as Record<string, unknown>;
    if (typeof role !== 'string' || role === '')
      throw badParam(`${where}.role`, `'${where}.role' must be a string.`);
    return { role, content: messageText(content, where) };
  });
}

/** A message's content: a string, or a list of {type: 'text', text} parts (joined). */
function messageText(content: unknown, where: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) {
    return content
      .map((p: unknown, j) => {
        const part = p as Record<string, unknown> | null;
        if (part?.type !== 'text' || typeof part.text !== 'string')
          throw badParam(
            `${where}.content[${j}]`,
            `only text content parts are supported ({"type": "text", "text": ...}).`,
          );
        return part.text;
      })
      .join('');
  }
  throw badParam(`${where}.content`, `'${where}.content' must be a string or a list of parts.`);
}

/** A completions prompt: text, a list of texts, token ids, or a list of token-id lists. */
function completionPrompts(b: Body): PromptInput[] {
  const p = b.prompt;
  const ids = (v: unknown): v is number[] =>
    Array.isArray(v) && v.length > 0 && v.every((t) => isInt(t) && t >= 0);
  if (typeof p === 'string') return [{ text: p }];
  if (ids(p)) return [{ ids: p }];
  if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string'))
    return (p as string[]).map((text) => ({ text }));
  if (Array.isArray(p) && p.length > 0 && p.every(ids))
    return (p as number[][]).map((x) => ({ ids: x }));
  throw badParam(
    'prompt',
    "'prompt' must be a string, a list of strings, a list of token ids or a list of such lists.",
  );
}

/** top_p in (0, 1]. */
function topP(b: Body): number {
  const v = num(b, 'top_p', 0, 1, 1);
  if (v === 0) throw badParam('top_p', "'top_p' must be greater than 0 and at most 1, got 0.");
  return v;
}

export function parseRequest(endpoint: Endpoint, b: Body, limits: Limits): ServeRequest {
  if (typeof b.model !== 'string' || b.model === '')
    throw badParam('model', "'model' must name a served model (see GET /v1/models).");
  refuseUnsupported(b);
  const prompts = endpoint === 'chat' ? [{ messages: messages(b) }] : completionPrompts(b);
  const n = num(b, 'n', 1, limits.maxChoices, 1, true);
  if (n * prompts.length > limits.maxChoices)
    throw badParam('n', `n x prompts (${n * prompts.length}) exceeds ${limits.maxChoices}.`);
  const maxKey =
    endpoint === 'chat' && given(b, 'max_completion_tokens')
      ? 'max_completion_tokens'
      : 'max_tokens';
  // With echo, max_tokens 0 scores the prompt without generating (OpenAI's legacy use).
  const echoed = endpoint === 'completion' && b.echo === true;
  const maxTokens = num(
    b,
    maxKey,
    echoed ? 0 : 1,
    limits.maxTokens,
    endpoint === 'chat' ? Math.min(limits.defaultChatMaxTokens, limits.maxTokens) : 16,
    true,
  );
  const temperature = num(b, 'temperature', 0, 2, 1);
  // vLLM's top_k: -1 (or 0) disables it.
  const topK = num(b, 'top_k', -1, 1_000_000, 0, true);
  let logprobs: number | null = null;
  if (endpoint === 'chat') {
    if (bool(b, 'logprobs')) logprobs = num(b, 'top_logprobs', 0, 20, 0, true);
    else if (given(b, 'top_logprobs'))
      throw badParam('top_logprobs', "'top_logprobs' needs 'logprobs': true.");
  } else if (given(b, 'logprobs')) {
    logprobs = num(b, 'logprobs', 0, 20, 0, true);
  }
  const stream = bool(b, 'stream');
  const so = b.stream_options as Record<string, unknown> | undefined | null;
  if (so !== undefined && so !== null && typeof so !== 'object')
    throw badParam('stream_options', "'stream_options' must be an object.");
  const echo = endpoint === 'completion' && bool(b, 'echo');
  if (echo && stream)
    throw badParam('echo', "'echo' with 'stream' is not supported by this server.", 'unsupported');
  return {
    endpoint,
    model: b.model,
    prompts,
    options: {
      n,
      maxNewTokens: maxTokens,
      stopStrings: stops(b),
      ignoreEos: bool(b, 'ignore_eos'),
      temperature,
      topP: topP(b),
      topK: topK < 0 ? 0 : topK,
      greedy: temperature === 0,
      ...(logprobs !== null ? { topLogprobs: logprobs } : {}),
    },
    seed: given(b, 'seed') ? num(b, 'seed', -(2 ** 53) + 1, 2 ** 53 - 1, 0, true) : undefined,
    logprobs,
    stream,
    includeUsage: stream && so?.include_usage === true,
    echo,
    promptLogprobs: given(b, 'prompt_logprobs') ? num(b, 'prompt_logprobs', 0, 20, 0, true) : null,
    tokensAsIds: bool(b, 'return_tokens_as_token_ids'),
  };
}
