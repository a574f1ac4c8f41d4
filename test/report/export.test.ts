import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerExport } from '../../src/cli/commands/export.js';
import { isPreferenceRow, parseScoreRow } from '../../src/engine/data/trl-rows.js';
import { isPipelineError } from '../../src/core/errors.js';
import {
  PAIRS_PER_ROUND,
  ROUNDS,
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

const parseJsonl = (s: string): Record<string, unknown>[] =>
  s
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('pipeline export', () => {
  test('--format trl: one conversational preference row per pair, on stdout', async () => {
    const { out, err } = await runCommand(registerExport, [
      'export',
      'run-a',
      '--root',
      fx.root,
      '--format',
      'trl',
    ]);
    assert.equal(err, '');
    assert.ok(out.endsWith('\n'));
    const rows = parseJsonl(out);
    assert.equal(rows.length, ROUNDS * PAIRS_PER_ROUND);
    rows.forEach((r, i) => {
      assert.deepEqual(Object.keys(r).sort(), ['chosen', 'prompt', 'rejected']);
      const parsed = parseScoreRow(r, `row ${i}`);
      assert.ok(isPreferenceRow(parsed));
    });
    assert.deepEqual(rows[0].prompt, [{ role: 'user', content: promptText(0, 0) }]);
    assert.deepEqual(rows[0].chosen, [
      { role: 'assistant', content: 'answer 2 to prompt 0 of round 0' },
    ]);
    assert.equal((rows[0].rejected as { role: string }[])[0].role, 'assistant');
    assert.match((rows[0].rejected as { content: string }[])[0].content, /^answer 0 to prompt 0/);
    // round order
    assert.deepEqual(rows[ROUNDS * PAIRS_PER_ROUND - 1].prompt, [
      { role: 'user', content: promptText(2, 1) },
    ]);
  });

  test('--format kto: two rows per pair, chosen true then rejected false', async () => {
    const { out } = await runCommand(registerExport, [
      'export',
      'run-a',
      '--root',
      fx.root,
      '--format',
      'kto',
      '--round',
      '1',
      '--ids',
    ]);
    const rows = parseJsonl(out);
    assert.equal(rows.length, 2 * PAIRS_PER_ROUND);
    assert.deepEqual(
      rows.map((r) => r.label),
      [true, false, true, false],
    );
    for (const r of rows) {
      assert.deepEqual(Object.keys(r).sort(), [
        'completion',
        'label',
        'pair_id',
        'prompt',
        'round',
      ]);
      assert.equal(r.round, 1);
      assert.match(String(r.pair_id), /^pr_/);
      const parsed = parseScoreRow({ prompt: r.prompt, completion: r.completion }, 'kto');
      assert.equal(isPreferenceRow(parsed), false);
    }
    assert.match((rows[0].completion as { content: string }[])[0].content, /^answer 2 /);
    assert.match((rows[1].completion as { content: string }[])[0].content, /^answer 0 /);
  });

  test('--out writes the file and says how many rows', async () => {
    const file = join(fx.dir, 'out', 'pairs.jsonl');
    const { out } = await runCommand(registerExport, [
      'export',
      'run-a',
      '--root',
      fx.root,
      '--format',
      'trl',
      '--out',
      file,
    ]);
    assert.match(out, /wrote 6 trl rows \(all rounds\) to /);
    assert.equal(parseJsonl(readFileSync(file, 'utf8')).length, ROUNDS * PAIRS_PER_ROUND);
  });

  test('a round without pairs exports nothing and warns; an unknown round fails', async () => {
    const { out, err } = await runCommand(registerExport, [
      'export',
      'run-b',
      '--root',
      fx.root,
      '--format',
      'trl',
      '--round',
      '1',
    ]);
    assert.equal(out, '');
    assert.match(err, /no pairs/);
    await assert.rejects(
      runCommand(registerExport, [
        'export',
        'run-a',
        '--root',
        fx.root,
        '--format',
        'trl',
        '--round',
        '9',
      ]),
      (e: unknown) =>
        isPipelineError(e) && e.code === 'E_REPORT_ROUND' && /0, 1, 2/.test(e.hint ?? ''),
    );
  });

  test('--format is required and checked', async () => {
    await assert.rejects(
      runCommand(registerExport, ['export', 'run-a', '--root', fx.root]),
      /format/,
    );
    await assert.rejects(
      runCommand(registerExport, ['export', 'run-a', '--root', fx.root, '--format', 'csv']),
      /trl, kto|Allowed choices/,
    );
  });
});
