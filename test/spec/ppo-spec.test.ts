// PPO as the pipeline file says it: its settings carry TRL PPOConfig's names and belong to
// algorithm ppo alone; ppo refuses the group methods' names for the same knobs (beta,
// num_iterations, epsilon_high); the group methods need two completions per prompt, PPO one.
// Each problem at file:line:col; `pipeline rl` says the same of its flags.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPipelineFile } from '../../src/spec/read-file.js';
import { stageSchema } from '../../src/spec/schema.js';
import { checkPipeline } from '../../src/spec/validate/index.js';
import { rlJobOf } from '../../src/stages/rl/job.js';
import { runCli } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'ppo-spec-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** Problems of a pipeline whose one stage (line 7) is an rl stage with these settings. */
function check(rl: string) {
  const file = join(tmp, `p${n++}.yaml`);
  const yaml = [
    'name: ppo',
    'model: { path: builtin:tiny }',
    'prompts: { file: prompts/seed.jsonl }',
    'judges:',
    '  len: { kind: rule, rules: [{ kind: length, max: 40 }] }',
    'stages:',
    `  - { kind: rl, reward_judges: [len], ${rl} }`,
  ].join('\n');
  writeFileSync(file, yaml + '\n');
  const r = checkPipeline(readPipelineFile(file));
  return { ...r, lines: r.problems.map((p) => `${p.line}:${p.col}: ${p.message}`) };
}

test('a ppo stage validates with TRL PPOConfig names, one completion per prompt, and maps onto the trainer', () => {
  const r = check(
    'algorithm: ppo, num_generations: 1, kl_coef: 0.1, kl_estimator: k3, cliprange: 0.1, ' +
      'cliprange_value: 0.3, vf_coef: 0.5, gamma: 0.99, lam: 0.9, whiten_rewards: true, num_ppo_epochs: 2',
  );
  assert.deepEqual(r.lines, []);
  const st = r.spec!.stages[0];
  assert.ok(st.kind === 'rl');
  const job = rlJobOf(st, { model: 'builtin:tiny', seed: 0 });
  assert.equal(job.algorithm, 'ppo');
  assert.equal(job.loss.beta, 0.1);
  assert.equal(job.loss.epsilon, 0.1);
  assert.equal(job.loss.epsilonHigh, 0.1);
  assert.equal(job.numIterations, 2);
  assert.equal(job.totalSteps, st.steps * 2);
  assert.deepEqual(job.ppo, {
    klEstimator: 'k3',
    cliprangeValue: 0.3,
    vfCoef: 0.5,
    gamma: 0.99,
    lam: 0.9,
    whitenRewards: true,
  });
});

test("unset, a ppo stage gets TRL PPOConfig's defaults; other stages parse (and hash) as before", () => {
  const r = check('algorithm: ppo');
  assert.deepEqual(r.lines, []);
  const st = r.spec!.stages[0];
  assert.ok(st.kind === 'rl');
  const job = rlJobOf(st, { model: 'builtin:tiny', seed: 0 });
  assert.equal(job.loss.beta, 0.05);
  assert.equal(job.loss.epsilon, 0.2);
  assert.equal(job.numIterations, 4);
  assert.deepEqual(job.ppo, {
    klEstimator: 'k1',
    cliprangeValue: 0.2,
    vfCoef: 0.1,
    gamma: 1,
    lam: 0.95,
    whitenRewards: false,
  });
  const grpo = stageSchema.parse({ kind: 'rl', reward_judges: ['len'] });
  for (const f of ['kl_coef', 'cliprange', 'vf_coef', 'gamma', 'lam', 'num_ppo_epochs'])
    assert.ok(!(f in grpo), `${f} is absent unless written`);
});

test('ppo settings on another algorithm, and the group names on ppo, are refused where they stand', () => {
  assert.deepEqual(check('algorithm: grpo, kl_coef: 0.1, vf_coef: 0.2').lines, [
    "7:65: kl_coef is a ppo setting, but this stage's algorithm is grpo (expected algorithm: ppo, or no kl_coef)",
    "7:79: vf_coef is a ppo setting, but this stage's algorithm is grpo (expected algorithm: ppo, or no vf_coef)",
  ]);
  assert.deepEqual(check('algorithm: rloo, num_generations: 1').lines, [
    "7:73: rloo compares completions within a prompt's group, but num_generations is 1 (expected at least 2)",
  ]);
  assert.deepEqual(
    check('algorithm: ppo, beta: 0.1, num_iterations: 2, epsilon_high: 0.28').lines,
    [
      "7:61: ppo's KL coefficient is kl_coef (TRL's name), but beta is 0.1 (expected no beta, e.g. kl_coef: 0.1)",
      "7:82: ppo's optimizer steps per batch are num_ppo_epochs (TRL's name), but num_iterations is 2 (expected no num_iterations, e.g. num_ppo_epochs: 2)",
      '7:99: ppo clips the ratio symmetrically with cliprange (expected no epsilon_high)',
    ],
  );
});

test('pipeline rl refuses a ppo flag on grpo before loading anything', () => {
  const dir = mkdtempSync(join(tmp, 'cli-'));
  const judges = join(dir, 'judges.yaml');
  writeFileSync(judges, 'len: { kind: rule, rules: [{ kind: length, max: 40 }] }\n');
  const r = runCli([
    'rl',
    '--prompts',
    'prompts/seed.jsonl',
    '--judge',
    judges,
    '--out',
    join(dir, 'out'),
    '--vf-coef',
    '0.2',
  ]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /--vf-coef: vf_coef is a ppo setting, but this stage's algorithm is grpo/);
});
