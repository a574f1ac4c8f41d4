// The `openai` judge kind against a real local HTTP server: sampling K answers whatever the
// server does with `n`, retries, clear errors (never showing the key), stored judgements, and a
// whole `pipeline run` whose judge and anchor are the server.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPipelineError, type PipelineError } from '../../src/core/errors.js';
import {
  createOpenAIClient,
  openaiJudgeByGeneration,
  openaiJudgePairwise,
  type OpenAIJudgeSpec,
} from '../../src/judges/openai-judge.js';
import { readPipelineFile } from '../../src/spec/read-file.js';
import { PipelineValidationError, validatePipeline } from '../../src/spec/validate/index.js';
import { loadRubric } from '../../src/prompts/rubric.js';
import { openStore } from '../../src/store/run-store.js';
import { runCliAsync } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';
import { startFakeServer, type FakeServer, type FakeServerOptions } from './fake-openai-server.js';

const KEY = 'sk-test-0123456789abcdef';
const sampling = { temperature: 0.7, max_new_tokens: 64 };
const additive = loadRubric(fromRoot('rubrics/additive-5pt.hbs'));
const pairwise = loadRubric(fromRoot('rubrics/pairwise-principle.hbs'));
const vars = { prompt: 'What is 2 + 2?', response: 'It is 4.' };

const servers: FakeServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function server(opts: FakeServerOptions = {}): Promise<FakeServer> {
  const s = await startFakeServer(opts);
  servers.push(s);
  return s;
}

function spec(s: { baseUrl: string }, more: Partial<OpenAIJudgeSpec> = {}): OpenAIJudgeSpec {
  return {
    kind: 'openai',
    base_url: s.baseUrl,
    model: 'judge-model',
    concurrency: 2,
    timeout_s: 10,
    allow_insecure_http: false,
    ...more,
  };
}

const client = (s: { baseUrl: string }, more: Partial<OpenAIJudgeSpec> = {}) =>
  createOpenAIClient('anchor', spec(s, more), { backoffMs: 1, env: {} });

async function rejection(p: Promise<unknown>): Promise<PipelineError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isPipelineError(e), `expected a PipelineError, got ${String(e)}`);
    return e;
  }
  return assert.fail('expected the call to fail');
}

/** Everything a user could see of an error, for "the key is never shown" checks. */
const visible = (e: PipelineError) =>
  [e.message, e.hint ?? '', e.stack ?? '', JSON.stringify(e)].join('\n');

describe('sampling K judgements', () => {
  test('a server that honours n answers K samples in one request', async () => {
    const s = await server({ n: 'honour', answer: (_p, i) => `Fine.\nScore: ${i + 1}` });
    const r = await openaiJudgeByGeneration(client(s), additive, vars, 3, sampling, 42);
    assert.deepEqual(
      r.samples.map((x) => x.score),
      [1, 2, 3],
    );
    assert.equal(s.requests.length, 1);
    const body = s.requests[0].body;
    assert.equal(s.requests[0].path, '/v1/chat/completions');
    assert.deepEqual(body.messages, [{ role: 'user', content: r.rendered }]);
    assert.equal(body.model, 'judge-model');
    assert.equal(body.n, 3);
    assert.equal(body.temperature, 0.7);
    assert.equal(body.max_tokens, 64);
    assert.equal(body.seed, 42);
    assert.equal(s.requests[0].authorization, undefined, 'no key configured, none sent');
    assert.equal(r.model, 'judge-model');
    assert.equal(r.samples[0].finishReason, 'stop');
  });

  test('a server that ignores n is asked again, with fresh seeds, until K samples are in', async () => {
    const s = await server({ n: 'ignore', answer: (_p, _i, b) => `seed ${b.seed}\nScore: 2` });
    const r = await openaiJudgeByGeneration(client(s), additive, vars, 3, sampling, 7);
    assert.equal(r.samples.length, 3);
    assert.deepEqual(
      s.requests.map((q) => [q.body.n, q.body.seed]),
      [
        [3, 7],
        [2, 8],
        [undefined, 9],
      ],
    );
    assert.deepEqual(
      r.samples.map((x) => x.raw),
      ['seed 7\nScore: 2', 'seed 8\nScore: 2', 'seed 9\nScore: 2'],
    );
  });

  test('a server that rejects n > 1 (llama.cpp) gets one request per sample', async () => {
    const s = await server({ n: 'reject' });
    const c = client(s);
    const r = await openaiJudgeByGeneration(c, additive, vars, 2, sampling, 1);
    assert.deepEqual(
      r.samples.map((x) => x.score),
      [3, 3],
    );
    // the rejected n=2, then single-choice requests; the client remembers not to send n again
    assert.deepEqual(
      s.requests.map((q) => q.body.n),
      [2, undefined, undefined],
    );
    await openaiJudgeByGeneration(c, additive, vars, 2, sampling, 1);
    assert.deepEqual(
      s.requests.slice(3).map((q) => q.body.n),
      [undefined, undefined],
    );
  });

  test('unparseable answers keep their raw text and the reason; parseable ones their score', async () => {
    const s = await server({
      answer: (_p, i) => (i === 0 ? 'Looks good to me!' : i === 1 ? 'Score: 9' : 'Ok.\nScore: 4'),
    });
    const r = await openaiJudgeByGeneration(client(s), additive, vars, 3, sampling, 3);
    assert.deepEqual(r.samples[0], {
      score: null,
      raw: 'Looks good to me!',
      finishReason: 'stop',
      parseError: 'no "Score: <n>" line in the answer',
    });
    assert.equal(r.samples[1].score, null);
    assert.match(r.samples[1].parseError!, /outside the scale \[0, 5\]/);
    assert.equal(r.samples[1].raw, 'Score: 9');
    assert.deepEqual(r.samples[2], { score: 4, raw: 'Ok.\nScore: 4', finishReason: 'stop' });
  });

  test('pairwise: the verdict is parsed from the server answer', async () => {
    const s = await server({ answer: () => 'B follows the principle better.\nVerdict: (B)' });
    const r = await openaiJudgePairwise(
      client(s),
      pairwise,
      {
        prompt: 'Say hi',
        response_a: 'No.',
        response_b: 'Hi!',
        principle: { id: 'p1', title: 'Helpful', text: 'Be helpful.' },
      },
      sampling,
      5,
    );
    assert.equal(r.verdict, 'B');
    assert.equal(r.raw, 'B follows the principle better.\nVerdict: (B)');
    assert.equal(r.parseError, undefined);
    assert.match(s.requests[0].body.messages[0].content, /Be helpful\./);
    assert.equal(s.requests[0].body.n, undefined, 'one sample: n is not sent');
  });
});

describe('retries and errors', () => {
  test('429 is retried (honouring Retry-After) and then succeeds', async () => {
    const s = await server({
      script: [
        {
          status: 429,
          body: { error: { message: 'rate limited' } },
          headers: { 'retry-after': '0' },
        },
      ],
    });
    const r = await openaiJudgeByGeneration(client(s), additive, vars, 1, sampling, 1);
    assert.equal(r.samples[0].score, 3);
    assert.equal(s.requests.length, 2);
  });

  test('5xx and dropped connections are retried up to three tries', async () => {
    const s = await server({
      script: [{ status: 503, body: { error: 'loading model' } }, { dropConnection: true }],
    });
    const r = await openaiJudgeByGeneration(client(s), additive, vars, 1, sampling, 1);
    assert.equal(r.samples[0].score, 3);
    assert.equal(s.requests.length, 3);
  });

  test('a server that keeps failing gives an error with status, its message and the URL', async () => {
    const s = await server({
      script: Array.from({ length: 5 }, () => ({
        status: 500,
        body: { object: 'error', message: 'CUDA out of memory' },
      })),
    });
    const e = await rejection(openaiJudgeByGeneration(client(s), additive, vars, 1, sampling, 1));
    assert.equal(e.code, 'E_JUDGE_HTTP');
    assert.equal(s.requests.length, 3, 'bounded: three tries');
    assert.match(
      e.message,
      /^judge 'anchor': POST http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions/,
    );
    assert.match(
      e.message,
      /answered 500 Internal Server Error \(after 3 tries\): CUDA out of memory/,
    );
    assert.ok(e.hint);
  });

  test('other 4xx are not retried: 404 hints at base_url and the model', async () => {
    const s = await server();
    const e = await rejection(
      openaiJudgeByGeneration(
        client({ baseUrl: s.baseUrl.replace(/\/v1$/, '') }),
        additive,
        vars,
        1,
        sampling,
        1,
      ),
    );
    assert.equal(e.code, 'E_JUDGE_HTTP');
    assert.equal(s.requests.length, 1);
    assert.match(e.message, /answered 404 Not Found: no route POST \/chat\/completions/);
    assert.match(e.hint!, /base_url/);
  });

  test('401: a clear error naming the variable, never the key, even when the server echoes it', async () => {
    const s = await server({ apiKey: 'sk-the-right-one' });
    const c = createOpenAIClient('anchor', spec(s, { api_key_env: 'JUDGE_KEY' }), {
      env: { JUDGE_KEY: KEY },
      backoffMs: 1,
    });
    const e = await rejection(openaiJudgeByGeneration(c, additive, vars, 1, sampling, 1));
    assert.equal(s.requests[0].authorization, `Bearer ${KEY}`, 'the key is sent as a bearer token');
    assert.equal(s.requests.length, 1, 'not retried');
    assert.equal(e.code, 'E_JUDGE_AUTH');
    assert.match(e.message, /answered 401 Unauthorized: Incorrect API key provided: \*\*\*/);
    assert.match(e.hint!, /JUDGE_KEY/);
    assert.ok(!visible(e).includes(KEY), 'the key does not appear in the error');
    assert.ok(!JSON.stringify(c).includes(KEY) && !String(Object.values(c)).includes(KEY));
  });

  test('the right key is accepted', async () => {
    const s = await server({ apiKey: KEY });
    const c = createOpenAIClient('anchor', spec(s, { api_key_env: 'JUDGE_KEY' }), {
      env: { JUDGE_KEY: KEY },
    });
    const r = await openaiJudgeByGeneration(c, additive, vars, 1, sampling, 1);
    assert.equal(r.samples[0].score, 3);
  });

  test('a missing or empty key variable is an error naming it, before any request', async () => {
    const s = await server();
    for (const env of [{}, { JUDGE_KEY: '' }]) {
      assert.throws(
        () => createOpenAIClient('anchor', spec(s, { api_key_env: 'JUDGE_KEY' }), { env }),
        (e: unknown) =>
          isPipelineError(e) &&
          e.code === 'E_JUDGE_API_KEY' &&
          /judge 'anchor': the environment variable JUDGE_KEY \(api_key_env\) is (not set|empty)/.test(
            e.message,
          ),
      );
    }
    assert.equal(s.requests.length, 0);
  });

  test('a request that times out is retried, and the retry is answered', async () => {
    const s = await server({ script: [{ stall: true }] });
    const r = await openaiJudgeByGeneration(
      client(s, { timeout_s: 0.2 }),
      additive,
      vars,
      1,
      sampling,
      1,
    );
    assert.equal(r.samples[0].score, 3);
    assert.equal(s.requests.length, 2);
  });

  test('a server that keeps stalling times out after three tries, with a clear error', async () => {
    const s = await server({ script: [{ stall: true }, { stall: true }, { delayMs: 5_000 }] });
    const e = await rejection(
      openaiJudgeByGeneration(client(s, { timeout_s: 0.2 }), additive, vars, 1, sampling, 1),
    );
    assert.equal(e.code, 'E_JUDGE_TIMEOUT');
    assert.match(
      e.message,
      /got no complete answer within 0\.2 s \(timeout_s\) on each of 3 tries/,
    );
    assert.equal(s.requests.length, 3, 'bounded: three tries');
  });

  test('an unreachable server is retried, then reported with the reason', async () => {
    const s = await startFakeServer();
    const url = s.baseUrl;
    await s.close();
    const e = await rejection(
      openaiJudgeByGeneration(client({ baseUrl: url }), additive, vars, 1, sampling, 1),
    );
    assert.equal(e.code, 'E_JUDGE_UNREACHABLE');
    assert.match(e.message, /failed \(after 3 tries\): .*ECONNREFUSED/);
  });

  test('a 200 that is not a chat completion is reported, not parsed as a judgement', async () => {
    const s = await server({ script: [{ status: 200, body: { choices: [] } }] });
    const e = await rejection(openaiJudgeByGeneration(client(s), additive, vars, 1, sampling, 1));
    assert.equal(e.code, 'E_JUDGE_RESPONSE');
    assert.match(e.message, /returned no choices/);
  });

  test('stopping the run cancels a request in flight', async () => {
    const s = await server({ script: [{ delayMs: 5_000 }] });
    const stop = new AbortController();
    const c = createOpenAIClient('anchor', spec(s), { signal: stop.signal, env: {} });
    const p = openaiJudgeByGeneration(c, additive, vars, 1, sampling, 1);
    setTimeout(() => stop.abort(), 50);
    const e = await rejection(p);
    assert.equal(e.code, 'E_INTERRUPTED');
  });
});

describe('pipeline validate', () => {
  test('mode logprobs with an openai judge is reported at the stage mode', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlaif-openai-validate-'));
    const yaml = `name: v
model: { path: builtin:tiny }
prompts: { file: prompts.jsonl }
judges:
  server: { kind: openai, base_url: 'http://127.0.0.1:8000/v1', model: judge }
  local: { kind: model, path: builtin:tiny }
stages:
  - { kind: generate, candidates: 2 }
  - { kind: judge, judges: [local, server], rubric: r.hbs, mode: logprobs }
  - { kind: judge, judge: local, rubric: r.hbs, mode: logprobs }
  - { kind: judge, judge: server, rubric: r.hbs, mode: generate }
`;
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(file, yaml);
    let error: unknown;
    try {
      validatePipeline(readPipelineFile(file), { checkFiles: false });
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof PipelineValidationError, String(error));
    const lines = yaml.split('\n');
    const line = lines.findIndex((l) => l.includes('[local, server]')) + 1;
    const col = lines[line - 1].indexOf('logprobs') + 1;
    assert.equal(
      error.message,
      `${file}:${line}:${col}: mode logprobs cannot be used with judge 'server' (kind openai): ` +
        'a chat-completions server cannot continue a prefilled "Score: " reply ' +
        '(expected mode: generate or pairwise, or a local model judge for logprobs)',
    );
  });
});

// ---- end to end ----------------------------------------------------------------------------------

const ADDITIVE = fromRoot('rubrics/additive-5pt.hbs');

/**
 * A project folder with 2 prompts, 2 probes and a one-round pipeline on builtin:tiny whose judge
 * `server` is the fake server (concurrency 2, key from FAKE_JUDGE_API_KEY), plus an empty runs root.
 */
function project(s: FakeServer, stages: string): { file: string; root: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-openai-e2e-'));
  writeFileSync(
    join(dir, 'prompts.jsonl'),
    '{"prompt": [{"role": "user", "content": "What is the difference between weather and climate?"}], "id": "p1"}\n' +
      '{"prompt": "Name three primary colours.", "id": "p2"}\n',
  );
  writeFileSync(
    join(dir, 'probes.jsonl'),
    '{"prompt": [{"role": "user", "content": "What is the capital of Canada?"}], "id": "probe-01"}\n' +
      '{"prompt": [{"role": "user", "content": "How many sides does a hexagon have?"}], "id": "probe-02"}\n',
  );
  const file = join(dir, 'pipeline.yaml');
  // evaluate stages name their rubric: round 0 runs before any judge stage to borrow one from
  writeFileSync(
    file,
    `name: openai-judge
seed: 5
model: { path: builtin:tiny }
rounds: 1
prompts: { file: prompts.jsonl }
judges:
  server:
    kind: openai
    base_url: '${s.baseUrl}'
    model: fake-judge
    api_key_env: FAKE_JUDGE_API_KEY
    concurrency: 2
    timeout_s: 60
stages:
${stages}`,
  );
  return { file, root: mkdtempSync(join(tmpdir(), 'rlaif-openai-runs-')) };
}

const cacheDir = mkdtempSync(join(tmpdir(), 'rlaif-cache-'));
const run = (file: string, root: string, key = KEY) =>
  runCliAsync(
    ['run', file, '--root', root],
    { RLAIF_CACHE_DIR: cacheDir, FAKE_JUDGE_API_KEY: key },
    300_000,
  );

/** The run database of the only run under `root`. */
function openRun(root: string) {
  const runs = readdirSync(root);
  assert.equal(runs.length, 1, `one run under ${root}: ${runs.join(', ')}`);
  return openStore(join(root, runs[0], 'run.sqlite'), { readonly: true });
}

const GOOD = 'The reply is on topic and answers the core of the request (fake judge).\nScore: 4';
const BAD = 'The reply misses the request (fake judge).\nScore: 1';

test('pipeline run: an openai judge rates candidates, pairs form, and the anchor scores probes', async () => {
  // Deterministic per request: the first reply seen for a user request scores 4, any other 1.
  // One prompt's candidates are judged one after another, so each prompt gets a 4 and a 1.
  // The anchor (evaluate, temperature 0) is answered with 4 throughout.
  const firstReply = new Map<string, string>();
  const s = await server({
    n: 'ignore',
    apiKey: KEY,
    gatherFirst: { count: 2, maxWaitMs: 5_000 },
    answer: (prompt, _i, body) => {
      if (body.temperature === 0) return GOOD;
      const request = /<request>\n([\s\S]*?)\n<\/request>/.exec(prompt)![1];
      const reply = /<reply>\n([\s\S]*?)\n<\/reply>/.exec(prompt)![1];
      if (!firstReply.has(request)) firstReply.set(request, reply);
      return firstReply.get(request) === reply ? GOOD : BAD;
    },
  });
  const { file, root } = project(
    s,
    `  - { kind: generate, candidates: 2, temperature: 1.0, top_p: 1.0, max_new_tokens: 12 }
  - { kind: judge, judge: server, rubric: '${ADDITIVE}', samples: 2, max_new_tokens: 64 }
  - { kind: pair, strategy: max-min, min_margin: 0.5 }
  - { kind: evaluate, probes: probes.jsonl, judge: server, rubric: '${ADDITIVE}', max_new_tokens: 12 }
`,
  );
  const r = await run(file, root);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!(r.stdout + r.stderr).includes(KEY), 'the key is never printed');

  // 2 prompts x 2 candidates x 2 samples (n ignored: two requests each), then 2 probes in
  // rounds 0 and 1
  const judgeReqs = s.requests.filter((q) => q.body.max_tokens === 64);
  const evalReqs = s.requests.filter((q) => q.body.max_tokens === 256);
  assert.equal(judgeReqs.length, 8);
  assert.equal(evalReqs.length, 4);
  assert.ok(s.requests.every((q) => q.authorization === `Bearer ${KEY}`));
  assert.ok(s.requests.every((q) => q.body.model === 'fake-judge'));
  assert.ok(evalReqs.every((q) => q.body.temperature === 0));
  assert.equal(s.maxInFlight(), 2, 'concurrency 2: two requests in flight, never more');
  const answered = new Map(s.requests.map((q) => [q.body.messages[0].content, q] as const));

  const store = openRun(root);
  try {
    assert.equal(store.getRun()!.status, 'finished');
    const prompts = store.promptsForRound(1).filter((p) => p.source === 'seed');
    assert.equal(prompts.length, 2);
    for (const p of prompts) {
      const cands = store.candidatesForPrompt(1, p.id);
      assert.equal(cands.length, 2);
      const scores = cands.map((c) => {
        const js = store.judgementsForCandidate(c.id).filter((j) => j.judgeId === 'server');
        assert.equal(js.length, 2, 'K = 2 samples stored');
        for (const j of js) {
          assert.equal(j.mode, 'generate');
          assert.ok(answered.has(j.renderedPrompt!), 'the stored prompt is what the server got');
          assert.ok(j.renderedPrompt!.includes(c.text));
          assert.ok(j.rawOutput === GOOD || j.rawOutput === BAD, j.rawOutput!);
          assert.equal(j.score, j.rawOutput === GOOD ? 4 : 1);
          assert.equal(j.parseError, null);
          assert.deepEqual(j.detail, {
            base_url: s.baseUrl,
            model: 'fake-judge',
            served_model: 'fake-judge',
            finish_reason: 'stop',
          });
        }
        return js[0].score;
      });
      assert.deepEqual([...scores].sort(), [1, 4]);
    }
    const pairs = store.pairsForRound(1);
    assert.equal(pairs.length, 2, 'one pair per prompt');
    // pairs store the combined score on the 0-1 scale: 4 and 1 of the rubric's [0, 5]
    for (const pair of pairs) {
      assert.equal(pair.chosenScore, 4 / 5);
      assert.equal(pair.rejectedScore, 1 / 5);
    }
    for (const round of [0, 1]) {
      const m = store.evalMetrics().find((x) => x.round === round && x.metric === 'mean_score');
      assert.ok(m, `round ${round} evaluated by the server judge`);
      assert.equal(m.value, 4);
    }
  } finally {
    store.close();
  }
});

test('pipeline run: a pairwise openai judge sees both orders and its verdicts make pairs', async () => {
  // prefers the reply that sorts first, whichever position it is shown in: consistent verdicts
  const s = await server({
    answer: (prompt) => {
      const a = /<reply-a>\n([\s\S]*?)\n<\/reply-a>/.exec(prompt)![1];
      const b = /<reply-b>\n([\s\S]*?)\n<\/reply-b>/.exec(prompt)![1];
      return `One reply is better.\nVerdict: (${a <= b ? 'A' : 'B'})`;
    },
  });
  const { file, root } = project(
    s,
    `  - { kind: generate, candidates: 2, temperature: 1.0, top_p: 1.0, max_new_tokens: 12 }
  - kind: judge
    judge: server
    mode: pairwise
    rubric: '${fromRoot('rubrics/pairwise-principle.hbs')}'
    constitution: '${fromRoot('constitutions/helpful-harmless.md')}'
  - { kind: pair, strategy: max-min, min_margin: 0.5 }
`,
  );
  const r = await run(file, root);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(s.requests.length, 4, '2 prompts x 1 pair of candidates x 2 orders');
  const store = openRun(root);
  try {
    for (const p of store.promptsForRound(1)) {
      const cands = store.candidatesForPrompt(1, p.id);
      const js = cands.flatMap((c) =>
        store.judgementsForCandidate(c.id).filter((j) => j.candidateId === c.id),
      );
      assert.equal(js.length, 2, 'both orders stored');
      for (const j of js) {
        assert.equal(j.mode, 'pairwise');
        assert.ok(j.principleId);
        assert.match(j.rawOutput!, /^One reply is better\.\nVerdict: \([AB]\)$/);
        assert.equal(j.verdict, j.rawOutput!.endsWith('(A)') ? 'A' : 'B');
        assert.equal((j.detail as { base_url: string }).base_url, s.baseUrl);
      }
      const [pair] = store.pairsForRound(1).filter((x) => x.promptId === p.id);
      const best = [...cands].sort((x, y) => (x.text <= y.text ? -1 : 1))[0];
      assert.equal(pair.chosenCandidateId, best.id);
      assert.deepEqual([pair.chosenScore, pair.rejectedScore], [1, 0]);
    }
  } finally {
    store.close();
  }
});

test('pipeline run: a judge server that refuses the key fails the run cleanly, keeping the candidates', async () => {
  const s = await server({ apiKey: 'sk-the-right-one' });
  const { file, root } = project(
    s,
    `  - { kind: generate, candidates: 2, temperature: 1.0, top_p: 1.0, max_new_tokens: 12 }
  - { kind: judge, judge: server, rubric: '${ADDITIVE}', samples: 2 }
`,
  );
  const r = await run(file, root);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    /judge 'server': POST http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions answered 401 Unauthorized/,
  );
  assert.match(r.stderr, /FAKE_JUDGE_API_KEY/);
  assert.ok(!(r.stdout + r.stderr).includes(KEY), 'the key is never printed');
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace without --debug');
  // concurrency 2: the two prompts' first requests, then nothing more once one failed
  assert.ok(s.requests.length <= 2, `${s.requests.length} requests`);
  const store = openRun(root);
  try {
    assert.equal(store.getRun()!.status, 'failed');
    const prompts = store.promptsForRound(1);
    assert.equal(prompts.length, 2);
    for (const p of prompts) assert.equal(store.candidatesForPrompt(1, p.id).length, 2);
  } finally {
    store.close();
  }
});
