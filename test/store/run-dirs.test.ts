import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inputHash } from '../../src/store/hash.js';
import { RUN_DB_FILE, listRunDirs, runDbPath } from '../../src/store/run-dirs.js';
import { openStore } from '../../src/store/run-store.js';
import { PIPELINE_YAML, tempDir, throwsCode } from './fixtures.js';

const tmp = tempDir();
after(tmp.cleanup);

function makeRun(root: string, id: string, finish: boolean): void {
  const store = openStore(runDbPath(root, id));
  store.createRun({ id, name: id, pipelinePath: 'p.yaml', pipelineYaml: PIPELINE_YAML });
  // round 1: ROUNDS counts trained rounds, not round 0's baseline (issue 13)
  store.upsertRound(1, { status: 'running' });
  store.addPrompt({
    round: 1,
    source: 'seed',
    messages: [{ role: 'user', content: 'hi' }],
    inputHash: inputHash(id),
  });
  if (finish) {
    store.upsertRound(1, { status: 'done' });
    store.setRunStatus('finished');
  }
  store.close();
}

describe('run folders', () => {
  test('runDbPath validates the run id', () => {
    assert.equal(
      runDbPath('runs', '20250101-120000-self-reward'),
      join('runs', '20250101-120000-self-reward', RUN_DB_FILE),
    );
    for (const bad of ['', '../x', 'a/b', '.hidden', 'a b', 'x'.repeat(129)])
      throwsCode(() => runDbPath('runs', bad), 'E_STORE_RUN_ID');
  });

  test('listRunDirs summarises every run and reports unreadable ones without failing', () => {
    const root = join(tmp.dir, 'runs');
    makeRun(root, 'b-live', false);
    makeRun(root, 'a-done', true);
    mkdirSync(join(root, 'c-broken'));
    writeFileSync(join(root, 'c-broken', RUN_DB_FILE), 'garbage'.repeat(200));
    mkdirSync(join(root, 'd-empty-folder'));
    writeFileSync(join(root, 'notes.txt'), 'not a run');
    openStore(join(root, 'e-no-run', RUN_DB_FILE)).close();

    // a writer holding the run open does not stop the listing
    const live = openStore(runDbPath(root, 'b-live'));
    live.addEvent({ type: 'still running' });
    const entries = listRunDirs(root);
    live.close();

    assert.deepEqual(
      entries.map((e) => [e.dir.slice(root.length + 1), e.run?.status ?? e.error?.code]),
      [
        ['a-done', 'finished'],
        ['b-live', 'running'],
        ['c-broken', 'E_STORE_CORRUPT'],
        ['e-no-run', 'E_STORE_NO_RUN'],
      ],
    );
    const done = entries[0].run;
    assert.ok(done);
    assert.equal(done.roundsDone, 1);
    assert.equal(done.prompts, 1);
    assert.ok(done.finishedAt);
    assert.equal('pipelineYaml' in done, false);
    assert.ok(entries[2].error?.hint);
  });

  test('a missing root lists nothing; a file as root is an error', () => {
    assert.deepEqual(listRunDirs(join(tmp.dir, 'nope')), []);
    const file = join(tmp.dir, 'file');
    writeFileSync(file, '');
    throwsCode(() => listRunDirs(file), 'E_STORE_OPEN', /runs folder/);
  });
});
