import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { registerRuns } from '../../src/cli/commands/runs.js';
import { registerShow } from '../../src/cli/commands/show.js';
import { formatMillis, truncate } from '../../src/report/format.js';
import { openRun } from '../../src/report/open-run.js';
import type { RunsListingRow } from '../../src/report/runs.js';
import { runOverview, type RunOverview } from '../../src/report/show.js';
import {
  PAIRS_PER_ROUND,
  PROMPTS_PER_ROUND,
  ROUNDS,
  STEPS_PER_ROUND,
  makeRunsFolder,
  promptText,
  runCommand,
  type Fixture,
} from './fixtures.js';

let fx: Fixture;
before(() => {
  fx = makeRunsFolder();
});
after(() => fx.cleanup());

describe('pipeline runs', () => {
  test('a table of the runs, and the broken folder with its error', async () => {
    const { out } = await runCommand(registerRuns, ['runs', '--root', fx.root]);
    const lines = out.split('\n');
    assert.match(lines[0], /^NAME\s+ID\s+STATUS\s+ROUNDS\s+PAIRS\s+STARTED\s+DURATION$/);
    const a = lines.find((l) => l.includes('run-a'))!;
    // run-a stores rounds 0..2: round 0 is the baseline, so 2 trained rounds (issue 13)
    assert.match(a, /^self-reward\s+run-a\s+finished\s+2\/2\s+6\s+2025-03-01 10:00:01Z\s+\S/);
    assert.match(
      lines.find((l) => l.includes('run-b'))!,
      /finished\s+1\/1\s+0/,
    );
    assert.match(
      lines.find((l) => l.startsWith('?'))!,
      /zz-broken\s+unreadable/,
    );
    assert.match(out, /\nzz-broken: .*run\.sqlite/);
    assert.match(out, /hint: /);
  });

  test('--json: one entry per folder; the broken one carries its error', async () => {
    const { out } = await runCommand(registerRuns, ['runs', '--root', fx.root, '--json']);
    const rows = JSON.parse(out) as RunsListingRow[];
    assert.deepEqual(
      rows.map((r) => [r.id, r.status, r.error?.code ?? null]),
      [
        ['run-a', 'finished', null],
        ['run-b', 'finished', null],
        ['zz-broken', null, 'E_STORE_CORRUPT'],
      ],
    );
    const a = rows[0];
    assert.equal(a.rounds, ROUNDS - 1, 'trained rounds: round 0 is not one');
    assert.equal(a.pairs, ROUNDS * PAIRS_PER_ROUND);
    assert.equal(a.running, false);
    assert.equal(a.durationMs, Date.parse(a.finishedAt!) - Date.parse(a.startedAt!));
  });

  test('an empty or missing runs folder', async () => {
    const { out } = await runCommand(registerRuns, ['runs', '--root', `${fx.dir}/none`]);
    assert.match(out, /no runs under/);
  });
});

describe('pipeline show', () => {
  test('overview numbers come from the store', () => {
    const store = openRun(fx.root, 'run-a');
    const o = runOverview(store, { pairs: 2, round: 1 });
    store.close();
    assert.equal(o.rounds.length, ROUNDS);
    for (const r of o.rounds) {
      assert.equal(r.status, 'done');
      assert.deepEqual(
        r.stages.map((s) => [s.kind, s.status]),
        [
          ['generate', 'done'],
          ['judge', 'done'],
          ['pair', 'done'],
          ['train', 'done'],
          ['evaluate', 'done'],
        ],
      );
      assert.equal(r.prompts, PROMPTS_PER_ROUND);
      assert.equal(r.candidates, PROMPTS_PER_ROUND * 3);
      assert.equal(r.pairs, PAIRS_PER_ROUND);
      assert.deepEqual(r.discards, { tie: 1 });
      assert.equal(r.trainSteps, STEPS_PER_ROUND);
      assert.ok(r.stages.every((s) => s.durationMs !== null && s.durationMs > 0));
    }
    assert.equal(o.samplePairs.length, 2);
    assert.ok(o.samplePairs.every((p) => p.round === 1));
    const p = o.samplePairs[0];
    assert.deepEqual(p.prompt, [{ role: 'user', content: promptText(1, 0) }]);
    assert.equal(p.chosenScore, 4);
    assert.equal(p.chosen.judgements.length, 1);
    assert.equal(p.chosen.judgements[0].rawOutput, 'The answer is fine.\nScore: 4');
    assert.equal(p.rejected.judgements[0].score, 2);
  });

  test('prints stages per round and sample pairs with judge texts, truncated', async () => {
    const { out } = await runCommand(registerShow, [
      'show',
      'run-a',
      '--root',
      fx.root,
      '--pairs',
      '2',
      '--max-chars',
      '60',
    ]);
    assert.match(out, /^run run-a \(self-reward\): finished/);
    assert.match(
      out,
      /2 rounds \(2 done\), 9 prompts, 27 candidates, 27 judgements, 6 pairs, 3 discards/,
    );
    for (let r = 0; r < ROUNDS; r++) assert.match(out, new RegExp(`\\nround ${r}  done  `));
    assert.match(out, /STAGE\s+KIND\s+STATUS\s+TIME\s+TRIES\s+COUNTS/);
    assert.match(out, /0\s+generate\s+done\s+\S+\s+1\s+prompts=3 candidates=9/);
    assert.match(out, /2\s+pair\s+done\s+\S+\s+1\s+pairs=2 discards=1/);
    assert.match(out, /discards tie 1/);
    assert.match(out, /sample pairs: 2 of 6/);
    assert.equal(out.match(/\npair pr_/g)?.length, 2);
    assert.ok(out.includes(`    user: ${promptText(0, 0)}`));
    assert.match(out, /chosen \(score 4; c_\w+, #2\):\n {4}answer 2 to prompt 0 of round 0\n/);
    assert.match(
      out,
      /judge self \(generate\): score 2\n {6}\| The answer is fine\.\n {6}\| Score: 2/,
    );
    // candidate 0 is ~930 characters long: cut at 60
    assert.match(out, /answer 0 to prompt 0 of round 0 x+… \[\+\d+ chars\]/);
  });

  test('--json is the overview; --pairs 0 shows none', async () => {
    const { out } = await runCommand(registerShow, [
      'show',
      'run-a',
      '--root',
      fx.root,
      '--json',
      '--pairs',
      '0',
    ]);
    const o = JSON.parse(out) as RunOverview;
    assert.equal(o.run.id, 'run-a');
    assert.equal(o.samplePairs.length, 0);
    assert.equal('pipelineYaml' in o.run, false);
  });

  test('format helpers', () => {
    assert.equal(truncate('abcdef', 3), 'abc… [+3 chars]');
    assert.equal(truncate('abc', 3), 'abc');
    assert.equal(formatMillis(450), '450ms');
    assert.equal(formatMillis(12_340), '12.3s');
    assert.equal(formatMillis(245_000), '4m 05s');
    assert.equal(formatMillis(7_380_000), '2h 03m');
  });
});
