// `pipeline validate` and `pipeline run` share one preflight (src/run/preflight/): every input
// that `run` refuses at start, `validate` refuses too, with the same message, and `run` refuses it
// before creating anything under --root. On 4034049 the broken rubrics and prompt files below
// passed `validate` and failed `run`, which left a failed run folder behind.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';

const FM = '---\nanswer_format: score-line\nscale: [0, 5]\nmode: pointwise\n---\n';

/** Nine ways a rubric breaks (test/prompts/rubric.test.ts), each with what the message says. */
const BROKEN_RUBRICS: [string, string, RegExp][] = [
  ['never-closed', FM + 'Rate this:\n{{prompt\n', /"\{\{prompt" is never closed/],
  ['unclosed-block', FM + '{{#if prompt}}{{response}}\n', /\{\{#if\}\} is never closed/],
  ['helper', FM + '{{lookup prompt "a"}} {{response}}\n', /calls a helper/],
  ['partial', FM + '{{> header}} {{prompt}} {{response}}\n', /partials/],
  ['section', FM + '{{#prompt}}x{{/prompt}} {{response}}\n', /not a block helper/],
  ['block-params', FM + '{{#each xs as |x|}}{{x}}{{/each}}{{prompt}}\n', /block parameters/],
  ['subexpression', FM + '{{#if (eq prompt response)}}x{{/if}}\n', /sub-expressions/],
  ['climbs', FM + '{{../prompt}} {{response}}\n', /climbs above/],
  ['prototype', FM + '{{prompt}} {{constructor.name}} {{response}}\n', /built-in property/],
];

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A project folder: the smoke pipeline with its texts, the prompt file and rubric swapped. */
function project(opts: {
  prompts?: string;
  rubric?: string;
  generateTokens?: number;
  judge?: string;
}): {
  file: string;
  root: string;
} {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-preflight-'));
  made.push(dir);
  for (const d of ['rubrics', 'prompts']) cpSync(fromRoot(d), join(dir, d), { recursive: true });
  if (opts.prompts !== undefined)
    writeFileSync(join(dir, 'prompts/under-test.jsonl'), opts.prompts);
  if (opts.rubric !== undefined) writeFileSync(join(dir, 'rubrics/under-test.hbs'), opts.rubric);
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(
    file,
    [
      'name: preflight',
      'model: { path: builtin:tiny }',
      'rounds: 1',
      `prompts: { file: prompts/${opts.prompts !== undefined ? 'under-test' : 'seed'}.jsonl, per_round: 2 }`,
      'judges:',
      opts.judge ?? '  rules: { kind: rule, rules: [{ kind: length, max: 40 }] }',
      'stages:',
      `  - { kind: generate, candidates: 2, max_new_tokens: ${opts.generateTokens ?? 8} }`,
      `  - { kind: judge, judge: rules, rubric: rubrics/${opts.rubric !== undefined ? 'under-test' : 'additive-5pt'}.hbs }`,
      '  - { kind: pair }',
      '  - { kind: train, max_steps: 1, batch_size: 1 }',
      '',
    ].join('\n'),
  );
  return { file, root: join(dir, 'runs') };
}

/** The error block the CLI printed: from `error:` up to and including `hint:`'s line. */
function errorOf(stderr: string): string {
  const m = /error: [\s\S]*?\nhint: .*/.exec(stderr);
  assert.ok(m, `no error in:\n${stderr}`);
  return m[0];
}

/** validate and run both fail with one message; run created nothing under its root. */
function bothRefuse(p: { file: string; root: string }, pattern: RegExp): string {
  const v = runCli(['validate', p.file]);
  const r = runCli(['run', p.file, '--root', p.root, '--json'], { env: { CI: 'true' } });
  assert.equal(v.status, 1, `validate accepted it:\n${v.stdout}${v.stderr}`);
  assert.equal(r.status, 1, `run: ${r.stdout}${r.stderr}`);
  assert.match(errorOf(v.stderr), pattern);
  assert.equal(errorOf(r.stderr), errorOf(v.stderr));
  assert.ok(
    !existsSync(p.root) || readdirSync(p.root).length === 0,
    `run left ${existsSync(p.root) ? readdirSync(p.root).join(', ') : ''} behind`,
  );
  return errorOf(v.stderr);
}

describe('validate runs every check run runs, before run creates anything', () => {
  for (const [name, text, pattern] of BROKEN_RUBRICS)
    test(`a rubric with a ${name} error`, () => {
      const msg = bothRefuse(project({ rubric: text }), pattern);
      assert.match(
        msg,
        /pipeline\.yaml:\d+:\d+: stages\[1\]\.rubric: template 'rubrics\/under-test\.hbs'/,
      );
      assert.match(msg, /under-test\.hbs:\d+:\d+: /);
    });

  test('an empty prompt file', () => {
    const msg = bothRefuse(project({ prompts: '\n\n' }), /no prompts \(the file is empty\)/);
    assert.match(msg, /pipeline\.yaml:4:\d+: prompts\.file: .*under-test\.jsonl: no prompts/);
  });

  test('a prompt file with a bad row names the file and line', () => {
    const rows = '{"prompt": "fine"}\n\n{"prompt": 3}\n';
    bothRefuse(project({ prompts: rows }), /under-test\.jsonl:3: "prompt" must be a list/);
  });

  test('a server judge whose API key variable is not set', () => {
    const judge =
      '  rules: { kind: openai, base_url: "http://127.0.0.1:9/v1", model: m, api_key_env: PREFLIGHT_UNSET_API_KEY }';
    bothRefuse(
      project({ judge }),
      /judges\.rules\.api_key_env: judge 'rules': the environment variable PREFLIGHT_UNSET_API_KEY \(api_key_env\) is not set/,
    );
  });

  test('a prompt too long for the model names the prompt, its line and the pipeline key', () => {
    const long = JSON.stringify({ id: 'too-long', prompt: 'word '.repeat(1500) });
    const rows = `{"prompt": "short", "id": "short"}\n\n${long}\n`;
    const msg = bothRefuse(
      project({ prompts: rows, generateTokens: 8 }),
      /stages\[0\]\.max_new_tokens: prompt 'too-long' \(prompts\/under-test\.jsonl:3\) is \d+ tokens/,
    );
    assert.match(msg, /pipeline\.yaml:8:\d+: /);
    assert.match(msg, /more than the 2048 of model 'builtin:tiny' \(max_position_embeddings\)/);
    assert.doesNotMatch(msg, /--max-new-tokens/);
  });

  test('a judge prompt too long: rubric + the longest answer + the judgement', () => {
    // self-judging: the rubric around the prompt, 1700 answer tokens and 48 for the judgement
    const p = project({ generateTokens: 1700 });
    writeFileSync(
      p.file,
      readFileSync(p.file, 'utf8').replace(
        'judge: rules, rubric: rubrics/additive-5pt.hbs',
        'judge: self, rubric: rubrics/additive-5pt.hbs, samples: 1',
      ),
    );
    const msg = bothRefuse(
      p,
      /stages\[1\]\.max_new_tokens: prompt '[^']+' \(prompts\/seed\.jsonl:\d+\) rendered into the judge's rubric is \d+ tokens, plus 1700 for the longest answer\(s\) stages\[0\]\.max_new_tokens allows/,
    );
    assert.match(msg, /pipeline\.yaml:9:\d+: /);
  });

  test('a truncated checkpoint is refused before a run exists', () => {
    // builtin:tiny's files with model.safetensors cut short: the headers promise more data
    const p = project({});
    const model = join(p.file, '..', 'm');
    const tiny = runCli([
      'generate',
      '--model',
      'builtin:tiny',
      '--prompt',
      'x',
      '--max-new-tokens',
      '1',
    ]);
    assert.equal(tiny.status, 0, tiny.stderr);
    const cache =
      process.env.RLAIF_CACHE_DIR ?? join(process.env.HOME ?? '', '.cache', 'rlaif-pipeline');
    cpSync(join(cache, 'builtin-tiny-v1'), model, { recursive: true });
    const bytes = readFileSync(join(model, 'model.safetensors'));
    writeFileSync(join(model, 'model.safetensors'), bytes.subarray(0, bytes.length >> 1));
    writeFileSync(p.file, readFileSync(p.file, 'utf8').replace('path: builtin:tiny', 'path: m'));
    bothRefuse(p, /model\.path: .*model\.safetensors is not a valid safetensors file/);
  });

  test('a prompt that fits until max_new_tokens is added is refused for the sum', () => {
    // ~1000 tokens of prompt: fits 2048 positions with 8 new tokens, not with 1500
    const rows = JSON.stringify({ id: 'mid', prompt: 'word '.repeat(500) }) + '\n';
    const ok = project({ prompts: rows, generateTokens: 8 });
    const v = runCli(['validate', ok.file]);
    assert.equal(v.status, 0, v.stderr);
    bothRefuse(
      project({ prompts: rows, generateTokens: 1500 }),
      /prompt 'mid' \(prompts\/under-test\.jsonl:1\) is \d+ tokens in the model's chat template, plus 1500 to generate/,
    );
  });
});

test('the shipped pipelines pass the preflight', () => {
  mkdirSync(tmpdir(), { recursive: true });
  for (const p of ['smoke', 'self-reward', 'reward-hacking', 'constitutional']) {
    const r = runCli(['validate', fromRoot(`pipelines/${p}.yaml`)]);
    assert.equal(r.status, 0, `${p}: ${r.stderr}`);
  }
});
