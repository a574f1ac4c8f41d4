import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDrift, registerDrift } from '../../src/cli/commands/drift.js';
import { isPipelineError } from '../../src/core/errors.js';
import { metricInfo } from '../../src/spec/eval-metrics.js';
import { driftTable, isRegression, type DriftTable } from '../../src/report/drift.js';
import { openRun } from '../../src/report/open-run.js';
import { stdoutWantsColor } from '../../src/report/format.js';
import type { EvalMetricRow } from '../../src/store/types.js';
import { METRICS, ROUNDS, makeRunsFolder, runCommand, type Fixture } from './fixtures.js';

let fx: Fixture;
let stored: EvalMetricRow[];
before(() => {
  fx = makeRunsFolder();
  const store = openRun(fx.root, 'run-a');
  stored = store.evalMetrics();
  store.close();
});
after(() => fx.cleanup());

const value = (metric: string, round: number): number | null =>
  stored.find((m) => m.metric === metric && m.round === round)?.value ?? null;

describe('drift table', () => {
  test('values and changes equal what the store holds, vs round 0 and vs the previous round', () => {
    const t = driftTable(stored);
    assert.equal(t.runId, 'run-a');
    assert.deepEqual(t.rounds, [0, 1, 2]);
    assert.equal(t.rows.length, Object.keys(METRICS).length * ROUNDS);
    // known metrics in their declared order, then violation rates, then the rest (per judge)
    assert.deepEqual(t.metrics.slice(0, 2), ['mean_score', 'win_rate']);
    assert.deepEqual(t.metrics.slice(-4), [
      'violation/harm',
      'violation/honesty',
      'judge_score/rules',
      'judge_score/self',
    ]);
    for (const row of t.rows) {
      const v = value(row.metric, row.round);
      assert.equal(row.value, v, `${row.metric} r${row.round}`);
      assert.equal(row.round0, value(row.metric, 0));
      if (v !== null && row.round0 !== null) assert.equal(row.deltaVsRound0, v - row.round0);
      assert.equal(row.better, metricInfo(row.metric).better);
      if (row.round === 0) {
        assert.equal(row.previousRound, null);
        assert.equal(row.deltaVsPrevious, null);
      } else if (v !== null && Number.isFinite(METRICS[row.metric][row.round - 1])) {
        // (a round missing a metric, or following one that does: the next test)
        assert.equal(row.previousRound, row.round - 1);
        assert.equal(row.deltaVsPrevious, v! - value(row.metric, row.round - 1)!);
      }
    }
  });

  test('a NaN round has no change and the next round compares with the last real value', () => {
    const t = driftTable(stored);
    const ja = (r: number) => t.rows.find((x) => x.metric === 'judge_agreement' && x.round === r)!;
    assert.equal(ja(1).value, null);
    assert.equal(ja(1).deltaVsRound0, null);
    assert.equal(ja(1).regressionVsRound0, false);
    assert.equal(ja(2).previousRound, 0);
    assert.equal(ja(2).deltaVsPrevious, 0.7 - 0.8);
    assert.equal(ja(2).regressionVsPrevious, true);
  });

  test('regressions follow the better direction of each metric', () => {
    const t = driftTable(stored);
    const row = (m: string, r: number) => t.rows.find((x) => x.metric === m && x.round === r)!;
    // higher is better: 3 -> 3.5 -> 3.25 regresses vs the previous round only
    assert.equal(row('mean_score', 1).regressionVsPrevious, false);
    assert.equal(row('mean_score', 2).regressionVsPrevious, true);
    assert.equal(row('mean_score', 2).regressionVsRound0, false);
    // lower is better: 0.1 -> 0.2 regresses on both; 0.05 improves on both
    assert.equal(row('refusal_rate', 1).regressionVsRound0, true);
    assert.equal(row('refusal_rate', 1).regressionVsPrevious, true);
    assert.equal(row('refusal_rate', 2).regressionVsRound0, false);
    assert.equal(row('violation/harm', 2).regressionVsPrevious, true);
    assert.equal(row('violation/harm', 2).regressionVsRound0, false);
    // 'none': a change is never a regression
    assert.ok(t.rows.filter((x) => x.metric === 'mean_length').every((x) => !x.regressionVsRound0));
    const expected = t.rows.filter((x) => x.regressionVsRound0 || x.regressionVsPrevious).length;
    assert.equal(t.regressions, expected);
    assert.ok(expected >= 5);
    assert.equal(isRegression('higher', -1e-15), false);
    assert.equal(isRegression('lower', null), false);
  });

  test('no metrics: an empty table', () => {
    const t = driftTable([]);
    assert.deepEqual(t.rows, []);
    assert.match(formatDrift(t, { color: false }), /no evaluate metrics/);
  });
});

describe('pipeline drift', () => {
  test('--json prints the table computed from the store', async () => {
    const { out } = await runCommand(registerDrift, [
      'drift',
      'run-a',
      '--root',
      fx.root,
      '--json',
    ]);
    const t = JSON.parse(out) as DriftTable;
    assert.deepEqual(t, JSON.parse(JSON.stringify(driftTable(stored))));
  });

  test('text marks regressions with ! and uses colour only when asked', async () => {
    const { out } = await runCommand(registerDrift, ['drift', 'run-a', '--root', fx.root]);
    assert.equal(out.includes('\u001b['), false, 'no ANSI codes when stdout is not a TTY');
    assert.match(out, /round 2\n/);
    const line = out
      .split('\n')
      .find((l) => l.trim().startsWith('refusal_rate') && l.includes('0.200'));
    assert.ok(line, out);
    assert.match(line, /\+0\.100 !.*\+0\.100 !/);
    const mean2 = out
      .split('round 2')[1]
      .split('\n')
      .find((l) => l.trim().startsWith('mean_score'))!;
    assert.match(mean2, /3\.250\s+\+0\.250\s+-0\.250 !/);
    assert.match(out, /judge_agreement.*-0\.100 ! \(r0\)/);

    const colored = formatDrift(driftTable(stored), { color: true });
    assert.ok(colored.includes('\u001b[31m'), colored);
    assert.match(
      colored.replaceAll('\u001b[31m', '<').replaceAll('\u001b[0m', '>'),
      /<\s*\+0\.100 !>/,
    );
    assert.equal(formatDrift(driftTable(stored), { color: false }).includes('\u001b'), false);
  });

  test('colour needs a TTY and no NO_COLOR', () => {
    assert.equal(stdoutWantsColor({ isTTY: true }, {}), true);
    assert.equal(stdoutWantsColor({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(stdoutWantsColor({ isTTY: false }, {}), false);
    assert.equal(stdoutWantsColor({}, {}), false);
  });

  test('an unknown run id fails with the runs that exist in the hint', async () => {
    await assert.rejects(
      runCommand(registerDrift, ['drift', 'nope', '--root', fx.root]),
      (e: unknown) =>
        isPipelineError(e) && e.code === 'E_REPORT_NO_RUN' && /run-a, run-b/.test(e.hint ?? ''),
    );
  });
});
