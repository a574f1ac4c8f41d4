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
