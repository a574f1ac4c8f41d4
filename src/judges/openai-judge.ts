// A judge behind any OpenAI chat-completions server (vLLM, llama.cpp server, Ollama, TGI).
//
// Only the common subset of the API is used (one user message; model, temperature, max_tokens,
// n, seed), because each server implements a different slice of the rest. Where servers are
// known to differ, the client adapts instead of failing:
// - `n` is ignored by some servers (fewer choices come back) and rejected by others (llama.cpp
//   answers 400 for n > 1): further requests are made until K samples are collected.
// - `seed` is honoured by some: each follow-up request gets the next seed, so a server that
//   honours the seed but ignores `n` still returns K different samples instead of one K times.
//
// Log-prob judging is not offered: it needs the next-token distribution right after an assistant
// prefix ("Score: "), and the chat API cannot prefill the assistant's reply portably; asking the
// model to answer with a bare number instead would measure a different prompt than the one
// stored, and a first token such as "Score" would make the "never unparseable" promise false.
//
// The API key is read from the environment and is never part of an error, a log line or a
// stored row; a server that echoes the key in its error text has it masked.

import { setTimeout as sleep } from 'node:timers/promises';
import { PipelineError } from '../core/errors.js';
import { excerpt } from '../core/excerpt.js';
import { cleartextKeyHost } from '../spec/validate/secrets.js';
import { backoffDelayMs } from './backoff.js';
import { pairwiseVerdict } from './pairwise-verdict.js';
import type { JudgeSpec } from '../spec/schema.js';
import type { Rubric } from '../prompts/rubric.js';
import type { JudgeSampling, PairwiseSample, ScoreSample } from './model-judge.js';

export type OpenAIJudgeSpec = Extract<JudgeSpec, { kind: 'openai' }>;

export interface OpenAIClientOptions {
  /** The judge's name in the pipeline file, for error messages. */
  name: string;
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** The environment variable the key came from, named (never shown) in 401/403 hints. */
  apiKeyEnv?: string;
  timeoutS: number;
  /** Attempts per HTTP request, the first included (default 3). */
  maxTries?: number;
  /** Delay before the first retry in ms, doubled for each further one, with jitter (default 500). */
  backoffMs?: number;
  /** Aborts requests in flight and pending retries (the run's stop signal). */
  signal?: AbortSignal;
}

export interface ChatRequest {
  prompt: string;
  n: number;
  temperature: number;
  maxTokens: number;
  seed: number;
}

export interface ChatChoice {
  text: string;
  finishReason: string | null;
}

export interface ChatResult {
  choices: ChatChoice[];
  /** The model name the server reports (e.g. Ollama's resolved tag), else the requested one. */
  model: string;
}

/** What identifies this judge in input hashes and provenance: where it runs and which model. */
export interface OpenAIJudgeIdentity {
  base_url: string;
  model: string;
}

const RETRY_AFTER_CAP_MS = 30_000;
const ERROR_TEXT_LIMIT = 500;

export class OpenAIClient {
  readonly name: string;
  readonly url: string;
  readonly identity: OpenAIJudgeIdentity;
  readonly timeoutS: number;
  // private (#) so that inspecting or serialising the client cannot reveal the key
  readonly #apiKey: string | undefined;
  readonly #apiKeyEnv: string | undefined;
  readonly #maxTries: number;
  readonly #backoffMs: number;
  readonly #signal: AbortSignal | undefined;
  /** Set once the server rejects n > 1; from then on every request asks for one choice. */
  #singleChoice = false;

  constructor(o: OpenAIClientOptions) {
    const base = o.baseUrl.replace(/\/+$/, '');
    this.name = o.name;
    this.url = `${base}/chat/completions`;
    this.identity = { base_url: base, model: o.model };
    this.timeoutS = o.timeoutS;
    this.#apiKey = o.apiKey;
    this.#apiKeyEnv = o.apiKeyEnv;
    this.#maxTries = Math.max(1, o.maxTries ?? 3);
    this.#backoffMs = o.backoffMs ?? 500;
    this.#signal = o.signal;
  }

  /**
   * K completions of one prompt. Requests are made one after another (never more than one in
   * flight per call, so a caller's concurrency limit is the number of requests in flight) until K
   * choices are in; each request yields at least one choice or throws, so at most K requests.
   */
  async sample(
    prompt: string,
    k: number,
    s: JudgeSampling,
    seed: number,
  ): Promise<{ choices: ChatChoice[]; model: string }> {
    const choices: ChatChoice[] = [];
    let model = this.identity.model;
    for (let r = 0; choices.length < k; r++) {
      const want = k - choices.length;
      const res = await this.complete({
        prompt,
        n: want,
        temperature: s.temperature,
        maxTokens: s.max_new_tokens,
        seed: (seed + r) >>> 0,
      });
      choices.push(...res.choices.slice(0, want));
      model = res.model;
    }
    return { choices, model };
  }

  /** One chat completion request, retried on 429, 5xx, timeouts and network errors. */
  async complete(req: ChatRequest): Promise<ChatResult> {
    const n = this.#singleChoice ? 1 : req.n;
    const body: Record<string, unknown> = {
      model: this.identity.model,
      messages: [{ role: 'user', content: req.prompt }],
      temperature: req.temperature,
      max_tokens: req.maxTokens,
      seed: req.seed,
    };
    // n is left out when 1: the default everywhere, and some servers reject the field itself.
    if (n > 1) body.n = n;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
    };
    if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
    const payload = JSON.stringify(body);

    for (let attempt = 1; ; attempt++) {
      this.#checkStopped();
      const outcome = await this.#post(payload, headers);
      if (outcome.kind === 'ok') return this.#parse(outcome.text, req.n);
      if (outcome.kind === 'http' && n > 1 && (outcome.status === 400 || outcome.status === 422)) {
        // llama.cpp server: "Only one completion choice is allowed". If n was not the cause,
        // the single-choice request fails the same way and that error is reported.
        this.#singleChoice = true;
        return this.complete(req);
      }
      // A timeout is a server too busy to answer in time, like a 429 or 503: worth another try.
      const retriable =
        outcome.kind === 'network' ||
        outcome.kind === 'timeout' ||
        (outcome.kind === 'http' && (outcome.status === 429 || outcome.status >= 500));
      if (!retriable || attempt >= this.#maxTries) throw this.#error(outcome, attempt);
      let delay = backoffDelayMs(attempt, this.#backoffMs);
      if (outcome.kind === 'http' && outcome.retryAfterMs !== undefined)
        delay = Math.max(delay, Math.min(outcome.retryAfterMs, RETRY_AFTER_CAP_MS));
      try {
        await sleep(delay, undefined, { signal: this.#signal });
      } catch {
        this.#checkStopped();
      }
    }
  }

  async #post(payload: string, headers: Record<string, string>): Promise<Outcome> {
    const timeout = AbortSignal.timeout(this.timeoutS * 1000);
    const signal = this.#signal ? AbortSignal.any([timeout, this.#signal]) : timeout;
    let status: number;
    let statusText: string;
    let retryAfter: string | null;
    let text: string;
    try {
      // the body is read under the same signal, so a server that stalls mid-body times out too
      const res = await fetch(this.url, { method: 'POST', headers, body: payload, signal });
      status = res.status;
      statusText = res.statusText;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (e) {
      this.#checkStopped();
      if (timeout.aborted) return { kind: 'timeout' };
      return { kind: 'network', reason: networkReason(e) };
    }
    if (status >= 200 && status < 300) return { kind: 'ok', text };
    return {
      kind: 'http',
      status,
      statusText,
      serverMessage: serverMessage(text),
      retryAfterMs: parseRetryAfter(retryAfter),
    };
  }

  #parse(text: string, asked: number): ChatResult {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw this.#badResponse(`a body that is not JSON: ${this.#mask(snippet(text))}`);
    }
    const raw = isRecord(json) ? json.choices : undefined;
    if (!Array.isArray(raw) || raw.length === 0)
      throw this.#badResponse(
        `no choices (expected choices: [{message: {content}}] for ${asked} asked)`,
      );
    const indexed = raw.map((c, i) => {
      if (!isRecord(c) || !isRecord(c.message))
        throw this.#badResponse(`choices[${i}] has no message`);
      const content = c.message.content;
      if (content !== null && content !== undefined && typeof content !== 'string')
        throw this.#badResponse(`choices[${i}].message.content is not text`);
      return {
        index: typeof c.index === 'number' ? c.index : i,
        // null content (e.g. a reply that is all tool calls) is kept as empty text: the parser
        // then records it as unparseable rather than the whole stage failing
        text: content ?? '',
        finishReason: typeof c.finish_reason === 'string' ? c.finish_reason : null,
      };
    });
    indexed.sort((a, b) => a.index - b.index);
    const model = isRecord(json) && typeof json.model === 'string' ? json.model : undefined;
    return {
      choices: indexed.map(({ text, finishReason }) => ({ text, finishReason })),
      model: model ?? this.identity.model,
    };
  }

  #checkStopped(): void {
    if (this.#signal?.aborted)
      throw new PipelineError({
        code: 'E_INTERRUPTED',
        message: `judge '${this.name}': request to ${this.url} cancelled because the run was stopped`,
      });
  }

  #badResponse(what: string): PipelineError {
    return new PipelineError({
      code: 'E_JUDGE_RESPONSE',
      message: `judge '${this.name}': POST ${this.url} returned ${what}`,
      hint: 'base_url must point at an OpenAI-compatible API (usually ending in /v1)',
    });
  }

  #error(o: Exclude<Outcome, { kind: 'ok' }>, tries: number): PipelineError {
    const after = tries > 1 ? ` (after ${tries} tries)` : '';
    const who = `judge '${this.name}': POST ${this.url}`;
    if (o.kind === 'timeout')
      return new PipelineError({
        code: 'E_JUDGE_TIMEOUT',
        message: `${who} got no complete answer within ${this.timeoutS} s (timeout_s)${tries > 1 ? ` on each of ${tries} tries` : ''}`,
        hint: 'raise timeout_s for this judge, lower its concurrency, or check the server load',
      });
    if (o.kind === 'network')
      return new PipelineError({
        code: 'E_JUDGE_UNREACHABLE',
        message: `${who} failed${after}: ${o.reason}`,
        hint: 'is the server running and reachable at base_url?',
      });
    const said = o.serverMessage ? `: ${this.#mask(o.serverMessage)}` : '';
    const status = `${o.status}${o.statusText ? ` ${o.statusText}` : ''}`;
    const auth = o.status === 401 || o.status === 403;
    return new PipelineError({
      code: auth ? 'E_JUDGE_AUTH' : 'E_JUDGE_HTTP',
      message: `${who} answered ${status}${after}${said}`,
      hint: auth
        ? this.#apiKeyEnv
          ? `check the API key in the environment variable ${this.#apiKeyEnv} (api_key_env)`
          : 'the server wants an API key: set api_key_env to the name of a variable that holds it'
        : o.status === 404
          ? 'check base_url (usually ending in /v1) and the model name the server expects'
          : o.status === 429 || o.status >= 500
            ? 'the server is overloaded or failing: lower this judge’s concurrency or retry later'
            : 'the server rejected the request; its message above says why',
    });
  }

  #mask(text: string): string {
    return this.#apiKey ? text.split(this.#apiKey).join('***') : text;
  }
}

type Outcome =
  | { kind: 'ok'; text: string }
  | { kind: 'timeout' }
  | { kind: 'network'; reason: string }
  | {
      kind: 'http';
      status: number;
      statusText: string;
      serverMessage: string;
      retryAfterMs: number | undefined;
    };

/**
 * A client for a judge declared `kind: openai`. The key is read now, so a missing variable stops
 * the stage before any request is made. Validation refuses a key bound for a non-loopback
 * http:// host; the rule is enforced here too, so no path around validation can send it.
 */
export function createOpenAIClient(
  name: string,
  spec: OpenAIJudgeSpec,
  opts: {
    env?: NodeJS.ProcessEnv;
    signal?: AbortSignal;
    maxTries?: number;
    backoffMs?: number;
  } = {},
): OpenAIClient {
  const env = opts.env ?? process.env;
  const host = cleartextKeyHost(spec.base_url, !!spec.api_key_env);
  if (host && spec.allow_insecure_http !== true)
    throw new PipelineError({
      code: 'E_JUDGE_INSECURE',
      message: `judge '${name}': refusing to send the API key in ${spec.api_key_env} unencrypted over http:// to ${host}`,
      hint: 'use https://, a server on this machine (127.0.0.1, ::1, localhost), or set allow_insecure_http: true on the judge',
    });
  let apiKey: string | undefined;
  if (spec.api_key_env) {
    apiKey = env[spec.api_key_env];
    if (!apiKey)
      throw new PipelineError({
        code: 'E_JUDGE_API_KEY',
        message: `judge '${name}': the environment variable ${spec.api_key_env} (api_key_env) is ${apiKey === '' ? 'empty' : 'not set'}`,
        hint: `export ${spec.api_key_env}=<key> before running, or remove api_key_env if the server needs no key`,
      });
  }
  return new OpenAIClient({
    name,
    baseUrl: spec.base_url,
    model: spec.model,
    apiKey,
    apiKeyEnv: spec.api_key_env,
    timeoutS: spec.timeout_s,
    signal: opts.signal,
    maxTries: opts.maxTries,
    backoffMs: opts.backoffMs,
  });
}

// ---- judging ------------------------------------------------------------------------------------

export interface OpenAIScoreSample extends ScoreSample {
  finishReason: string | null;
}

/**
 * Generate-and-parse judging (Self-Rewarding LMs) by a server: K samples of the rendered rubric,
 * each parsed in the rubric's answer format. An unparseable answer keeps its raw text and the
 * parser's reason; it is never given a guessed score.
 */
export async function openaiJudgeByGeneration(
  client: OpenAIClient,
  rubric: Rubric,
  vars: Record<string, unknown>,
  k: number,
  s: JudgeSampling,
  seed: number,
): Promise<{ rendered: string; samples: OpenAIScoreSample[]; model: string }> {
  const rendered = rubric.render(vars);
  const { choices, model } = await client.sample(rendered, k, s, seed);
  const format = rubric.format;
  const samples = choices.map(({ text: raw, finishReason }): OpenAIScoreSample => {
    if (format.kind !== 'score')
      return {
        score: null,
        raw,
        finishReason,
        parseError: `rubric answer format ${format.name} gives no score`,
      };
    const parsed = format.parse(raw);
    return parsed.ok
      ? { score: parsed.score, raw, finishReason }
      : { score: null, raw, finishReason, parseError: parsed.reason };
  });
  return { rendered, samples, model };
}

/** One (A)/(B) comparison under a principle (Constitutional AI), answered by a server. */
export async function openaiJudgePairwise(
  client: OpenAIClient,
  rubric: Rubric,
  vars: Record<string, unknown>,
  s: JudgeSampling,
  seed: number,
): Promise<PairwiseSample & { finishReason: string | null; model: string }> {
  const rendered = rubric.render(vars);
  const { choices, model } = await client.sample(rendered, 1, s, seed);
  const { text: raw, finishReason } = choices[0];
  return { rendered, raw, finishReason, model, ...pairwiseVerdict(rubric, raw) };
}

// ---- helpers ------------------------------------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function snippet(text: string): string {
  const t = text.trim().replace(/\s+/g, ' ');
  return excerpt(t, ERROR_TEXT_LIMIT);
}

/** The error text of an OpenAI-style body ({error: {message}}, {error: "..."}, {message}), else the body. */
function serverMessage(text: string): string {
  try {
    const j: unknown = JSON.parse(text);
    if (isRecord(j)) {
      const e = j.error;
      if (isRecord(e) && typeof e.message === 'string') return snippet(e.message);
      if (typeof e === 'string') return snippet(e);
      if (typeof j.message === 'string') return snippet(j.message);
      if (typeof j.detail === 'string') return snippet(j.detail);
    }
  } catch {
    // not JSON: the body itself is the best message there is
  }
  return snippet(text);
}

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
function parseRetryAfter(v: string | null): number | undefined {
  if (v === null || v.trim() === '') return undefined;
  const s = Number(v);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

/** undici reports "fetch failed" with the real reason (ECONNREFUSED, ENOTFOUND, ...) as the cause. */
function networkReason(e: unknown): string {
  const cause = e instanceof Error ? (e.cause as { code?: string; message?: string }) : undefined;
  if (cause?.code && cause.message)
    return cause.message.includes(cause.code) ? cause.message : `${cause.code}: ${cause.message}`;
  if (cause?.message) return cause.message;
  return e instanceof Error ? e.message : String(e);
}
