import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';

test('--help lists every command and exits 0', () => {
  const r = runCli(['--help']);
  assert.equal(r.status, 0);
  for (const cmd of ['run', 'validate', 'version'])
    assert.match(r.stdout, new RegExp(`^  ${cmd}\\b`, 'm'));
});

test('no command prints usage and exits 2', () => {
  const r = runCli([]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /Usage: pipeline/);
});

test('an unknown command prints usage and exits 2', () => {
  const r = runCli(['frobnicate']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
  assert.match(r.stderr, /Usage: pipeline/);
});

test('an unknown flag prints the command usage and exits 2', () => {
  const r = runCli(['validate', '--frob', 'x.yaml']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown option '--frob'/);
  assert.match(r.stderr, /Usage: pipeline validate/);
});

test('a missing argument exits 2', () => {
  const r = runCli(['validate']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /missing required argument 'file'/);
});

test('each command has its own --help', () => {
  for (const cmd of ['run', 'validate', 'version']) {
    const r = runCli([cmd, '--help']);
    assert.equal(r.status, 0, cmd);
    assert.match(r.stdout, new RegExp(`Usage: pipeline ${cmd}`));
  }
});

test('version prints versions as text and JSON', () => {
  const r = runCli(['version', '--json']);
  assert.equal(r.status, 0);
  const v = JSON.parse(r.stdout) as Record<string, string>;
  assert.match(v.pipeline, /^\d+\.\d+\.\d+/);
  assert.equal(v.onnxruntime, '1.30.0');
  assert.equal(v.node, process.versions.node);
});

test('errors print message and hint without a stack; --debug adds the stack', () => {
  const r = runCli(['validate', 'does/not/exist.yaml']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^error: pipeline file not found: does\/not\/exist.yaml$/m);
  assert.match(r.stderr, /^hint: /m);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const d = runCli(['validate', '--debug', 'does/not/exist.yaml']);
  assert.equal(d.status, 1);
  assert.match(d.stderr, /E_PIPELINE_NOT_FOUND/);
  assert.match(d.stderr, /\n\s+at /);
});

test('validate reports YAML syntax errors at file:line:col', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-cli-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'name: x\nstages:\n  - kind: generate\n   bad: [1, 2\n');
  const r = runCli(['validate', file]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`error: ${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: `));
});

test('validate refuses a YAML alias bomb', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-cli-'));
  const file = join(dir, 'bomb.yaml');
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 0; i < 8; i++) {
    const prev = String.fromCharCode(97 + i);
    const cur = String.fromCharCode(98 + i);
    lines.push(
      `${cur}: &${cur} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`,
    );
  }
  writeFileSync(file, lines.join('\n') + '\n');
  const r = runCli(['validate', file]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /alias/i);
});

test('validate and run refuse a judge named __proto__ (zod records skip that key silently)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-cli-'));
  writeFileSync(join(dir, 'p.jsonl'), '{"prompt": "Say hi."}\n');
  writeFileSync(join(dir, 'r.hbs'), readFileSync(join(repoRoot, 'rubrics/additive-5pt.hbs')));
  const file = join(dir, 'proto.yaml');
  writeFileSync(
    file,
    [
      'name: proto',
      'model: { path: builtin:tiny }',
      'rounds: 1',
      'prompts: { file: p.jsonl }',
      'judges:',
      '  __proto__: { kind: rule, rules: [{ kind: length, max: 5 }] }',
      '  rules: { kind: rule, rules: [{ kind: length, max: 10 }] }',
      'stages:',
      '  - { kind: generate, candidates: 2, max_new_tokens: 4 }',
      '  - { kind: judge, judge: rules, rubric: r.hbs }',
      '',
    ].join('\n'),
  );
  const v = runCli(['validate', file]);
  assert.equal(v.status, 1, v.stderr);
  assert.match(v.stderr, /proto\.yaml:6:3: invalid judge name '__proto__' \(expected letters/);
  const r = runCli(['run', file, '--root', join(dir, 'runs')]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /invalid judge name '__proto__'/);
  assert.equal(existsSync(join(dir, 'runs')), false);
});
