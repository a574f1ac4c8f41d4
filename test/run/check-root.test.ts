// --root is checked before anything is created: /proc, a file, a read-only folder each give a
// clear E_RUN_ROOT (no hang, no "this is a bug"); a fresh nested root is created.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPipelineError } from '../../src/core/errors.js';
import { checkRoot } from '../../src/run/check-root.js';
import { runCli } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';

const rootError = (pattern: RegExp) => (e: unknown) =>
  isPipelineError(e) && e.code === 'E_RUN_ROOT' && pattern.test(e.message) && !!e.hint;

test(
  'pipeline run --root /proc/1 fails at once with a clear message (it used to spin forever)',
  {
    skip: process.platform !== 'linux' || !existsSync('/proc/1'),
  },
  () => {
    const r = runCli(['run', fromRoot('pipelines/smoke.yaml'), '--root', '/proc/1'], {
      timeoutMs: 60_000,
    });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /--root \/proc\/1: \/proc\/1 does not take writes/);
    assert.match(r.stderr, /hint: pass a folder you can write with --root/);
    assert.doesNotMatch(r.stderr, /this is a bug/i);
    assert.throws(() => checkRoot('/proc/1/runs/deeper'), rootError(/\/proc\/1 does not take/));
  },
);

test('a file where the root (or a folder above it) should be', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-root-'));
  const file = join(dir, 'runs');
  writeFileSync(file, 'not a folder');
  assert.throws(() => checkRoot(file), rootError(/runs is a file, not a folder/));
  assert.throws(() => checkRoot(join(file, 'sub')), rootError(/runs is a file, not a folder/));
});

test('a read-only folder is refused before anything is created', () => {
  // root writes through chmod 555, so as root use a folder the kernel refuses (sysfs)
  let ro: string;
  if (process.getuid?.() === 0) {
    if (!existsSync('/sys/kernel')) return;
    ro = '/sys/kernel';
  } else {
    ro = mkdtempSync(join(tmpdir(), 'rlaif-root-ro-'));
    chmodSync(ro, 0o555);
  }
  const before = readdirSync(ro).length;
  assert.throws(() => checkRoot(join(ro, 'runs')), rootError(/does not take writes \(E/));
  assert.equal(readdirSync(ro).length, before, 'nothing was created');
});

test('a missing nested root is created one folder at a time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-root-'));
  const root = join(dir, 'a', 'b', 'runs');
  checkRoot(root);
  assert.ok(existsSync(root));
  mkdirSync(join(root, 'x'));
  checkRoot(root); // an existing root is fine too
  assert.deepEqual(readdirSync(dir), ['a'], 'no probe folder is left behind');
});
