// The HTTP plumbing of the server: reading a bounded JSON body, writing JSON and error
// responses, and the bearer-key check. Nothing here knows about models.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { ApiError } from './api-error.js';

/** Read the body (at most `limit` bytes: 413 past it) and parse it as a JSON object. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ApiError(
      400,
      `The request body is not valid JSON: ${(e as Error).message}`,
      'invalid_request_error',
      null,
      'invalid_json',
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ApiError(
      400,
      'The request body must be a JSON object.',
      'invalid_request_error',
      null,
      'invalid_json',
    );
  return value;
}

function tooLarge(limit: number): ApiError {
  return new ApiError(
    413,
    `The request body is larger than the server's limit of ${limit} bytes.`,
    'invalid_request_error',
    null,
    'request_too_large',
  );
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, e: ApiError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, e.status, e.body(), e.headers);
}

/** 401 unless the request carries `Authorization: Bearer <key>` (compared in constant time). */
export function checkBearer(req: IncomingMessage, key: string | undefined): void {
  if (key === undefined) return;
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(header);
  const given = Buffer.from(m ? m[1].trim() : '');
  const want = Buffer.from(key);
  if (given.length === want.length && timingSafeEqual(given, want)) return;
  throw new ApiError(
    401,
    m ? 'Incorrect API key provided.' : 'Missing API key: send Authorization: Bearer <key>.',
    'authentication_error',
    null,
    'invalid_api_key',
  );
}
