// What users and reviewers run: the same reference numbers through the real CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';
import { readReferenceJson } from '../helpers/reference.js';

const cacheEnv = { RLAIF_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rlaif-cache-')) };

interface GenJson {
  results: {
    prompt_token_ids: number[];
    completions: { text: string; token_ids: number[]; finish_reason: string; logprobs: number[] }[];
  }[];
}

test('pipeline generate --greedy --ignore-eos --json reproduces the reference greedy ids', async (t) => {
  const root = fixture(t, 'hf-tiny');
  if (!root) return;
  const ref = readReferenceJson(root);
  const chats = JSON.parse(readFileSync(join(root, 'reference', 'tokenizer.json'), 'utf8'))
    .chat as { messages: unknown }[];
  for (let i = 0; i < 2; i++) {
    const r = runCli([
      'generate',
      '--model',
      join(root, 'tiny-llama'),
      '--messages',
      JSON.stringify(chats[i].messages),
      '--greedy',
      '--ignore-eos',
      '--max-new-tokens',
      '16',
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as GenJson;
    assert.deepEqual(out.results[0].prompt_token_ids, ref.greedy[i].prompt_ids);
    const c = out.results[0].completions[0];
    assert.deepEqual(c.token_ids, ref.greedy[i].greedy_new_ids);
    assert.equal(c.finish_reason, 'length');
    assert.equal(c.logprobs.length, 16);
    assert.ok(c.logprobs.every((x) => x <= 0 && Number.isFinite(x)));
  }
});

test('pipeline score --json reproduces the reference chosen/rejected log-probs', async (t) => {
  const root = fixture(t, 'hf-tiny');
  if (!root) return;
  const ref = readReferenceJson(root);
  const r = runCli([
    'score',
    '--model',
    join(root, 'tiny-llama'),
    '--data',
    join(root, 'pairs.jsonl'),
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { chosen_logps: number; rejected_logps: number });
  assert.equal(rows.length, 2);
  rows.forEach((row, i) => {
    assert.ok(
      Math.abs(row.chosen_logps - ref.chosen_logps[i]) < 1e-4 * Math.abs(ref.chosen_logps[i]),
    );
    assert.ok(
      Math.abs(row.rejected_logps - ref.rejected_logps[i]) < 1e-4 * Math.abs(ref.rejected_logps[i]),
    );
  });
});

test('pipeline score prints {"logps"} for prompt/completion rows', async (t) => {
  const root = fixture(t, 'hf-tiny');
  if (!root) return;
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-score-'));
  const pair = JSON.parse(readFileSync(join(root, 'pairs.jsonl'), 'utf8').split('\n')[0]);
  writeFileSync(
    join(dir, 'rows.jsonl'),
    JSON.stringify({ prompt: pair.prompt, completion: pair.chosen }) + '\n',
  );
  const r = runCli([
    'score',
    '--model',
    join(root, 'tiny-llama'),
    '--data',
    join(dir, 'rows.jsonl'),
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const row = JSON.parse(r.stdout) as { logps: number };
  assert.ok(Math.abs(row.logps - readReferenceJson(root).chosen_logps[0]) < 1e-2);
});

test('builtin:tiny: same seed gives the same candidates, another seed differs, top-k 1 equals greedy', () => {
  const base = [
    'generate',
    '--model',
    'builtin:tiny',
    '--prompt',
    'Tell me about the sea.',
    '--n',
    '3',
    '--max-new-tokens',
    '12',
    '--json',
  ];
  const run = (extra: string[]) => {
    const r = runCli([...base, ...extra], { env: cacheEnv });
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as GenJson).results[0].completions.map((c) => c.token_ids);
  };
  const a = run(['--seed', '5']);
  assert.equal(a.length, 3);
  assert.deepEqual(run(['--seed', '5']), a);
  assert.notDeepEqual(run(['--seed', '6']), a);
  const greedy = run(['--greedy', '--ignore-eos']);
  assert.deepEqual(run(['--top-k', '1', '--seed', '9', '--ignore-eos']), greedy);
  assert.deepEqual(run(['--temperature', '0', '--ignore-eos']), greedy);
  // greedy candidates are all the same
  assert.deepEqual(greedy[1], greedy[0]);
});

test('generate reads TRL prompt rows from --data and stops on --stop strings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-gen-'));
  const data = join(dir, 'prompts.jsonl');
  writeFileSync(
    data,
    [
      JSON.stringify({ prompt: [{ role: 'user', content: 'Hi' }] }),
      JSON.stringify({ prompt: 'raw text prompt' }),
    ].join('\n') + '\n',
  );
  const r = runCli(['generate', '--data', data, '--max-new-tokens', '8', '--seed', '1', '--json'], {
    env: cacheEnv,
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as GenJson;
  assert.equal(out.results.length, 2);
  assert.equal(out.results[0].prompt_token_ids[0], 1); // <|im_start|>: chat template applied
  assert.notEqual(out.results[1].prompt_token_ids[0], 1); // raw text
  // a stop string equal to the first character the model emits ends the completion at once
  const first = out.results[0].completions[0].text;
  if (first.length > 0) {
    const s = runCli(
      [
        'generate',
        '--data',
        data,
        '--max-new-tokens',
        '8',
        '--seed',
        '1',
        '--json',
        '--stop',
        first[0],
      ],
      { env: cacheEnv },
    );
    const c = (JSON.parse(s.stdout) as GenJson).results[0].completions[0];
    assert.equal(c.text, '');
    assert.equal(c.finish_reason, 'stop');
  }
});

test('bad input: clear errors and exit codes, never a crash', async (t) => {
  const missing = runCli(['generate', '--model', '/nonexistent/model', '--prompt', 'x']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /model folder not found/);
  assert.match(missing.stderr, /hint: /);

  const usage = runCli(['generate', '--prompt', 'x', '--top-p', '0']);
  assert.equal(usage.status, 2);
  const both = runCli(['generate', '--prompt', 'x', '--messages', '[]']);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /exactly one of --prompt, --messages or --data/);

  const root = fixture(t, 'hf-tiny');
  if (!root) return;
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-bad-'));
  const arch = join(dir, 'arch');
  cpSync(join(root, 'tiny-llama'), arch, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(arch, 'config.json'), 'utf8'));
  cfg.architectures = ['GPT2LMHeadModel'];
  writeFileSync(join(arch, 'config.json'), JSON.stringify(cfg));
  const a = runCli(['generate', '--model', arch, '--prompt', 'x']);
  assert.equal(a.status, 1);
  assert.match(a.stderr, /GPT2LMHeadModel/);

  const corrupt = join(dir, 'corrupt');
  cpSync(join(root, 'tiny-llama'), corrupt, { recursive: true });
  truncateSync(join(corrupt, 'model.safetensors'), 5000);
  const c = runCli(['score', '--model', corrupt, '--data', join(root, 'pairs.jsonl')]);
  assert.equal(c.status, 1);
  assert.match(c.stderr, /model\.safetensors/);
  assert.doesNotMatch(c.stderr, /\n\s+at /);

  const badRows = join(dir, 'bad.jsonl');
  writeFileSync(badRows, '{"prompt": "x", "chosen": "y", "rejected": "z"}\n{"prompt": 3}\n');
  const b = runCli(['score', '--model', join(root, 'tiny-llama'), '--data', badRows]);
  assert.equal(b.status, 1);
  assert.match(b.stderr, /bad\.jsonl:2: /);
});
