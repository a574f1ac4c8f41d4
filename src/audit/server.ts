// `pipeline audit`'s local server: the page, the queue as JSON, and label writes. It binds to a
// loopback address only and answers only requests addressed to it by a loopback name (a web page
// elsewhere cannot rebind a DNS name to it and read the run); writes must be JSON (a cross-site
// form cannot send that without the browser asking first, which this server never allows).

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAuditLabel } from '../store/ledger/audit.js';
import type { RunStore } from '../store/run-store.js';
import { refreshHumanMetrics } from './agreement.js';
import { auditPage } from './page.js';
import { auditView, auditViewItem } from './queue-view.js';

export const LOOPBACK_HOSTS = ['127.0.0.1', '::1', 'localhost'] as const;
const MAX_BODY = 64 * 1024;
const MAX_NOTE = 4000;
const MAX_NAME = 100;

export interface AuditServerOptions {
  store: RunStore;
  runId: string;
  /** Shown as the page's default annotator name. */
  annotator: string;
  host: string;
  port: number;
  /** Only this round's items (default all). */
  round?: number;
  /** Called after each stored label (the CLI prints a line). */
  onLabel?: (itemId: string, label: string, annotator: string) => void;
}

export interface AuditServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string, extra = {}): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    ...extra,
  });
  res.end(body);
}

const json = (res: ServerResponse, status: number, body: unknown) =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
    throw new HttpError(415, 'expected a JSON body (content-type: application/json)');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `body over ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  let v: unknown;
  try {
    v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new HttpError(400, 'expected a JSON object');
  return v as Record<string, unknown>;
}

/** The Host header names this server by a loopback name and its port. */
function addressedToUs(req: IncomingMessage, port: number): boolean {
  const host = (req.headers.host ?? '').toLowerCase();
  return LOOPBACK_HOSTS.some((h) => host === `${h.includes(':') ? `[${h}]` : h}:${port}`);
}

export function startAuditServer(o: AuditServerOptions): Promise<AuditServer> {
  const nonce = randomBytes(16).toString('base64');
  const csp =
    `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; ` +
    `connect-src 'self'; img-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`;
  let port = o.port;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!addressedToUs(req, port))
      throw new HttpError(403, 'this server answers only on localhost');
    const url = new URL(req.url ?? '/', `http://localhost:${port}`);
    if (req.method === 'GET' && url.pathname === '/')
      return send(res, 200, 'text/html; charset=utf-8', auditPage(o.runId, nonce), {
        'content-security-policy': csp,
      });
    if (req.method === 'GET' && url.pathname === '/api/items') {
      const items = auditView(o.store, o.round);
      return json(res, 200, { runId: o.runId, annotator: o.annotator, items });
    }
    if (req.method === 'POST' && url.pathname === '/api/label') {
      const b = await readJson(req);
      const item = typeof b.itemId === 'string' ? o.store.getAuditItem(b.itemId) : undefined;
      if (!item || (o.round !== undefined && item.round !== o.round))
        throw new HttpError(404, `no audit item ${JSON.stringify(b.itemId)} in this run`);
      if (!isAuditLabel(b.label))
        throw new HttpError(
          400,
          `label must be one of A, B, tie, skip (got ${JSON.stringify(b.label)})`,
        );
      const annotator = typeof b.annotator === 'string' ? b.annotator.trim() : '';
      if (!annotator || annotator.length > MAX_NAME)
        throw new HttpError(400, `annotator must be a name of 1-${MAX_NAME} characters`);
      const note = b.note === undefined || b.note === null ? '' : b.note;
      if (typeof note !== 'string' || note.length > MAX_NOTE)
        throw new HttpError(400, `note must be text of at most ${MAX_NOTE} characters`);
      o.store.setAuditLabel({ itemId: item.id, annotator, label: b.label, note: note || null });
      refreshHumanMetrics(o.store, item.round);
      o.onLabel?.(item.id, b.label, annotator);
      return json(res, 200, { item: auditViewItem(o.store, o.store.getAuditItem(item.id)!) });
    }
    throw new HttpError(
      url.pathname === '/' || url.pathname.startsWith('/api/') ? 405 : 404,
      `${req.method} ${url.pathname} is not served here`,
    );
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 500;
      const message = e instanceof Error ? e.message : String(e);
      if (!res.headersSent) json(res, status, { error: { message } });
      else res.end();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      port = (server.address() as AddressInfo).port;
      const shown = o.host.includes(':') ? `[${o.host}]` : o.host;
      resolve({
        server,
        url: `http://${shown}:${port}/`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
