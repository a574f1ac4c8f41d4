import { spawnSync } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { fail } from '../../core/errors.js';

/** How to get a Python the TRL backend can use (the README's "Training with TRL"). */
export const TRL_INSTALL_HINT =
  'create one with `python3 -m venv .venv && .venv/bin/pip install -r requirements-trl.txt` ' +
  '(requirements-trl.txt is in the rlaif-pipeline repository) and set trl.python: .venv/bin/python';

/** The Python modules the scripts in scripts/trl import. */
const MODULES = ['torch', 'transformers', 'trl', 'peft', 'datasets', 'accelerate'];

// `python -c` puts the working directory first on sys.path, where a folder named like a module
// (the round's own trl/) would pass for the package: look only where the script will look.
const PROBE = `
import sys
sys.path = [p for p in sys.path if p not in ("", ".")]
import importlib.util as u, importlib.metadata as md, json
mods = ${JSON.stringify(MODULES)}
missing = [m for m in mods if u.find_spec(m) is None]
try:
    trl = None if "trl" in missing else md.version("trl")
except md.PackageNotFoundError:
    trl = None
print(json.dumps({"missing": missing, "trl": trl, "python": sys.version.split()[0]}))
`;

/**
 * A command as the pipeline file gives it: a path (it has a slash) relative to the pipeline
 * file's folder, or a name looked up on PATH.
 */
export function resolveCommand(cmd: string, baseDir: string): string {
  return cmd.includes('/') && !isAbsolute(cmd) ? resolve(baseDir, cmd) : cmd;
}

/**
 * Check, before anything is stored or trained, that `python` runs and has TRL 1.x and the rest
 * of requirements-trl.txt; a clear PipelineError otherwise.
 */
export function checkTrlPython(python: string, baseDir: string): { trl: string; python: string } {
  const cmd = resolveCommand(python, baseDir);
  const r = spawnSync(cmd, ['-c', PROBE], { cwd: baseDir, encoding: 'utf8', timeout: 120_000 });
  if (r.error)
    fail(
      'E_TRL_PYTHON',
      `the TRL backend's python (trl.python: ${python}) cannot run: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}`,
      TRL_INSTALL_HINT,
    );
  let found: { missing: string[]; trl: string | null; python: string } | undefined;
  try {
    found = JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
  } catch {
    found = undefined;
  }
  if (r.status !== 0 || !found)
    fail(
      'E_TRL_PYTHON',
      `the TRL backend's python (trl.python: ${python}) failed to start: ${lastLines(r.stderr, 5) || `exit ${r.status}`}`,
      TRL_INSTALL_HINT,
    );
  if (found.missing.length)
    fail(
      'E_TRL_MISSING',
      `the TRL backend's python (${cmd}, Python ${found.python}) lacks ${found.missing.join(', ')}`,
      TRL_INSTALL_HINT,
    );
  if (!/^[1-9]\d*\./.test(found.trl ?? ''))
    fail(
      'E_TRL_MISSING',
      `the TRL backend needs trl 1.x, but ${cmd} has trl ${found.trl}`,
      TRL_INSTALL_HINT,
    );
  return { trl: found.trl!, python: found.python };
}

/** The last `n` non-empty lines of a text. */
export function lastLines(text: string, n: number): string {
  return text
    .split(/\r?\n|\r/)
    .filter((l) => l.trim())
    .slice(-n)
    .join('\n');
}
