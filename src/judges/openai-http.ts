// The HTTP side of talking to an OpenAI-compatible server (vLLM, SGLang, TGI, llama.cpp server,
// Ollama, `pipeline serve`), shared by server judges and the server-hosted policy: JSON requests
// under a timeout and the run's stop signal, retries with backoff on 429, 5xx, timeouts and
// network errors (honouring Retry-After), and errors that say who asked, what the server said and
// what to check. The API key travels only in the Authorization header; a server that echoes it in
// its error text has it masked.

import { setTimeout as sleep } from 'node:timers/promises';
import { PipelineError } from '../core/errors.js';
import { excerpt } from '../core/excerpt.js';
import { backoffDelayMs } from './backoff.js';

export interface OpenAIHttpOptions {
  /** Who is asking, for messages: "judge 'anchor'", "policy server". */
  who: string;
  /** Error codes are `${codePrefix}_TIMEOUT`, `_UNREACHABLE`, `_AUTH`, `_HTTP`, `_RESPONSE`, ... */
  codePrefix: string;
  baseUrl: string;
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
  /** What to lower when the server is overloaded, for hints ("this judge's concurrency"). */
  loadKnob?: string;
}

export type Outcome =
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

const RETRY_AFTER_CAP_MS = 30_000;
const ERROR_TEXT_LIMIT = 500;

export class OpenAIHttp {
  readonly base: string;
  readonly who: string;
  readonly timeoutS: number;
  readonly #codePrefix: string;
  // private (#) so that inspecting or serialising the client cannot reveal the key
  readonly #apiKey: string | undefined;
  readonly #apiKeyEnv: string | undefined;
  readonly #maxTries: number;
  readonly #backoffMs: number;
  readonly #signal: AbortSignal | undefined;
  readonly #loadKnob: string;

  constructor(o: OpenAIHttpOptions) {
    this.base = o.baseUrl.replace(/\/+$/, '');
    this.who = o.who;
    this.timeoutS = o.timeoutS;
    this.#codePrefix = o.codePrefix;
    this.#apiKey = o.apiKey;
    this.#apiKeyEnv = o.apiKeyEnv;
    this.#maxTries = Math.max(1, o.maxTries ?? 3);
    this.#backoffMs = o.backoffMs ?? 500;
    this.#signal = o.signal;
    this.#loadKnob = o.loadKnob ?? 'the concurrency';
  }

  url(path: string): string {
    return `${this.base}${path}`;
  }

  /**
   * One request, retried on 429, 5xx, timeouts and network errors; the last outcome and the tries
   * it took. Other answers (2xx, 4xx) come back at once for the caller to read.
   */
  async request(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<{ outcome: Outcome; tries: number }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      this.checkStopped(method, path);
      const outcome = await this.#send(method, this.url(path), headers, payload);
      // A timeout is a server too busy to answer in time, like a 429 or 503: worth another try.
      const retriable =
        outcome.kind === 'network' ||
        outcome.kind === 'timeout' ||
        (outcome.kind === 'http' && (outcome.status === 429 || outcome.status >= 500));
      if (!retriable || attempt >= this.#maxTries) return { outcome, tries: attempt };
      let delay = backoffDelayMs(attempt, this.#backoffMs);
      if (outcome.kind === 'http' && outcome.retryAfterMs !== undefined)
        delay = Math.max(delay, Math.min(outcome.retryAfterMs, RETRY_AFTER_CAP_MS));
      try {
        await sleep(delay, undefined, { signal: this.#signal });
      } catch {
        this.checkStopped(method, path);
      }
    }
  }

  /** A request whose answer must be 2xx JSON: the parsed body, or the error that says why not. */
  async json(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const { outcome, tries } = await this.request(method, path, body);
    if (outcome.kind !== 'ok') throw this.error(outcome, tries, method, path);
    return this.parse(outcome.text, method, path);
  }

  parse(text: string, method: string, path: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      throw this.badResponse(method, path, `a body that is not JSON: ${this.mask(snippet(text))}`);
    }
  }

  checkStopped(method: string, path: string): void {
    if (this.#signal?.aborted)
      throw new PipelineError({
        code: 'E_INTERRUPTED',
        message: `${this.who}: request to ${method} ${this.url(path)} cancelled because the run was stopped`,
      });
  }

  badResponse(method: string, path: string, what: string): PipelineError {
    return new PipelineError({
      code: `${this.#codePrefix}_RESPONSE`,
      message: `${this.who}: ${method} ${this.url(path)} returned ${what}`,
      hint: 'base_url must point at an OpenAI-compatible API (usually ending in /v1)',
    });
  }

  error(
    o: Exclude<Outcome, { kind: 'ok' }>,
    tries: number,
    method: string,
    path: string,
  ): PipelineError {
    const after = tries > 1 ? ` (after ${tries} tries)` : '';
    const who = `${this.who}: ${method} ${this.url(path)}`;
    const code = this.#codePrefix;
    if (o.kind === 'timeout')
      return new PipelineError({
        code: `${code}_TIMEOUT`,
        message: `${who} got no complete answer within ${this.timeoutS} s (timeout_s)${tries > 1 ? ` on each of ${tries} tries` : ''}`,
        hint: `raise timeout_s, lower ${this.#loadKnob}, or check the server load`,
      });
    if (o.kind === 'network')
      return new PipelineError({
        code: `${code}_UNREACHABLE`,
        message: `${who} failed${after}: ${o.reason}`,
        hint: 'is the server running and reachable at base_url?',
      });
    const said = o.serverMessage ? `: ${this.mask(o.serverMessage)}` : '';
    const status = `${o.status}${o.statusText ? ` ${o.statusText}` : ''}`;
    const auth = o.status === 401 || o.status === 403;
    return new PipelineError({
      code: auth ? `${code}_AUTH` : `${code}_HTTP`,
      message: `${who} answered ${status}${after}${said}`,
      hint: auth
        ? this.#apiKeyEnv
          ? `check the API key in the environment variable ${this.#apiKeyEnv} (api_key_env)`
          : 'the server wants an API key: set api_key_env to the name of a variable that holds it'
        : o.status === 404
          ? 'check base_url (usually ending in /v1) and the model name the server expects'
          : o.status === 429 || o.status >= 500
            ? `the server is overloaded or failing: lower ${this.#loadKnob} or retry later`
            : 'the server rejected the request; its message above says why',
    });
  }

  mask(text: string): string {
    return this.#apiKey ? text.split(this.#apiKey).join('***') : text;
  }

  async #send(
    method: string,
    url: string,
    headers: Record<string, string>,
    payload: string | undefined,
  ): Promise<Outcome> {
    const timeout = AbortSignal.timeout(this.timeoutS * 1000);
    const signal = this.#signal ? AbortSignal.any([timeout, this.#signal]) : timeout;
    let status: number;
    let statusText: string;
    let retryAfter: string | null;
    let text: string;
    try {
      // the body is read under the same signal, so a server that stalls mid-body times out too
      const res = await fetch(url, { method, headers, body: payload, signal });
      status = res.status;
      statusText = res.statusText;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (e) {
      this.checkStopped(method, url.slice(this.base.length));
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
}

export function isRecord(v: unknown): v is Record<string, unknown> {
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
