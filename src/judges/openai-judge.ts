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

import { PipelineError } from '../core/errors.js';
import { cleartextKeyHost } from '../spec/validate/secrets.js';
import { isRecord, OpenAIHttp, type OpenAIHttpOptions } from './openai-http.js';
import { pairwiseVerdict } from './pairwise-verdict.js';
import type { JudgeSpec } from '../spec/schema.js';
import type { Rubric } from '../prompts/rubric.js';
import type { JudgeSampling, PairwiseSample, ScoreSample } from './model-judge.js';

export type OpenAIJudgeSpec = Extract<JudgeSpec, { kind: 'openai' }>;

/** The transport's settings (openai-http.ts) without who is asking: a judge says so itself. */
export interface OpenAIClientOptions extends Omit<
  OpenAIHttpOptions,
  'who' | 'codePrefix' | 'loadKnob'
> {
  /** The judge's name in the pipeline file, for error messages. */
  name: string;
  model: string;
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

const CHAT = '/chat/completions';

export class OpenAIClient {
  readonly name: string;
  readonly url: string;
  readonly identity: OpenAIJudgeIdentity;
  readonly timeoutS: number;
  readonly #http: OpenAIHttp;
  /** Set once the server rejects n > 1; from then on every request asks for one choice. */
  #singleChoice = false;

  constructor(o: OpenAIClientOptions) {
    this.#http = new OpenAIHttp({
      who: `judge '${o.name}'`,
      codePrefix: 'E_JUDGE',
      loadKnob: 'this judge’s concurrency',
      ...o,
    });
    this.name = o.name;
    this.url = this.#http.url(CHAT);
    this.identity = { base_url: this.#http.base, model: o.model };
    this.timeoutS = o.timeoutS;
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
    const { outcome, tries } = await this.#http.request('POST', CHAT, body);
    if (outcome.kind === 'ok') return this.#parse(outcome.text, req.n);
    if (outcome.kind === 'http' && n > 1 && (outcome.status === 400 || outcome.status === 422)) {
      // llama.cpp server: "Only one completion choice is allowed". If n was not the cause,
      // the single-choice request fails the same way and that error is reported.
      this.#singleChoice = true;
      return this.complete(req);
    }
    throw this.#http.error(outcome, tries, 'POST', CHAT);
  }

  #parse(text: string, asked: number): ChatResult {
    const json = this.#http.parse(text, 'POST', CHAT);
    const bad = (what: string) => this.#http.badResponse('POST', CHAT, what);
    const raw = isRecord(json) ? json.choices : undefined;
    if (!Array.isArray(raw) || raw.length === 0)
      throw bad(`no choices (expected choices: [{message: {content}}] for ${asked} asked)`);
    const indexed = raw.map((c, i) => {
      if (!isRecord(c) || !isRecord(c.message)) throw bad(`choices[${i}] has no message`);
      const content = c.message.content;
      if (content !== null && content !== undefined && typeof content !== 'string')
        throw bad(`choices[${i}].message.content is not text`);
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
}

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
