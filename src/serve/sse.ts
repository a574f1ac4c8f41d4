// Server-sent events as OpenAI streams them: `data: <json>\n\n` per chunk, then `data: [DONE]`.
import type { ServerResponse } from 'node:http';

export class SseWriter {
  private started = false;

  constructor(private readonly res: ServerResponse) {}

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
  }

  send(chunk: unknown): void {
    this.start();
    this.res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  }

  /** An error after the stream began: sent as an event carrying {error}, as vLLM does. */
  error(body: unknown): void {
    this.send(body);
  }

  done(): void {
    this.start();
    this.res.end('data: [DONE]\n\n');
  }

  /** Whether the client went away (writes then go nowhere). */
  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }
}
