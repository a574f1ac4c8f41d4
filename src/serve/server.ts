// `pipeline serve`'s HTTP server: OpenAI's /v1/chat/completions, /v1/completions and /v1/models,
// /health, and vLLM's runtime LoRA API, over the in-process engine. Routing and the request
// lifecycle live here; validation, batching, response shapes and SSE have their own files.
import { randomBytes, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GenerateResult } from '../engine/index.js';
import { ApiError } from './api-error.js';
import type { Batcher, GenerateJob } from './batcher.js';
import { checkBearer, readJsonBody, sendError, sendJson } from './http-io.js';
import { ModelRegistry, type ServeEngine } from './models.js';
import { parseRequest, type Endpoint, type ServeRequest } from './requests.js';
import {
  chatChunk,
  chatCompletionBody,
  chatLogprobs,
  completionBody,
  completionChunk,
  completionLogprobs,
  usageChunk,
  withTokenIds,
  promptWithTokenIds,
  usageOf,
  vllmPromptLogprobs,
  type ResponseHead,
} from './shapes.js';
import { SseWriter } from './sse.js';

export interface ServeOptions {
  engine: ServeEngine;
  /** The base model's name in requests and /v1/models. */
  modelName: string;
  /** Opens the base model with a PEFT adapter; absent: load_lora_adapter is refused. */
  openAdapter?: (path: string) => Promise<ServeEngine>;
  /** Bearer key every /v1 request must carry; absent: no key. */
  apiKey?: string;
  /** Prompts per engine call at most (requests with the same sampling options share a call). */
  maxBatchSize?: number;
  /** Requests waiting per model at most; more get 429. */
  maxQueue?: number;
  /** How long an engine call waits for more requests to join it. */
  batchWaitMs?: number;
  /**
   * Continuous batching (default): requests join the running decode loop at its next step.
   * Off: requests waiting together share one engine call, and later ones wait for it to end.
   */
  continuousBatching?: boolean;
  maxBodyBytes?: number;
  /** max_tokens of a chat request that gives none. */
  defaultMaxTokens?: number;
  /** Choices (n x prompts) per request at most. */
  maxChoices?: number;
  /** One line per request (method, path, status, ms); never headers or bodies. */
  log?: (line: string) => void;
}

export const SERVE_DEFAULTS = {
  maxBatchSize: 8,
  maxQueue: 64,
  batchWaitMs: 2,
  continuousBatching: true,
  maxBodyBytes: 1 << 20,
  defaultMaxTokens: 256,
  maxChoices: 64,
};

export interface RunningServer {
  server: Server;
  registry: ModelRegistry;
  /** http://host:port (the port the OS chose when asked for 0). */
  url: string;
  port: number;
  /** Stop accepting, finish the requests in flight, close the engines. */
  drain(): Promise<void>;
}

const ROUTES: Record<string, string> = {
  '/health': 'GET',
  '/v1/models': 'GET',
  '/v1/chat/completions': 'POST',
  '/v1/completions': 'POST',
  '/v1/load_lora_adapter': 'POST',
  '/v1/unload_lora_adapter': 'POST',
};

/** Map an engine error to an OpenAI error: the request's fault (400) or the server's (500). */
function engineError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : String(e);
  if (code === 'E_GENERATE_TOO_LONG')
    return new ApiError(
      400,
      message,
      'invalid_request_error',
      'max_tokens',
      'context_length_exceeded',
    );
  if (
    typeof code === 'string' &&
    /^E_(GENERATE_|SAMPLING_|TOKENIZER|CHAT_TEMPLATE|RNG_)/.test(code)
  )
    return new ApiError(400, message, 'invalid_request_error', null, code);
  return new ApiError(
    500,
    'The engine failed on this request.',
    'server_error',
    null,
    'engine_error',
  );
}

export function startServer(
  o: ServeOptions,
  listen: { host: string; port: number },
): Promise<RunningServer> {
  const opts = { ...SERVE_DEFAULTS, ...o };
  const registry = new ModelRegistry(o.modelName, o.engine, {
    maxBatchSize: opts.maxBatchSize,
    maxQueue: opts.maxQueue,
    batchWaitMs: opts.batchWaitMs,
    continuous: opts.continuousBatching,
    openAdapter: o.openAdapter,
  });
  const inFlight = new Set<Promise<void>>();
  let draining = false;

  async function generate(endpoint: Endpoint, req: IncomingMessage, res: ServerResponse) {
    const body = (await readJsonBody(req, opts.maxBodyBytes)) as Record<string, unknown>;
    const name = typeof body.model === 'string' ? body.model : '';
    const model = name ? registry.get(name) : undefined;
    const r = parseRequest(endpoint, body, {
      maxTokens: model?.engine.info.maxPositions ?? Number.MAX_SAFE_INTEGER,
      defaultChatMaxTokens: opts.defaultMaxTokens,
      maxChoices: opts.maxChoices,
    });
    const served = model ?? registry.get(r.model);
    if (r.stream && r.promptLogprobs !== null)
      throw new ApiError(
        400,
        "'prompt_logprobs' with 'stream' is not supported by this server.",
        'invalid_request_error',
        'prompt_logprobs',
        'unsupported',
      );
    const head: ResponseHead = {
      id: `${endpoint === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`,
      created: Math.floor(Date.now() / 1000),
      model: r.model,
    };
    const job = { prompts: r.prompts, options: r.options, seed: r.seed ?? randomInt(2 ** 47) };
    if (r.stream) return stream(r, head, job, served.batcher, res);
    // The prompts' own tokens and log-probs, for echo and prompt_logprobs (one scoring pass).
    const scoredRaw =
      r.echo || r.promptLogprobs !== null
        ? await served.engine.promptLogprobs(r.prompts)
        : undefined;
    const scored = r.tokensAsIds ? scoredRaw?.map(promptWithTokenIds) : scoredRaw;
    const sampled =
      r.options.maxNewTokens === 0
        ? scored!.map((p) => ({
            promptTokenIds: p.ids,
            completions: Array.from({ length: r.options.n }, () => ({
              text: '',
              tokenIds: [],
              finishReason: 'length' as const,
              logprobs: [],
              tokens: [],
              topLogprobs: [],
            })),
          }))
        : await served.batcher.submit(job);
    const results = r.tokensAsIds ? sampled.map(withTokenIds) : sampled;
    const promptLogprobs =
      r.promptLogprobs !== null ? scored!.map((p) => vllmPromptLogprobs(p)) : undefined;
    if (endpoint === 'chat') {
      const out = chatCompletionBody(head, results[0], r.logprobs !== null);
      return sendJson(
        res,
        200,
        promptLogprobs ? { ...out, prompt_logprobs: promptLogprobs[0] } : out,
      );
    }
    const out = completionBody(head, results, {
      withLogprobs: r.logprobs !== null,
      echo: r.echo
        ? scored!.map((p, i) => {
            const given = r.prompts[i];
            return {
              text: 'text' in given ? given.text : p.tokens.join(''),
              ...(r.logprobs !== null ? { tokens: p.tokens, logprobs: p.logprobs } : {}),
            };
          })
        : undefined,
    });
    if (promptLogprobs)
      out.choices = out.choices.map((c) => ({
        ...c,
        prompt_logprobs: promptLogprobs[Math.floor(c.index / r.options.n)],
      }));
    sendJson(res, 200, out);
  }

  /** SSE: text chunks as the engine decodes them, then each choice's end (with its logprobs). */
  async function stream(
    r: ServeRequest,
    head: ResponseHead,
    job: GenerateJob,
    batcher: Batcher,
    res: ServerResponse,
  ) {
    const sse = new SseWriter(res);
    const n = r.options.n;
    const chat = r.endpoint === 'chat';
    const begun = new Set<number>();
    const begin = (index: number) => {
      if (!chat || begun.has(index)) return;
      begun.add(index);
      sse.send(chatChunk(head, index, { role: 'assistant', content: '' }));
    };
    let results: GenerateResult[];
    try {
      results = await batcher.submit({
        ...job,
        onText: (p, c, text) => {
          if (sse.closed) return;
          const index = p * n + c;
          begin(index);
          sse.send(
            chat ? chatChunk(head, index, { content: text }) : completionChunk(head, index, text),
          );
        },
      });
    } catch (e) {
      if (!begun.size && !res.headersSent) throw e;
      sse.error(engineError(e).body());
      sse.done();
      return;
    }
    if (sse.closed) return;
    const withLogprobs = r.logprobs !== null;
    if (r.tokensAsIds) results = results.map(withTokenIds);
    results.forEach((result, p) =>
      result.completions.forEach((c, j) => {
        const index = p * n + j;
        begin(index);
        sse.send(
          chat
            ? chatChunk(head, index, {}, c.finishReason, withLogprobs ? chatLogprobs(c) : null)
            : completionChunk(
                head,
                index,
                '',
                c.finishReason,
                withLogprobs ? completionLogprobs(c, 0) : null,
              ),
        );
      }),
    );
    if (r.includeUsage) sse.send(usageChunk(head, r.endpoint, usageOf(results)));
    sse.done();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/\/+$/, '') || '/';
    const method = ROUTES[path];
    if (!method)
      throw new ApiError(
        404,
        `No route ${req.method} ${path}.`,
        'not_found_error',
        null,
        'not_found',
      );
    if (req.method !== method)
      throw new ApiError(
        405,
        `${req.method} ${path} is not allowed; use ${method}.`,
        'invalid_request_error',
        null,
        'method_not_allowed',
        { allow: method },
      );
    if (path === '/health') return sendJson(res, 200, { status: 'ok' });
    if (draining)
      throw new ApiError(
        503,
        'The server is shutting down.',
        'server_error',
        null,
        'shutting_down',
      );
    checkBearer(req, o.apiKey);
    switch (path) {
      case '/v1/models':
        return sendJson(res, 200, {
          object: 'list',
          data: registry.list().map((m) => ({
            id: m.name,
            object: 'model',
            created: m.created,
            owned_by: 'pipeline',
            root: m.loraPath ?? m.engine.info.ref,
            parent: m.loraPath ? registry.base.name : null,
            max_model_len: m.engine.info.maxPositions,
          })),
        });
      case '/v1/chat/completions':
        return generate('chat', req, res);
      case '/v1/completions':
        return generate('completion', req, res);
      case '/v1/load_lora_adapter': {
        const b = (await readJsonBody(req, opts.maxBodyBytes)) as Record<string, unknown>;
        const m = await registry.loadAdapter(b.lora_name, b.lora_path).catch((e: unknown) => {
          if (e instanceof ApiError) throw e;
          throw new ApiError(
            400,
            `Could not load the adapter: ${e instanceof Error ? e.message : String(e)}`,
            'invalid_request_error',
            'lora_path',
            'lora_load_failed',
          );
        });
        return sendJson(res, 200, { status: 'ok', message: `Loaded adapter '${m.name}'.` });
      }
      case '/v1/unload_lora_adapter': {
        const b = (await readJsonBody(req, opts.maxBodyBytes)) as Record<string, unknown>;
        await registry.unloadAdapter(b.lora_name);
        return sendJson(res, 200, { status: 'ok', message: `Unloaded adapter '${b.lora_name}'.` });
      }
    }
  }

  const server = createServer((req, res) => {
    const t0 = performance.now();
    const p = handle(req, res)
      .catch((e: unknown) => {
        const err = engineError(e);
        if (err.status === 500) o.log?.(`error: ${e instanceof Error ? e.message : String(e)}`);
        // Unread body bytes would otherwise be taken for the next request on this connection.
        if (err.status === 413) res.setHeader('connection', 'close');
        sendError(res, err);
      })
      .finally(() => {
        inFlight.delete(p);
        o.log?.(
          `${req.method} ${req.url} ${res.statusCode} ${Math.round(performance.now() - t0)}ms`,
        );
      });
    inFlight.add(p);
  });

  async function drain(): Promise<void> {
    if (draining) return;
    draining = true;
    const closed = new Promise<void>((done) => server.close(() => done()));
    server.closeIdleConnections();
    while (inFlight.size) await Promise.allSettled([...inFlight]);
    server.closeAllConnections();
    await closed;
    await registry.closeAll();
  }

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      const shown = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
      resolve({ server, registry, url: `http://${shown}:${port}`, port, drain });
    });
  });
}
