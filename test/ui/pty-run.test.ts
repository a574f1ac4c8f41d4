// `pipeline run` in a real pseudo-terminal (util-linux `script`): the live Ink view is what the
// screen shows, not the plain lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binPath, fromRoot, repoRoot } from '../helpers/paths.js';

// eslint-disable-next-line no-control-regex -- escape sequences are exactly what is stripped
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

const script = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));

test('pipeline run in a terminal shows the live view: stages, progress bars, sparklines', (t) => {
  if (!script) {
    t.skip('util-linux `script` is not installed, so no pseudo-terminal can be made');
    return;
  }
  const root = mkdtempSync(join(tmpdir(), 'rlaif-pty-'));
  const cmd = `${process.execPath} ${binPath} run ${fromRoot('pipelines/smoke.yaml')} --root ${root}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RLAIF_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rlaif-cache-')),
    COLUMNS: '120',
    LINES: '60',
    TERM: 'xterm-256color',
  };
  delete env.CI;
  delete env.NO_COLOR;
  const r = spawnSync(script, ['-qfec', cmd, '/dev/null'], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // strip ANSI escapes to read the screen text
  const screen = r.stdout.replace(ANSI, '');
  assert.match(screen, /smoke\s+round 2\/2/);
  for (const stage of ['generate', 'judge', 'pair', 'train', 'evaluate'])
    assert.match(screen, new RegExp(`✔ ${stage}`));
  assert.match(screen, /█{4,}/, 'progress bars');
  assert.match(screen, /loss\s+[▁▂▃▄▅▆▇█]+/, 'loss sparkline');
  assert.match(screen, /finished/);
  // the live view redraws with cursor control; plain mode would not
  assert.ok(r.stdout.includes('\u001b['));
});
