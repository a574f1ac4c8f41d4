// Issue 13: a resume checks what it builds on before any work. On 4034049 an edited prompt file
// was resumed silently (mixing two prompt sets) and an altered checkpoint was not noticed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  copyFileSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';

const env = { RLAIF_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rlaif-cache-')) };

const PIPELINE = `name: pins
seed: 3
model: { path: builtin:tiny }
rounds: 2
reference: round-start
prompts: { file: prompts.jsonl, per_round: 4 }
judges:
  rules: { kind: rule, rules: [{ kind: length, max: 20 }, { kind: length, max: 40 }] }
stages:
  - { kind: generate, candidates: 3, temperature: 1.0, top_p: 1.0, max_new_tokens: 16 }
  - { kind: judge, judge: rules, rubric: rubric.hbs }
  - { kind: pair, strategy: max-min, min_margin: 0.1 }
  - { kind: train, loss: sigmoid, beta: 0.1, learning_rate: 1.0e-3, max_steps: 2, batch_size: 2 }
`;

/** A project folder with the pipeline, its prompts and rubric, and one finished run of it. */
function finishedRun(): {
  dir: string;
  id: string;
  run: (...args: string[]) => ReturnType<typeof runCli>;
} {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-pins-'));
  writeFileSync(join(dir, 'p.yaml'), PIPELINE);
  copyFileSync(fromRoot('rubrics/additive-5pt.hbs'), join(dir, 'rubric.hbs'));
  const seed = readFileSync(fromRoot('prompts/seed.jsonl'), 'utf8').split('\n').slice(0, 6);
  writeFileSync(join(dir, 'prompts.jsonl'), seed.join('\n') + '\n');
  const run = (...args: string[]) =>
    runCli(['run', 'p.yaml', '--root', 'runs', ...args], { cwd: dir, env, timeoutMs: 300_000 });
  const first = run();
  assert.equal(first.status, 0, first.stderr);
  const [id] = readdirSync(join(dir, 'runs'));
  return { dir, id, run };
}

function query(dir: string, id: string, sql: string): Record<string, unknown>[] {
  const db = new Database(join(dir, 'runs', id, 'run.sqlite'), { readonly: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

test('an edited prompt file stops a resume until --accept-changed, which is recorded', () => {
  const { dir, id, run } = finishedRun();
  const file = join(dir, 'prompts.jsonl');
  const old = sha(file);
  appendFileSync(
    file,
    '{"prompt": [{"role": "user", "content": "An edited prompt"}], "id": "x"}\n',
  );
  const refused = run('--resume', id);
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, /E_RESUME_INPUT_CHANGED/);
  assert.match(
    refused.stderr,
    new RegExp(
      `prompts\\.jsonl \\(prompts\\.file\\): ${old.slice(0, 12)} -> ${sha(file).slice(0, 12)}`,
    ),
  );
  assert.match(refused.stderr, new RegExp(`--resume ${id} --accept-changed prompts\\.jsonl`));
  // refused before any work: the run still says what it was, nothing was accepted
  assert.deepEqual(query(dir, id, 'SELECT status FROM runs'), [{ status: 'finished' }]);
  assert.equal(query(dir, id, 'SELECT * FROM input_changes').length, 0);

  const typo = run('--resume', id, '--accept-changed', 'promts.jsonl');
  assert.equal(typo.status, 2, typo.stderr);
  assert.match(typo.stderr, /not a file run .* reads/);

  const accepted = run('--resume', id, '--accept-changed', 'prompts.jsonl');
  assert.equal(accepted.status, 0, accepted.stderr);
  const [change] = query(dir, id, 'SELECT * FROM input_changes');
  assert.equal(change.path, file);
  assert.equal(change.old_hash, old);
  assert.equal(change.new_hash, sha(file));
  assert.ok(String(change.accepted_by).includes('@'));
  // the pin now holds the accepted version: a plain resume goes on
  assert.equal(run('--resume', id).status, 0);
  // and `show` says what was accepted, from which hash to which
  const shown = runCli(['show', id, '--root', 'runs'], { cwd: dir, env });
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(
    shown.stdout,
    new RegExp(
      `accepted changed input: .*prompts\\.jsonl ${old.slice(0, 12)} → ${sha(file).slice(0, 12)} \\(by .*@`,
    ),
  );
});

test('a missing or altered checkpoint stops a resume at once; --from-round retrains from the last intact one', () => {
  const { dir, id, run } = finishedRun();
  const weights = (r: number) =>
    join(dir, 'runs', id, `round-${r}`, 'policy', 'adapter_model.safetensors');
  const stored = query(
    dir,
    id,
    "SELECT round, content_hash FROM checkpoints WHERE kind = 'adapter' ORDER BY round",
  );
  assert.equal(stored.length, 2);
  appendFileSync(weights(1), 'x');
  rmSync(weights(2));
  const refused = run('--resume', id);
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, /E_RESUME_CHECKPOINT/);
  assert.match(
    refused.stderr,
    /round 1 \(adapter\): .* was altered \(stored sha256 [0-9a-f]{12}, now [0-9a-f]{12}\)/,
  );
  assert.match(refused.stderr, /round 2 \(adapter\): .* is missing/);
  assert.match(refused.stderr, new RegExp(`pipeline run p\\.yaml --resume ${id} --from-round 1`));
  assert.doesNotMatch(refused.stderr, /pipeline train/);
  assert.deepEqual(query(dir, id, 'SELECT status FROM runs'), [{ status: 'finished' }]);

  const outOfRange = run('--resume', id, '--from-round', '3');
  assert.equal(outOfRange.status, 2, outOfRange.stderr);
  assert.match(outOfRange.stderr, /rounds 1 to 2/);

  const redo = run('--resume', id, '--from-round', '1');
  assert.equal(redo.status, 0, redo.stderr);
  const [reset] = query(dir, id, 'SELECT from_round, detail FROM round_resets');
  assert.equal(reset.from_round, 1);
  const reasons = (JSON.parse(String(reset.detail)) as { discards: { reason: string }[] }).discards;
  assert.deepEqual(reasons.map((d) => d.reason).sort(), ['altered', 'missing']);
  // retrained from M_0 with the same seed: the very bytes that were stored, so they count again
  for (const row of stored)
    assert.equal(sha(weights(Number(row.round))), row.content_hash, `round ${row.round} retrained`);
  assert.equal(query(dir, id, 'SELECT * FROM checkpoint_discards').length, 0);
  // round 1's generate/judge/pair were built on the intact M_0 and were not redone
  assert.deepEqual(
    query(
      dir,
      id,
      'SELECT stage_index, attempts FROM stage_runs WHERE round = 1 ORDER BY stage_index',
    ),
    [0, 1, 2, 3].map((i) => ({ stage_index: i, attempts: i === 3 ? 2 : 1 })),
  );
  assert.equal(run('--resume', id).status, 0);
  const shown = runCli(['show', id, '--root', 'runs'], { cwd: dir, env });
  assert.match(shown.stdout, /retrained from round 1: 2 checkpoint\(s\) set aside \(by .*@/);
});
