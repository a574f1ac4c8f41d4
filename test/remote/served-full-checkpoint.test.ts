// Issue 14: a full fine-tune with the policy on a server. The round writes a merged checkpoint;
// the server must serve it (under <run-id>-round-<r>) before the run samples from it again. With
// model.restart_command the run makes that happen itself and waits for the server to list it;
// without one it stops with the exact command to run, and resumes once the checkpoint is served.
//
// The stand-in for "restart vLLM on the checkpoint" is `pipeline serve`'s model-loading API: the
// test's server opens a full checkpoint folder as a model of its own (a LoRA folder as an adapter),
// and the restart command is a small script that asks it to. So the base model stays served too,
// as the evaluate stage's drift against M_0 needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Engine } from '../../src/engine/index.js';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { runCliAsync } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';
import { servedFixture } from '../helpers/served-fixture.js';

const env = { RLAIF_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rlaif-cache-')) };

async function standIn(): Promise<RunningServer> {
  return startServer(
    {
      engine: await Engine.open('builtin:tiny'),
      modelName: 'tiny',
      openAdapter: (p) =>
        existsSync(join(p, 'adapter_config.json'))
          ? Engine.open('builtin:tiny', { adapter: p })
          : Engine.open(p),
    },
    { host: '127.0.0.1', port: 0 },
  );
}

/** The served-policy fixture, one round, full fine-tune, in a folder of its own. */
function fullFile(dir: string, baseUrl: string, restart?: string[]): string {
  return servedFixture(baseUrl, {
    dir,
    modelExtra: restart
      ? `, restart_command: ${JSON.stringify(restart)}, restart_timeout_s: 60`
      : '',
    edit: (t) =>
      t
        .replace('rounds: 2', 'rounds: 1')
        .replace('max_steps: 2, batch_size: 2 }', 'max_steps: 2, batch_size: 2, full: true }'),
  });
}

/** What "serve this checkpoint under this name" is, against the stand-in. */
function loaderScript(dir: string): string {
  const script = join(dir, 'serve-checkpoint.mjs');
  writeFileSync(
    script,
    `const [url, name, path] = process.argv.slice(2);
const r = await fetch(url + '/load_lora_adapter', {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ lora_name: name, lora_path: path }),
});
if (!r.ok) { console.error('load failed', r.status, await r.text()); process.exit(1); }
`,
  );
  return script;
}

function servedNames(root: string): string[] {
  const [id] = readdirSync(root);
  const db = new Database(join(root, id, 'run.sqlite'), { readonly: true });
  try {
    return (
      db.prepare('SELECT model FROM served_models ORDER BY model').all() as { model: string }[]
    ).map((r) => r.model);
  } finally {
    db.close();
  }
}

test('full fine-tune, served: restart_command serves the checkpoint and the round goes on', async () => {
  const server = await standIn();
  try {
    const dir = mkdtempSync(join(tmpdir(), 'rlaif-full-'));
    const url = `${server.url}/v1`;
    const file = fullFile(dir, url, [process.execPath, loaderScript(dir), url, '{name}', '{path}']);
    const root = join(dir, 'runs');
    const r = await runCliAsync(
      ['run', file, '--root', root, '--allow-path', repoRoot],
      env,
      300_000,
    );
    assert.equal(r.status, 0, r.stderr);
    const [id] = readdirSync(root);
    assert.deepEqual(servedNames(root), [`${id}-round-1`, 'tiny']);
  } finally {
    await server.drain();
  }
});

test('full fine-tune, served, no restart_command: the run stops with the command, then resumes', async () => {
  const server = await standIn();
  try {
    const dir = mkdtempSync(join(tmpdir(), 'rlaif-full-'));
    const url = `${server.url}/v1`;
    const file = fullFile(dir, url);
    const root = join(dir, 'runs');
    const args = ['run', file, '--root', root, '--allow-path', repoRoot];
    const first = await runCliAsync(args, env, 300_000);
    assert.notEqual(first.status, 0);
    const [id] = readdirSync(root);
    const checkpoint = join(root, id, 'round-1', 'policy');
    assert.match(first.stderr, /must be served as/);
    assert.ok(
      first.stderr.includes(`vllm serve ${checkpoint} --served-model-name ${id}-round-1`),
      first.stderr,
    );
    assert.ok(first.stderr.includes(`--resume ${id}`), first.stderr);

    // by hand, as the message says (here: the stand-in's loading API)
    const res = await fetch(`${url}/load_lora_adapter`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lora_name: `${id}-round-1`, lora_path: checkpoint }),
    });
    assert.equal(res.status, 200, await res.text());
    const resumed = await runCliAsync([...args, '--resume', id], env, 300_000);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.deepEqual(servedNames(root), [`${id}-round-1`, 'tiny']);
  } finally {
    await server.drain();
  }
});
