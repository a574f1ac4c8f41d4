// Reward models as rl rewards: a Bradley-Terry model trained here (polite over rude answers,
// builtin:tiny) rewards `pipeline rl` through a `kind: reward_model` judge beside a rule judge;
// each stored sample's score is σ(r) of the reward model on that very prompt and completion
// (recomputed with the scorer), and the reward is their weighted sum. A judge or evaluate stage
// naming a reward model is refused by validation, with where and what instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RewardModelScorer } from '../../src/engine/index.js';
import { DEFAULT_LORA_TARGETS } from '../../src/engine/train/lora.js';
import { runRewardModelTraining } from '../../src/engine/train/reward-model/run-rm-training.js';
import { runCli } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'rlaif-rl-rm-'));
const env = { RLAIF_CACHE_DIR: join(dir, 'cache') };
const TOPICS = ['cats', 'dogs', 'rain', 'music', 'tea', 'trains', 'maps', 'boats', 'bread'];
const FORMS: [(t: string) => string, (t: string) => string][] = [
  [(t) => ` ${t} are lovely, thank you.`, (t) => ` ${t} are awful, go away.`],
  [(t) => ` Thank you for asking about ${t}.`, (t) => ` I will not talk about ${t}.`],
  [(t) => ` Happy to help: ${t} are fun.`, (t) => ` No. ${t} are boring.`],
];

test('rl with a reward-model judge: stored scores are sigmoid(r) of the very samples, summed with the rule judge', async () => {
  const rm = join(dir, 'rm');
  await runRewardModelTraining({
    model: 'builtin:tiny',
    rows: TOPICS.map((t, i) => ({
      prompt: `Tell me about ${t}.`,
      chosen: FORMS[i % 3][0](t),
      rejected: FORMS[i % 3][1](t),
    })),
    labels: [],
    out: rm,
    full: false,
    lora: { r: 8, alpha: 16, targets: DEFAULT_LORA_TARGETS },
    maxLength: 1024,
    optimizer: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 },
    learningRate: 1e-3,
    lrSchedule: 'constant',
    warmupSteps: 0,
    epochs: 1,
    maxSteps: 6,
    batchSize: 8,
    gradAccum: 1,
    seed: 0,
  });
  const judges = join(dir, 'judges.yaml');
  writeFileSync(
    judges,
    'polite: { kind: reward_model, path: rm }\nshort: { kind: rule, rules: [{ kind: length, max: 30 }] }\n',
  );
  const out = join(dir, 'policy');
  const r = runCli(
    [
      'rl',
      '--prompts',
      fromRoot('prompts/seed.jsonl'),
      '--judge',
      judges,
      '--out',
      out,
      '--steps',
      '2',
      '--num-generations',
      '2',
      '--prompts-per-step',
      '2',
      '--max-completion-length',
      '8',
      '--reward-weights',
      '2,1',
    ],
    { env, timeoutMs: 300_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  const samples = readFileSync(join(out, 'samples.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as {
          prompt: { role: string; content: string }[];
          completion: string;
          rewards: { polite: number; short: number };
          reward: number;
        },
    );
  assert.equal(samples.length, 8);
  const scorer = await RewardModelScorer.open(rm);
  try {
    const raw = await scorer.scoreRows(
      samples.map((s) => ({
        prompt: s.prompt,
        completion: [{ role: 'assistant', content: s.completion }],
      })),
    );
    samples.forEach((s, i) => {
      const want = 1 / (1 + Math.exp(-raw[i]));
      assert.ok(Math.abs(s.rewards.polite - want) < 1e-6, `${s.rewards.polite} vs σ(${raw[i]})`);
      assert.ok(Math.abs(s.reward - (2 * s.rewards.polite + s.rewards.short)) < 1e-12);
    });
  } finally {
    await scorer.close();
  }
});

test('a reward-model judge in a judge or evaluate stage is refused when the file is checked', () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(
    file,
    [
      'name: bad',
      'model: { path: builtin:tiny }',
      `prompts: { file: ${fromRoot('prompts/seed.jsonl')} }`,
      'judges:',
      '  rm: { kind: reward_model, path: rm }',
      'stages:',
      '  - { kind: rl, reward_judges: [rm] }',
      `  - { kind: evaluate, probes: ${fromRoot('prompts/probes.jsonl')}, judge: rm }`,
      '',
    ].join('\n'),
  );
  const r = runCli(['validate', file, '--allow-path', fromRoot('.')], { env });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /bad\.yaml:8:\d+: judge 'rm' is a reward model; it rewards rl stages/);
});
