// Secrets: which variables a pipeline file may send to a judge, and that a key never travels in
// cleartext to another machine unless the file says so (and then the run warns).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPipelineError } from '../../src/core/errors.js';
import { createOpenAIClient, type OpenAIJudgeSpec } from '../../src/judges/openai-judge.js';
import { readPipelineFile } from '../../src/spec/read-file.js';
import { checkPipeline } from '../../src/spec/validate/index.js';
import {
  checkSecrets,
  insecureKeyWarnings,
  isLoopbackHost,
  keyEnvAllowed,
} from '../../src/spec/validate/secrets.js';
import { runCli } from '../helpers/cli.js';

/** A project folder with a valid pipeline whose one judge is `judge` (YAML flow mapping body). */
function project(judge: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-secrets-'));
  mkdirSync(join(dir, 'prompts'));
  writeFileSync(join(dir, 'prompts', 'seed.jsonl'), '{"prompt": "hi"}\n');
  const file = join(dir, 'p.yaml');
  writeFileSync(
    file,
    `name: s
model: { path: builtin:tiny }
prompts: { file: prompts/seed.jsonl }
judges:
  server: { kind: openai, model: judge, ${judge} }
stages:
  - { kind: generate, candidates: 2 }
`,
  );
  return file;
}

const problems = (judge: string) =>
  checkPipeline(readPipelineFile(project(judge)), { checkFiles: true }).problems;

describe('api_key_env names', () => {
  test('pipeline validate refuses AWS_SECRET_ACCESS_KEY at file:line:col, naming the rule', () => {
    const file = project(
      "base_url: 'https://judge.example/v1', api_key_env: AWS_SECRET_ACCESS_KEY",
    );
    const r = runCli(['validate', file]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /p\.yaml:5:\d+: judges\.server\.api_key_env: 'AWS_SECRET_ACCESS_KEY' may not be sent to a judge/,
    );
    assert.match(r.stderr, /\*_API_KEY/);
    assert.match(r.stderr, /RLAIF_ALLOWED_KEY_ENVS/);
  });

  test('documented patterns pass; others only when listed outside the pipeline file', () => {
    for (const ok of ['OPENAI_API_KEY', 'VLLM_API_KEY', 'TOGETHER_API_TOKEN', 'HF_TOKEN'])
      assert.ok(keyEnvAllowed(ok, {}), ok);
    for (const bad of ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'GITHUB_TOKEN', 'HOME'])
      assert.ok(!keyEnvAllowed(bad, {}), bad);
    const env = { RLAIF_ALLOWED_KEY_ENVS: 'LAB_JUDGE_SECRET, OTHER' };
    assert.ok(keyEnvAllowed('LAB_JUDGE_SECRET', env));
    assert.ok(keyEnvAllowed('OTHER', env));
    const found: string[] = [];
    const raw = {
      judges: {
        s: { kind: 'openai', base_url: 'https://x/v1', api_key_env: 'LAB_JUDGE_SECRET' },
      },
    };
    checkSecrets(raw, (_p, m) => found.push(m), env);
    assert.equal(found.length, 0);
    checkSecrets(raw, (_p, m) => found.push(m), {});
    assert.equal(found.length, 1);
  });
});

describe('keys over plain http', () => {
  test('a key to http://10.1.2.3 is refused unless the judge allows it', () => {
    const ps = problems("base_url: 'http://10.1.2.3:8000/v1', api_key_env: OPENAI_API_KEY");
    assert.equal(ps.length, 1, JSON.stringify(ps));
    assert.match(ps[0].message, /unencrypted over http:\/\/ to 10\.1\.2\.3:8000/);
    assert.deepEqual(ps[0].path, ['judges', 'server', 'base_url']);
    const allowed = problems(
      "base_url: 'http://10.1.2.3:8000/v1', api_key_env: OPENAI_API_KEY, allow_insecure_http: true",
    );
    assert.deepEqual(allowed, []);
  });

  test('loopback http, https, and http without a key are fine', () => {
    for (const url of [
      'http://127.0.0.1:8000/v1',
      'http://127.8.9.10/v1',
      'http://localhost:8000/v1',
      'http://[::1]:8000/v1',
      'https://10.1.2.3/v1',
    ])
      assert.deepEqual(problems(`base_url: '${url}', api_key_env: OPENAI_API_KEY`), [], url);
    assert.deepEqual(problems("base_url: 'http://10.1.2.3/v1'"), []);
    assert.ok(isLoopbackHost('[::ffff:7f00:1]'));
    assert.ok(!isLoopbackHost('128.0.0.1') && !isLoopbackHost('localhost.example.com'));
  });

  const spec = (more: Partial<OpenAIJudgeSpec>): OpenAIJudgeSpec => ({
    kind: 'openai',
    base_url: 'http://10.1.2.3/v1',
    model: 'm',
    api_key_env: 'OPENAI_API_KEY',
    concurrency: 1,
    timeout_s: 1,
    allow_insecure_http: false,
    ...more,
  });

  test('the client refuses it too, whatever called it, and the run warns when allowed', () => {
    const env = { OPENAI_API_KEY: 'sk-secret' };
    assert.throws(
      () => createOpenAIClient('server', spec({}), { env }),
      (e: unknown) =>
        isPipelineError(e) && e.code === 'E_JUDGE_INSECURE' && !e.message.includes('sk-secret'),
    );
    assert.ok(createOpenAIClient('server', spec({ allow_insecure_http: true }), { env }));
    assert.deepEqual(insecureKeyWarnings({ server: spec({ allow_insecure_http: true }) }), [
      "judge 'server': the API key in OPENAI_API_KEY is sent unencrypted over http:// to 10.1.2.3 (allow_insecure_http: true)",
    ]);
    assert.deepEqual(
      insecureKeyWarnings({ server: spec({ base_url: 'http://127.0.0.1/v1' }) }),
      [],
    );
  });
});
