// The `runs` ROUNDS column counts trained rounds out of the rounds planned (issue 13: round 0,
// the initial model's evaluation, was counted, so a killed 3-round run read `1/2`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runsListing } from '../../src/report/runs.js';
import { runDbPath } from '../../src/store/run-dirs.js';
import { openStore } from '../../src/store/run-store.js';

test('a 3-round run killed in round 1 reads 0/3; after round 1 and a resume of 3, 1/3', () => {
  const root = mkdtempSync(join(tmpdir(), 'rlaif-rounds-'));
  try {
    const store = openStore(runDbPath(root, 'killed'));
    store.createRun({ id: 'killed', name: 'k', pipelinePath: 'p.yaml', pipelineYaml: 'x' });
    const start = { type: 'run-start', time: new Date().toISOString(), rounds: 3, stages: [] };
    store.appendEvent(start);
    store.upsertRound(0, { status: 'done' });
    store.upsertRound(1, { status: 'running' });
    store.close(); // killed: the run row still says running
    const [row] = runsListing(root);
    assert.equal(`${row.roundsDone}/${row.rounds}`, '0/3');

    const again = openStore(runDbPath(root, 'killed'));
    again.appendEvent({ ...start, resumed: true });
    again.upsertRound(1, { status: 'done' });
    again.upsertRound(2, { status: 'running' });
    again.close();
    const [after] = runsListing(root);
    assert.equal(`${after.roundsDone}/${after.rounds}`, '1/3');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
