import { existsSync } from 'node:fs';
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
