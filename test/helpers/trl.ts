import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fromRoot } from './paths.js';

export const TRL_VENV_HINT =
  'no Python with TRL for the TRL backend tests: run `scripts/trl-venv.sh` (builds .venv-trl from ' +
  'requirements-trl.txt) or set RLAIF_TRL_PYTHON to a python that has torch, transformers, trl and peft';

/**
 * The Python the TRL backend tests train with: RLAIF_TRL_PYTHON, or .venv-trl (scripts/trl-venv.sh,
 * which CI runs). Absent: the test is skipped with the hint, except under CI, where it fails.
 */
export function trlPython(t: TestContext): string | undefined {
  const python = process.env.RLAIF_TRL_PYTHON ?? fromRoot('.venv-trl', 'bin', 'python');
  if (existsSync(python)) return python;
  if (process.env.CI) throw new Error(`${TRL_VENV_HINT} (missing ${python}; CI must run these)`);
  t.skip(`${TRL_VENV_HINT} (missing ${python})`);
  return undefined;
}

/**
 * `accelerate launch` as a launcher prefix (trl.launch), run as the same python's module so it
 * is the accelerate beside trl: one CPU process; a cluster's --config_file goes in the same place.
 */
export function accelerateLaunch(python: string): string[] {
  return [
    python,
    '-m',
    'accelerate.commands.accelerate_cli',
    'launch',
    '--num_processes',
    '1',
    '--num_machines',
    '1',
    '--mixed_precision',
    'no',
    '--dynamo_backend',
    'no',
    '--cpu',
  ];
}

/**
 * A pipeline file in `dir` whose train stage trains through TRL with `python`: the embedded model,
 * a rule judge (so there are pairs), LoRA r 4, learning rate 1e-3.
 */
export function trlPipeline(
  dir: string,
  python: string,
  o: { name: string; seed: number; rounds: number; maxSteps: number; batchSize: number },
): string {
  const file = join(dir, `${o.name}-${readdirSync(dir).length}.yaml`);
  writeFileSync(
    file,
    [
      `name: ${o.name}`,
      `seed: ${o.seed}`,
      'model: { path: builtin:tiny }',
      `rounds: ${o.rounds}`,
      `prompts: { file: ${fromRoot('prompts', 'seed.jsonl')}, per_round: 4 }`,
      'judges:',
      '  len:',
      '    kind: rule',
      '    rules: [{ kind: length, max: 40 }, { kind: length, max: 60 }]',
      'stages:',
      '  - { kind: generate, candidates: 3, temperature: 1.0, max_new_tokens: 24 }',
      `  - { kind: judge, judge: len, rubric: ${fromRoot('rubrics', 'additive-5pt.hbs')} }`,
      '  - { kind: pair, min_margin: 0 }',
      '  - kind: train',
      '    loss: sigmoid',
      '    learning_rate: 1.0e-3',
      `    max_steps: ${o.maxSteps}`,
      `    batch_size: ${o.batchSize}`,
      '    lora: { r: 4, alpha: 8 }',
      '    backend: trl',
      `    trl: { python: ${JSON.stringify(python)} }`,
    ].join('\n') + '\n',
  );
  return file;
}
