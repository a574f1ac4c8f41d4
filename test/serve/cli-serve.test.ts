// `pipeline serve` as a user runs it: the flags in --help, a clear error for a port in use or a
// missing key variable, and SIGTERM finishing the request in flight before the process exits.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { binPath, repoRoot } from '../helpers/paths.js';
import { MODEL } from './helpers.js';

/** `pipeline <args>` in this process (the CLI's own entry point): exit code and output. */
async function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await main(args, { out: (s) => (stdout += s), err: (s) => (stderr += s) });
  return { status, stdout, stderr };
}

test('serve --help documents its flags; pipeline --help lists serve', async () => {
  const r = await cli(['serve', '--help']);
  assert.equal(r.status, 0);
  for (const flag of [
    '--model',
    '--adapter',
    '--host',
    '--port',
    '--api-key-env',
    '--max-batch-size',
    '--max-queue',
    '--max-body-bytes',
    '--default-max-tokens',
    '--served-model-name',
    '--no-lora-loading',
  ])
    assert.ok(r.stdout.includes(flag), flag);
  assert.match((await cli(['--help'])).stdout, /^ {2}serve\b/m);
});

test('--api-key-env naming an unset variable is a usage error', async () => {
  delete process.env.RLAIF_TEST_UNSET_KEY;
  const r = await cli(['serve', '--api-key-env', 'RLAIF_TEST_UNSET_KEY']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /RLAIF_TEST_UNSET_KEY is not set/);
});

test('a port in use fails with a message and a hint', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as AddressInfo).port;
  try {
    const r = await cli(['serve', '--port', String(port), '--threads', '1']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`cannot listen on 127.0.0.1:${port}`));
    assert.match(r.stderr, /hint: port \d+ is in use/);
  } finally {
    blocker.close();
  }
});

test('SIGTERM finishes the request in flight, then the process exits 0', async () => {
  const child = spawn(process.execPath, [binPath, 'serve', '--port', '0', '--threads', '1'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /at (http:\/\/\S+)\/v1/.exec(stdout);
      if (m) resolve(m[1]);
    });
    child.on('close', () => reject(new Error(`serve exited early: ${stderr}`)));
  });
  // A streamed request: its first chunk proves it is in flight when the signal comes.
  let body = '';
  let firstChunk!: () => void;
  const inFlight = new Promise<void>((r) => (firstChunk = r));
  const done = new Promise<number>((resolve, reject) => {
    const req = request(`${url}/v1/completions`, { method: 'POST' }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
        firstChunk();
      });
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(
      JSON.stringify({
        model: MODEL,
        prompt: 'Hello',
        max_tokens: 60,
        ignore_eos: true,
        stream: true,
      }),
    );
  });
  await inFlight;
  child.kill('SIGTERM');
  assert.equal(await done, 200);
  assert.ok(body.trimEnd().endsWith('data: [DONE]'), body.slice(-200));
  assert.match(body, /"finish_reason":"length"/);
  assert.equal(await exited, 0, stderr);
  assert.match(stderr, /stopping: finishing the requests in flight/);
});
