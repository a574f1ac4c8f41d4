// A pipeline whose train stage has backend: trl, run end to end on the embedded model with a
// rule judge (so there are pairs): each round TRL trains (round 1 a new LoRA against the initial
// model, round 2 continuing round 1's adapter against the round-start policy, TRL's frozen "ref"
// copy), the steps are stored and shown under the in-process trainer's metric names, and the
// adapter TRL saved becomes the policy. A python without TRL stops the run before it exists.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.js';
import { trlPipeline, trlPython } from '../helpers/trl.js';

const tmp = mkdtempSync(join(tmpdir(), 'trl-backend-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const pipeline = (python: string): string =>
  trlPipeline(tmp, python, { name: 'trl-backend', seed: 11, rounds: 2, maxSteps: 2, batchSize: 2 });

const METRICS = [
  'loss',
  'grad_norm',
  'learning_rate',
  'rewards/chosen',
  'rewards/rejected',
  'rewards/margins',
  'rewards/accuracies',
  'logps/chosen',
  'logps/rejected',
];

test('backend: trl trains every round, stores its steps, adopts its adapter', async (t) => {
  const python = trlPython(t);
  if (!python) return;
  const root = join(tmp, 'runs');
  const t0 = Date.now();
  const r = runCli(['run', pipeline(python), '--root', root, '--json'], { timeoutMs: 300_000 });
  t.diagnostic(`pipeline run ${Date.now() - t0} ms`);
  assert.equal(r.status, 0, r.stderr);
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; round?: number; loss?: number });
  const live = events.filter((e) => e.type === 'train-step');
  assert.deepEqual(
    live.map((e) => e.round),
    [1, 1, 2, 2],
    'two steps a round reached the live view',
  );
  assert.ok(live.every((e) => Number.isFinite(e.loss)));
  const id = readdirSync(root)[0];
  const db = new Database(join(root, id, 'run.sqlite'), { readonly: true });
  try {
    const steps = db
      .prepare('SELECT round, step, metrics FROM train_steps ORDER BY round, step')
      .all() as { round: number; step: number; metrics: string }[];
    assert.deepEqual(
      steps.map((s) => [s.round, s.step]),
      [
        [1, 1],
        [1, 2],
        [2, 1],
        [2, 2],
      ],
    );
    for (const s of steps) {
      const m = JSON.parse(s.metrics) as Record<string, number>;
      for (const k of METRICS) assert.equal(typeof m[k], 'number', `round ${s.round}: ${k}`);
    }
    // round 2 starts at round 1's adapter and its reference is that same policy: its first
    // step's rewards are zero (TRL's frozen "ref" copy), as in the in-process trainer
    const first2 = JSON.parse(steps[2].metrics) as Record<string, number>;
    assert.ok(Math.abs(first2['rewards/chosen']) < 1e-6, JSON.stringify(first2));
    assert.ok(Math.abs(first2['rewards/margins']) < 1e-6);
    const ckpts = db
      .prepare('SELECT id, round, kind, path, parent_id FROM checkpoints ORDER BY round')
      .all() as { id: string; round: number; kind: string; path: string; parent_id: string }[];
    assert.deepEqual(
      ckpts.map((c) => [c.round, c.kind]),
      [
        [0, 'base'],
        [1, 'adapter'],
        [2, 'adapter'],
      ],
    );
    assert.equal(ckpts[2].parent_id, ckpts[1].id);
    const rounds = db
      .prepare('SELECT round, reference_checkpoint_id AS ref FROM rounds ORDER BY round')
      .all() as { round: number; ref: string }[];
    assert.equal(rounds.find((x) => x.round === 2)?.ref, ckpts[1].id, 'round-start reference');
    for (const c of ckpts.slice(1)) {
      assert.ok(existsSync(join(root, id, c.path, 'adapter_model.safetensors')));
      assert.ok(existsSync(join(root, id, c.path, 'train_metrics.jsonl')));
      assert.ok(!existsSync(join(root, id, c.path, 'ref')), "TRL's reference copy is not saved");
      assert.ok(existsSync(join(root, id, `round-${c.round}`, 'trl', 'train.jsonl')));
    }
  } finally {
    db.close();
  }
});

test('a python without TRL stops the run before it exists, saying how to install', (t) => {
  const python = trlPython(t);
  if (!python) return;
  const bare = join(tmp, 'bare-python');
  writeFileSync(bare, `#!/bin/sh\nexec "${python}" -S "$@"\n`);
  chmodSync(bare, 0o755);
  const root = join(tmp, 'runs-bare');
  const r = runCli(['run', pipeline(bare), '--root', root]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /lacks torch, transformers, trl, peft/);
  assert.match(r.stderr, /pip install -r requirements-trl\.txt/);
  assert.ok(!existsSync(root) || readdirSync(root).length === 0, 'no run was created');
});
