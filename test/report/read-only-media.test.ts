// `runs`, `show`, `drift`, `report` and `export` open finished runs on read-only media. SQLite
// opens a WAL database read-only only where it can create -wal/-shm beside it, so on 4034049
// every one of these failed with "unable to open database file" on a read-only mount. The
// media is a real read-only bind mount (root may write through chmod, not through a ro mount);
// where mounting is not permitted the test is skipped and says why.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.js';
import { makeRunA } from './fixtures.js';

const base = mkdtempSync(join(tmpdir(), 'rlaif-ro-media-'));
const src = join(base, 'src');
const ro = join(base, 'ro');

/** Bind-mounts src read-only at ro; undefined when that worked, else why not. */
function mountReadOnly(): string | undefined {
  mkdirSync(ro, { recursive: true });
  const bind = spawnSync('mount', ['--bind', src, ro], { encoding: 'utf8' });
  if (bind.status !== 0) return `mount --bind is not permitted here: ${bind.stderr.trim()}`;
  const remount = spawnSync('mount', ['-o', 'remount,ro,bind', ro], { encoding: 'utf8' });
  if (remount.status !== 0) {
    spawnSync('umount', [ro]);
    return `remounting read-only failed: ${remount.stderr.trim()}`;
  }
  return undefined;
}

let skip: string | false = false;
before(() => {
  mkdirSync(src, { recursive: true });
  makeRunA(src);
  // a run whose writer died: its last commits are only in the -wal, and there is no -shm
  mkdirSync(join(src, 'crashed'));
  const live = join(base, 'live.sqlite');
  const db = new Database(live);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (a); INSERT INTO t VALUES (1)');
  copyFileSync(live, join(src, 'crashed', 'run.sqlite'));
  copyFileSync(`${live}-wal`, join(src, 'crashed', 'run.sqlite-wal'));
  db.close();
  skip = mountReadOnly() ?? false;
});
after(() => {
  if (!skip) spawnSync('umount', [ro]);
  rmSync(base, { recursive: true, force: true });
});

describe('report commands on a read-only mount', () => {
  test('the mount really refuses writes', (t) => {
    if (skip) return t.skip(skip);
    assert.throws(() => writeFileSync(join(ro, 'probe'), 'x'), /EROFS|read-only/i);
    assert.ok(!existsSync(join(ro, 'run-a', 'run.sqlite-wal')), 'a finished run has no -wal');
  });

  test('runs, show, drift, report and export read the finished run', (t) => {
    if (skip) return t.skip(skip);
    const out = join(base, 'report.html');
    const cases: [string[], RegExp][] = [
      [['runs', '--root', ro], /run-a\s+finished/],
      [['show', 'run-a', '--root', ro], /run-a/],
      [['drift', 'run-a', '--root', ro], /mean_score/],
      [['report', 'run-a', '--root', ro, '--out', out], /report/i],
      [['export', 'run-a', '--root', ro, '--format', 'trl'], /"chosen"/],
    ];
    for (const [args, pattern] of cases) {
      const r = runCli(args);
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout + r.stderr, pattern, args.join(' '));
      assert.doesNotMatch(r.stderr, /unable to open|this is a bug/i);
    }
    assert.ok(existsSync(out));
    assert.deepEqual(readdirSync(join(ro, 'run-a')).sort(), readdirSync(join(src, 'run-a')).sort());
  });

  test('a run whose last writes are only in its -wal is refused with what to do', (t) => {
    if (skip) return t.skip(skip);
    const r = runCli(['show', 'crashed', '--root', ro]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /last writes are still in .*run\.sqlite-wal/);
    assert.match(r.stderr, /hint: copy the run folder to a writable disk/);
  });
});
