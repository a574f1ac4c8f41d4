// Issue 14: a run killed (SIGKILL) while TRL trains leaves no orphan training behind (the script
// watches the run's pid and exits; a TRL that logs to the closed pipe fails sooner anyway), and
// `--resume` retrains the round from scratch: the steps are stored once each and the adapter TRL
// saves becomes the policy.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.js';
import { binPath, repoRoot } from '../helpers/paths.js';
import { trlPipeline, trlPython } from '../helpers/trl.js';

const tmp = mkdtempSync(join(tmpdir(), 'trl-kill-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Processes whose command line names `needle` (ps, as a user would look). */
function processesWith(needle: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(needle) && !l.includes('ps -eo'));
}

test('SIGKILL while TRL trains: no orphan keeps training, and --resume retrains the round', async (t) => {
  const python = trlPython(t);
  if (!python) return;
  const file = trlPipeline(tmp, python, {
    name: 'trl-kill',
    seed: 3,
    rounds: 1,
    maxSteps: 6,
    batchSize: 1,
  });
  const root = join(tmp, 'runs');
  // the run, killed at its first logged TRL step
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, 'run', file, '--root', root, '--json'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('"type":"train-step"')) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (_code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error(`run ended before training: ${buf}`)),
    );
  });
  const [id] = readdirSync(root);
  const config = join(root, id, 'round-1', 'trl', 'config.json');
  // the orphaned training notices within a second or two and exits
  const until = Date.now() + 20_000;
  while (processesWith(config).length && Date.now() < until)
    await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(processesWith(config), [], 'no TRL process outlives the killed run');

  const r = runCli(['run', file, '--root', root, '--resume', id], { timeoutMs: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(join(root, id, 'round-1', 'policy', 'adapter_model.safetensors')));
  const db = new Database(join(root, id, 'run.sqlite'), { readonly: true });
  try {
    const steps = db.prepare('SELECT step FROM train_steps ORDER BY step').all() as {
      step: number;
    }[];
    assert.deepEqual(
      steps.map((s) => s.step),
      [1, 2, 3, 4, 5, 6],
      'each step stored once, by the retrained round',
    );
  } finally {
    db.close();
  }
});
