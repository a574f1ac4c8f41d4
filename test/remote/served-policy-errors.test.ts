// Issue 14, bad input for the policy backend: an unreachable server, a wrong model name, a server
// without prompt log-probs or token ids, one without the runtime LoRA API, and pipeline files
// that ask a served policy for what it cannot do. Each is a clear error before work starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Engine } from '../../src/engine/index.js';
import { ServedPolicy, type ServerSettings } from '../../src/remote/served-policy.js';
import { startServer } from '../../src/serve/server.js';
import { runCli, runCliAsync } from '../helpers/cli.js';
import { fromRoot, repoRoot } from '../helpers/paths.js';
import { servedFixture } from '../helpers/served-fixture.js';

const env = { RLAIF_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rlaif-cache-')) };

const settings = (baseUrl: string, over: Partial<ServerSettings> = {}): ServerSettings => ({
  baseUrl,
  model: 'tiny',
  adapters: 'vllm',
  concurrency: 2,
  timeoutS: 10,
  maxTries: 1,
  ...over,
});

/** A server that answers every request with `answer(path, body)` as JSON. */
async function fakeServer(answer: (path: string, body: unknown) => [number, unknown]) {
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const [status, body] = answer(req.url ?? '/', text ? JSON.parse(text) : undefined);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1`, close: () => server.close() };
}

const MODELS: [number, unknown] = [
  200,
  { object: 'list', data: [{ id: 'tiny', object: 'model' }] },
];

test('an unreachable server: the error says so and asks whether it runs', async () => {
  await assert.rejects(
    ServedPolicy.open(settings('http://127.0.0.1:9/v1'), { path: 'builtin:tiny' }),
    (e: Error & { code?: string; hint?: string }) =>
      e.code === 'E_POLICY_SERVER_UNREACHABLE' &&
      /policy server: GET http:\/\/127\.0\.0\.1:9\/v1\/models failed/.test(e.message) &&
      /running and reachable/.test(e.hint ?? ''),
  );
});

test('a model name the server does not serve: the error lists the ones it does', async () => {
  const fake = await fakeServer(() => MODELS);
  try {
    await assert.rejects(
      ServedPolicy.open(settings(fake.url, { model: 'qwen' }), { path: 'builtin:tiny' }),
      (e: Error & { code?: string }) =>
        e.code === 'E_POLICY_SERVER_MODEL' &&
        e.message.includes("does not serve 'qwen'") &&
        e.message.includes("it serves 'tiny'"),
    );
  } finally {
    fake.close();
  }
});

test('a server without echoed prompt log-probs (llama.cpp-like): the missing capability is named', async () => {
  const fake = await fakeServer((path) =>
    path.endsWith('/models')
      ? MODELS
      : [200, { choices: [{ index: 0, text: 'hi', logprobs: null, finish_reason: 'length' }] }],
  );
  try {
    await assert.rejects(
      ServedPolicy.open(settings(fake.url), { path: 'builtin:tiny' }),
      (e: Error & { code?: string; hint?: string }) =>
        e.code === 'E_POLICY_SERVER_CAPABILITY' &&
        /does not give log-probs/.test(e.message) &&
        /echo \+ logprobs/.test(e.hint ?? ''),
    );
  } finally {
    fake.close();
  }
});

test('a server that names tokens by text, not id: the missing capability is named', async () => {
  // echo with log-probs, but each token by its text, as servers without the vLLM option answer
  const fake = await fakeServer((path, body) => {
    if (path.endsWith('/models')) return MODELS;
    const ids = (body as { prompt: number[] }).prompt;
    const tokens = ids.map((id) => `t${id}`);
    const choice = {
      index: 0,
      text: tokens.join(''),
      logprobs: { tokens, token_logprobs: ids.map((_, i) => (i ? -1 : null)) },
      finish_reason: 'length',
    };
    return [200, { choices: [choice] }];
  });
  try {
    await assert.rejects(
      ServedPolicy.open(settings(fake.url), { path: 'builtin:tiny' }),
      (e: Error & { code?: string }) =>
        e.code === 'E_POLICY_SERVER_CAPABILITY' && /return_tokens_as_token_ids/.test(e.message),
    );
  } finally {
    fake.close();
  }
});

test('a LoRA loop against a server without the runtime LoRA API stops before any work', async () => {
  const server = await startServer(
    { engine: await Engine.open('builtin:tiny', { threads: 1 }), modelName: 'tiny' },
    { host: '127.0.0.1', port: 0 },
  );
  try {
    const root = mkdtempSync(join(tmpdir(), 'rlaif-served-run-'));
    const file = servedFixture(`${server.url}/v1`);
    const r = await runCliAsync(
      ['run', file, '--root', root, '--allow-path', repoRoot],
      env,
      120_000,
    );
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /no runtime LoRA API/);
    assert.match(r.stderr, /VLLM_ALLOW_RUNTIME_LORA_UPDATING=True/);
    const [id] = readdirSync(root);
    const db = new Database(join(root, id, 'run.sqlite'), { readonly: true });
    try {
      const n = db.prepare('SELECT count(*) AS n FROM candidates').get() as { n: number };
      assert.equal(n.n, 0, 'nothing was generated');
    } finally {
      db.close();
    }
  } finally {
    await server.drain();
  }
});

test('pipeline files: a served policy needs its server, and its settings need the backend', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-served-validate-'));
  const check = (model: string, stage = '{ kind: train, loss: sigmoid }') => {
    const file = join(dir, `p${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(
      file,
      [
        'name: v',
        `model: ${model}`,
        `prompts: { file: ${fromRoot('prompts/seed.jsonl')} }`,
        'judges: { r: { kind: rule, rules: [{ kind: length, max: 10 }] } }',
        'stages:',
        '  - { kind: generate, candidates: 2 }',
        `  - { kind: judge, judge: r, rubric: ${fromRoot('rubrics/additive-5pt.hbs')} }`,
        '  - { kind: pair }',
        `  - ${stage}`,
      ].join('\n'),
    );
    return runCli(['validate', file, '--allow-path', repoRoot], { env });
  };
  let r = check('{ path: builtin:tiny, backend: openai }');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /backend: openai needs base_url/);
  assert.match(r.stderr, /backend: openai needs model/);
  r = check("{ path: builtin:tiny, base_url: 'http://127.0.0.1:8000/v1' }");
  assert.match(r.stderr, /model\.base_url is a setting of a served policy/);
  const served =
    "{ path: builtin:tiny, backend: openai, base_url: 'http://127.0.0.1:8000/v1', model: m";
  r = check(`${served}, adapters: none }`, '{ kind: train, loss: sigmoid, full: true }');
  assert.equal(r.status, 0, r.stderr);
  r = check(`${served} }`, '{ kind: rl, judges: [r] }');
  assert.match(r.stderr, /an rl stage samples from the policy it trains in process/);
  r = check(`${served}, adapters: none }`);
  assert.match(r.stderr, /needs a server that loads adapters/);
  r = check(`${served}, api_key_env: VLLM_API_KEY }`);
  assert.equal(r.status, 0, r.stderr);
  r = check(
    "{ path: builtin:tiny, backend: openai, base_url: 'http://10.0.0.5:8000/v1', model: m, api_key_env: VLLM_API_KEY }",
  );
  assert.match(r.stderr, /unencrypted over http:\/\/ to 10\.0\.0\.5:8000/);
});
