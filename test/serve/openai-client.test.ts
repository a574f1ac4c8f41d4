// `pipeline serve` through the official openai npm client, over builtin:tiny (random weights:
// the texts are noise, the shapes and the determinism are what is checked).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import type { RunningServer } from '../../src/serve/server.js';
import { MODEL, randomTinyAdapter, tinyServer } from './helpers.js';

let server: RunningServer;
let client: OpenAI;
before(async () => {
  server = await tinyServer();
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(() => server.drain());

const hi = [{ role: 'user' as const, content: 'Say hi' }];

test('models: the base model is listed', async () => {
  const list = await client.models.list();
  assert.deepEqual(
    list.data.map((m) => m.id),
    [MODEL],
  );
  assert.equal(list.data[0].object, 'model');
});

test('chat: one choice in the OpenAI shape, with usage', async () => {
  const r = await client.chat.completions.create({
    model: MODEL,
    messages: hi,
    max_tokens: 6,
    seed: 1,
  });
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, MODEL);
  assert.equal(typeof r.created, 'number');
  assert.equal(r.choices.length, 1);
  const c = r.choices[0];
  assert.equal(c.index, 0);
  assert.equal(c.message.role, 'assistant');
  assert.equal(typeof c.message.content, 'string');
  assert.ok(['stop', 'length'].includes(c.finish_reason));
  assert.equal(c.logprobs, null);
  assert.ok(r.usage!.prompt_tokens > 0);
  assert.ok(r.usage!.completion_tokens >= 1 && r.usage!.completion_tokens <= 6);
  assert.equal(r.usage!.total_tokens, r.usage!.prompt_tokens + r.usage!.completion_tokens);
});

test('chat: the same seed gives the same text; n > 1 gives n indexed choices', async () => {
  const ask = (seed: number) =>
    client.chat.completions.create({ model: MODEL, messages: hi, max_tokens: 8, seed, n: 3 });
  const [a, b, c] = await Promise.all([ask(7), ask(7), ask(8)]);
  assert.deepEqual(
    a.choices.map((x) => x.index),
    [0, 1, 2],
  );
  assert.deepEqual(
    a.choices.map((x) => x.message.content),
    b.choices.map((x) => x.message.content),
  );
  assert.notDeepEqual(
    a.choices.map((x) => x.message.content),
    c.choices.map((x) => x.message.content),
  );
});

test('chat: temperature 0 is greedy (every choice the same)', async () => {
  const r = await client.chat.completions.create({
    model: MODEL,
    messages: hi,
    max_tokens: 5,
    temperature: 0,
    n: 2,
  });
  assert.equal(r.choices[0].message.content, r.choices[1].message.content);
});

test('chat: logprobs with top_logprobs', async () => {
  const r = await client.chat.completions.create({
    model: MODEL,
    messages: hi,
    max_tokens: 5,
    seed: 3,
    logprobs: true,
    top_logprobs: 3,
  });
  const content = r.choices[0].logprobs!.content!;
  assert.equal(content.length, r.usage!.completion_tokens);
  for (const t of content) {
    assert.equal(typeof t.token, 'string');
    assert.ok(t.logprob <= 0);
    assert.deepEqual(t.bytes, [...Buffer.from(t.token, 'utf8')]);
    assert.equal(t.top_logprobs.length, 3);
    assert.ok(t.top_logprobs[0].logprob >= t.top_logprobs[2].logprob);
    assert.ok(t.logprob <= t.top_logprobs[0].logprob + 1e-6);
  }
});

test('completions: raw prompt text, a prompt list (prompt-major choices), logprobs k', async () => {
  const r = await client.completions.create({
    model: MODEL,
    prompt: ['Once upon', 'The sky'],
    n: 2,
    max_tokens: 4,
    seed: 5,
    logprobs: 2,
  });
  assert.match(r.id, /^cmpl-/);
  assert.equal(r.object, 'text_completion');
  assert.deepEqual(
    r.choices.map((c) => c.index),
    [0, 1, 2, 3],
  );
  for (const c of r.choices) {
    const lp = c.logprobs!;
    assert.equal(lp.tokens!.length, lp.token_logprobs!.length);
    assert.equal(lp.tokens!.length, lp.text_offset!.length);
    assert.equal(lp.top_logprobs!.length, lp.tokens!.length);
    assert.equal(lp.text_offset![0], 0);
  }
  // Prompt 1 alone, with the seed it had in the list (seed + 1 * 1_000_003), gives its choices.
  const alone = await client.completions.create({
    model: MODEL,
    prompt: 'The sky',
    n: 2,
    max_tokens: 4,
    seed: 5 + 1_000_003,
  });
  assert.deepEqual(
    alone.choices.map((c) => c.text),
    r.choices.slice(2).map((c) => c.text),
  );
});

test('completions: stop strings cut the text; echo returns the prompt first', async () => {
  const r = await client.completions.create({
    model: MODEL,
    prompt: 'abc',
    max_tokens: 12,
    seed: 2,
    echo: true,
  });
  assert.ok(r.choices[0].text.startsWith('abc'));
  const full = r.choices[0].text.slice(3);
  const stop = full.trim()[0];
  if (stop) {
    const s = await client.completions.create({
      model: MODEL,
      prompt: 'abc',
      max_tokens: 12,
      seed: 2,
      stop: [stop],
    });
    assert.ok(!s.choices[0].text.includes(stop));
    assert.equal(s.choices[0].finish_reason, 'stop');
  }
});

test('streaming chat: chunks add up to the non-streamed text; usage at the end', async () => {
  const args = { model: MODEL, messages: hi, max_tokens: 8, seed: 11, n: 2 };
  const whole = await client.chat.completions.create(args);
  const stream = await client.chat.completions.create({
    ...args,
    stream: true,
    stream_options: { include_usage: true },
  });
  const text = ['', ''];
  const finish: (string | null)[] = [null, null];
  let usage;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text[c.index] += c.delta.content ?? '';
      if (c.finish_reason) finish[c.index] = c.finish_reason;
    }
  }
  assert.deepEqual(
    text,
    whole.choices.map((c) => c.message.content),
  );
  assert.deepEqual(
    finish,
    whole.choices.map((c) => c.finish_reason),
  );
  assert.deepEqual(usage, whole.usage);
});

test('streaming completions: chunks add up to the text', async () => {
  const args = { model: MODEL, prompt: 'Hello', max_tokens: 6, seed: 4 };
  const whole = await client.completions.create(args);
  const stream = await client.completions.create({ ...args, stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
  assert.equal(text, whole.choices[0].text);
});

test('concurrent clients: all answered, each as it would be alone, sharing decode steps', async () => {
  const ask = (i: number) =>
    client.completions.create({ model: MODEL, prompt: `Prompt ${i}`, max_tokens: 6, seed: i });
  const stats = server.registry.base.batcher.stats;
  stats.largestStep = 0;
  const together = await Promise.all([1, 2, 3, 4, 5].map(ask));
  // continuous batching: the requests joined one decode loop
  assert.ok(stats.largestStep > 1, `the most sequences in one step: ${stats.largestStep}`);
  for (const [k, i] of [1, 2, 3, 4, 5].entries())
    assert.equal((await ask(i)).choices[0].text, together[k].choices[0].text);
});

test('errors arrive as the client error classes', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'nope', messages: hi }),
    (e: unknown) => e instanceof OpenAI.NotFoundError && /nope/.test(e.message),
  );
  await assert.rejects(
    client.chat.completions.create({ model: MODEL, messages: hi, n: 0 }),
    (e: unknown) =>
      e instanceof OpenAI.BadRequestError && (e.error as { param?: string }).param === 'n',
  );
});

test('LoRA: load an adapter, sample from it by name, unload it', async () => {
  const path = randomTinyAdapter();
  const post = (route: string, body: object) =>
    client.post(route, { body }) as Promise<{ status: string }>;
  assert.equal(
    (await post('/load_lora_adapter', { lora_name: 'tuned', lora_path: path })).status,
    'ok',
  );
  const ids = (await client.models.list()).data.map((m) => m.id);
  assert.deepEqual(ids, [MODEL, 'tuned']);
  const ask = (model: string) =>
    client.completions.create({ model, prompt: 'Hi', max_tokens: 6, temperature: 0 });
  const [base, tuned] = await Promise.all([ask(MODEL), ask('tuned')]);
  assert.equal(tuned.model, 'tuned');
  assert.notEqual(tuned.choices[0].text, base.choices[0].text);
  await assert.rejects(
    post('/load_lora_adapter', { lora_name: 'tuned', lora_path: path }),
    OpenAI.BadRequestError,
  );
  await assert.rejects(
    post('/load_lora_adapter', { lora_name: 'missing', lora_path: `${path}-missing` }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /adapter/i.test(e.message),
  );
  await post('/unload_lora_adapter', { lora_name: 'tuned' });
  await assert.rejects(ask('tuned'), OpenAI.NotFoundError);
  await assert.rejects(post('/unload_lora_adapter', { lora_name: 'tuned' }), OpenAI.NotFoundError);
});

test('completions: echo + logprobs with max_tokens 0 scores the prompt; prompt_logprobs (vLLM)', async () => {
  const r = await client.completions.create({
    model: MODEL,
    prompt: 'The sky is blue',
    max_tokens: 0,
    echo: true,
    logprobs: 0,
  });
  const c = r.choices[0];
  assert.equal(c.text, 'The sky is blue');
  assert.equal(r.usage!.completion_tokens, 0);
  const lp = c.logprobs!;
  assert.equal(lp.tokens!.length, r.usage!.prompt_tokens);
  assert.equal(lp.token_logprobs![0], null);
  assert.ok(lp.token_logprobs!.slice(1).every((x) => typeof x === 'number' && x < 0));
  // The same text scored through vLLM's prompt_logprobs gives the same numbers.
  const v = (await client.completions.create({
    model: MODEL,
    prompt: 'The sky is blue',
    max_tokens: 2,
    prompt_logprobs: 0,
  } as Parameters<typeof client.completions.create>[0])) as unknown as {
    choices: { prompt_logprobs: (Record<string, { logprob: number }> | null)[] }[];
  };
  const pl = v.choices[0].prompt_logprobs;
  assert.equal(pl[0], null);
  assert.deepEqual(
    pl.slice(1).map((d) => Object.values(d!)[0].logprob),
    lp.token_logprobs!.slice(1),
  );
});
