// A local stand-in for an OpenAI chat-completions server (shaped like vLLM's answers), with the
// misbehaviours real servers show: ignoring or rejecting `n`, 429s, 500s, 401s, slow answers and
// dropped connections, hung requests. It listens on 127.0.0.1 only and records every request it receives.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatBody {
  model: string;
  messages: { role: string; content: string }[];
  temperature?: number;
  max_tokens?: number;
  n?: number;
  seed?: number;
  [key: string]: unknown;
}

export interface ReceivedRequest {
  path: string;
  authorization: string | undefined;
  body: ChatBody;
}

/** One scripted answer, used instead of the normal one for the next request. */
export type Scripted =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { delayMs: number }
  /** Read the request and never answer (until the server closes): a hung server. */
  | { stall: true }
  | { dropConnection: true };

export interface FakeServerOptions {
  /** honour: n choices; ignore: always one (Ollama, TGI); reject: 400 for n > 1 (llama.cpp). */
  n?: 'honour' | 'ignore' | 'reject';
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** The text of choice `index` for a prompt (default: "Score: 3"). */
  answer?: (prompt: string, index: number, body: ChatBody) => string;
  /** Answers for the first requests, in order; afterwards the server behaves normally. */
  script?: Scripted[];
  /** Hold the first `count` requests until that many are in flight at once (or maxWaitMs). */
  gatherFirst?: { count: number; maxWaitMs: number };
}

export interface FakeServer {
  baseUrl: string;
  requests: ReceivedRequest[];
  /** The most requests that were ever being answered at the same time. */
  maxInFlight: () => number;
  close: () => Promise<void>;
}

export async function startFakeServer(opts: FakeServerOptions = {}): Promise<FakeServer> {
  const requests: ReceivedRequest[] = [];
  const script = [...(opts.script ?? [])];
  const timers = new Set<NodeJS.Timeout>();
  let inFlight = 0;
  let maxInFlight = 0;
  let gathered = 0;
  const waiters: (() => void)[] = [];
  const stalled: (() => void)[] = [];

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const send = (res: ServerResponse, status: number, body: unknown, headers = {}) => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: ChatBody;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatBody;
    } catch {
      return send(res, 400, { error: { message: 'body is not JSON' } });
    }
    requests.push({ path: req.url ?? '', authorization: req.headers.authorization, body });

    if (opts.gatherFirst && gathered < opts.gatherFirst.count) {
      gathered++;
      if (gathered === opts.gatherFirst.count) waiters.splice(0).forEach((w) => w());
      else
        await Promise.race([
          new Promise<void>((r) => waiters.push(r)),
          wait(opts.gatherFirst.maxWaitMs),
        ]);
    }

    const step = script.shift();
    if (step && 'dropConnection' in step) {
      req.socket.destroy();
      return;
    }
    if (step && 'stall' in step) {
      await new Promise<void>((r) => stalled.push(r));
      return;
    }
    if (step && 'delayMs' in step) await wait(step.delayMs);
    if (step && 'status' in step) return send(res, step.status, step.body ?? {}, step.headers);

    if (req.method !== 'POST' || req.url !== '/v1/chat/completions')
      return send(res, 404, { error: { message: `no route ${req.method} ${req.url}` } });
    if (opts.apiKey !== undefined && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      // echoes what it was given, as OpenAI's API does, so clients must mask it
      const given = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      return send(res, 401, {
        error: {
          message: `Incorrect API key provided: ${given}`,
          type: 'invalid_request_error',
          code: 'invalid_api_key',
        },
      });
    }
    const n = body.n ?? 1;
    if (n > 1 && opts.n === 'reject')
      return send(res, 400, {
        error: {
          code: 400,
          message: 'Only one completion choice is allowed',
          type: 'invalid_request_error',
        },
      });
    const count = opts.n === 'honour' || opts.n === undefined ? n : 1;
    const prompt = body.messages.at(-1)?.content ?? '';
    const answer = opts.answer ?? (() => 'Score: 3');
    send(res, 200, {
      id: `chatcmpl-${requests.length}`,
      object: 'chat.completion',
      created: 0,
      model: body.model,
      choices: Array.from({ length: count }, (_, i) => ({
        index: i,
        message: { role: 'assistant', content: answer(prompt, i, body) },
        finish_reason: 'stop',
      })),
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    });
  };

  const server = createServer((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    handle(req, res).catch((e: unknown) => send(res, 500, { error: { message: String(e) } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    maxInFlight: () => maxInFlight,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      waiters.splice(0).forEach((w) => w());
      stalled.splice(0).forEach((w) => w());
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
