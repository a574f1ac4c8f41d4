// Bad requests over raw HTTP (no client-side checks): OpenAI-style error bodies and statuses.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunningServer } from '../../src/serve/server.js';
import { MODEL, raw, tinyServer } from './helpers.js';

let server: RunningServer;
const KEY = 'test-key-123';
before(async () => {
  server = await tinyServer({ apiKey: KEY, maxBodyBytes: 4096, maxQueue: 1, maxBatchSize: 1 });
});
after(() => server.drain());

const auth = { authorization: `Bearer ${KEY}` };
const chat = (body: string | object, headers = auth) =>
  raw(server.url, 'POST', '/v1/chat/completions', body, headers);
const msgs = [{ role: 'user', content: 'Hi' }];

function assertError(
  r: { status: number; json: () => { error: Record<string, unknown> } },
  status: number,
  param: string | null,
  type = 'invalid_request_error',
) {
  assert.equal(r.status, status);
  const e = r.json().error;
  assert.deepEqual(Object.keys(e).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(e.type, type);
  assert.equal(e.param, param);
  assert.equal(typeof e.message, 'string');
}

test('health needs no key; /v1 needs the bearer key (401 otherwise)', async () => {
  assert.equal((await raw(server.url, 'GET', '/health')).status, 200);
  assertError(await raw(server.url, 'GET', '/v1/models'), 401, null, 'authentication_error');
  const wrong = await raw(server.url, 'GET', '/v1/models', undefined, {
    authorization: 'Bearer nope',
  });
  assertError(wrong, 401, null, 'authentication_error');
  assert.ok(!wrong.text.includes(KEY));
  assert.equal((await raw(server.url, 'GET', '/v1/models', undefined, auth)).status, 200);
});

test('bad JSON and a non-object body are 400', async () => {
  assertError(await chat('{"model": '), 400, null);
  assertError(await chat('[1, 2]'), 400, null);
});

test('an unknown model is 404 naming the served ones', async () => {
  const r = await chat({ model: 'gpt-9', messages: msgs });
  assertError(r, 404, 'model', 'not_found_error');
  assert.match(r.json().error.message, /builtin:tiny/);
});

test('out-of-range parameters are 400 naming the parameter', async () => {
  const cases: [object, string][] = [
    [{ n: 0 }, 'n'],
    [{ n: 1.5 }, 'n'],
    [{ max_tokens: 10_000_000 }, 'max_tokens'],
    [{ max_tokens: 0 }, 'max_tokens'],
    [{ temperature: -1 }, 'temperature'],
    [{ top_p: 0 }, 'top_p'],
    [{ stop: 3 }, 'stop'],
    [{ seed: 'x' }, 'seed'],
    [{ top_logprobs: 3 }, 'top_logprobs'],
    [{ logprobs: true, top_logprobs: 21 }, 'top_logprobs'],
    [{ frequency_penalty: 0.5 }, 'frequency_penalty'],
    [{ tools: [] }, 'tools'],
    [{ messages: [] }, 'messages'],
    [{ messages: [{ role: 'user', content: 5 }] }, 'messages[0].content'],
  ];
  for (const [over, param] of cases)
    assertError(await chat({ model: MODEL, messages: msgs, ...over }), 400, param);
  const noModel = await chat({ messages: msgs });
  assertError(noModel, 400, 'model');
  const prompt = await raw(
    server.url,
    'POST',
    '/v1/completions',
    { model: MODEL, prompt: 5 },
    auth,
  );
  assertError(prompt, 400, 'prompt');
});

test('a prompt plus max_tokens past the context is 400 context_length_exceeded', async () => {
  const r = await chat({ model: MODEL, messages: msgs, max_tokens: 2048 });
  assertError(r, 400, 'max_tokens');
  assert.equal(r.json().error.code, 'context_length_exceeded');
});

test('a body over the limit is 413', async () => {
  const r = await chat({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(5000) }] });
  assertError(r, 413, null);
});

test('wrong method is 405 with Allow; an unknown path is 404', async () => {
  const r = await raw(server.url, 'GET', '/v1/chat/completions', undefined, auth);
  assertError(r, 405, null);
  assert.equal(r.headers.allow, 'POST');
  assertError(
    await raw(server.url, 'GET', '/v2/nothing', undefined, auth),
    404,
    null,
    'not_found_error',
  );
});

test('a full queue is 429 with Retry-After; the queued requests still finish', async () => {
  const slow = { model: MODEL, messages: msgs, max_tokens: 200, ignore_eos: true };
  const batcher = server.registry.base.batcher;
  const until = async (ok: () => boolean) => {
    while (!ok()) await new Promise((r) => setTimeout(r, 5));
  };
  const running = chat(slow);
  await until(() => batcher.busy && batcher.waiting === 0); // taken: running
  const waiting = chat(slow);
  await until(() => batcher.waiting === 1);
  const refused = await chat(slow);
  assertError(refused, 429, null, 'rate_limit_error');
  assert.equal(refused.headers['retry-after'], '1');
  assert.equal((await running).status, 200);
  assert.equal((await waiting).status, 200);
});
