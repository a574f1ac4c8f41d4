// The report's judge section: the calibration curve and the per-judge score histograms plot the
// rows worked out here by hand from what the evaluate stage stored (test/report/fixtures.ts and a
// small store written below), and the HTML page shows them under its "Judge" heading.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildCharts,
  loadChartData,
  renderSvg,
  type RunChartData,
} from '../../src/report/charts.js';
import { loadReportRun, renderReportHtml } from '../../src/report/html.js';
import {
  calibrationRows,
  judgeScoreRows,
  unitBin,
  JUDGE_SECTION,
} from '../../src/report/judge-charts.js';
import { openRun } from '../../src/report/open-run.js';
import { runDbPath } from '../../src/store/run-dirs.js';
import { openStore } from '../../src/store/run-store.js';
import { JUDGE_SCORES, makeRunsFolder, type Fixture } from './fixtures.js';

let fx: Fixture;
let dataA: RunChartData;
before(() => {
  fx = makeRunsFolder();
  const store = openRun(fx.root, 'run-a');
  dataA = loadChartData(store);
  store.close();
});
after(() => fx.cleanup());

/** A run whose only calibration pairs are the sandbox grader's (no self-judge watch). */
function graderOnlyRun(): RunChartData {
  const store = openStore(runDbPath(fx.root, 'run-grader'));
  try {
    store.createRun({ id: 'run-grader', name: 'g', pipelinePath: 'p.yaml', pipelineYaml: '' });
    store.upsertRound(1, { status: 'running' });
    store.putEvalMetric({
      round: 1,
      metric: 'candidate_judge_accuracy',
      value: 0.5,
      detail: {
        calibration: {
          judge: 'self+rules',
          reference: 'grader',
          // (0.95, 0.2) and (1, 0.6) share the top bin; a malformed pair is skipped
          pairs: [
            [0.05, 0],
            [0.95, 0.2],
            [1, 0.6],
            ['x', 1],
          ],
        },
      },
    });
    return loadChartData(store);
  } finally {
    store.close();
  }
}

describe('calibration curve', () => {
  test('bins the self-judge score in fifths and averages the anchor score per bin', () => {
    const rows = calibrationRows([dataA]);
    const at = (round: number) =>
      rows.filter((r) => r.round === round).map((r) => [r.bin, r.mean, r.count]);
    // round 0 pairs: (0.1, .25) (0.15, .75) -> bin 0; (0.5, .5) -> bin 2; (1, 1) -> bin 4
    assert.deepEqual(at(0), [
      [0, 0.5, 2],
      [2, 0.5, 1],
      [4, 1, 1],
    ]);
    assert.deepEqual(at(1), [
      [1, 0.25, 1],
      [4, 0.75, 1],
    ]);
    assert.deepEqual(at(2), [
      [2, 0.5, 1],
      [3, 0.75, 1],
    ]);
    // the anchor is the reference though candidate_judge_accuracy stored grader pairs too
    assert.deepEqual([...new Set(rows.map((r) => r.reference))], ["anchor judge 'anchor'"]);
    const r0 = rows.find((r) => r.round === 0 && r.bin === 2)!;
    assert.deepEqual([r0.lo, r0.mid, r0.hi, r0.judge], [0.4, 0.5, 0.6, 'self']);
  });

  test('without anchor pairs the sandbox grader is the reference', async () => {
    const rows = calibrationRows([graderOnlyRun()]);
    assert.deepEqual(
      rows.map((r) => [r.round, r.reference, r.judge, r.bin, r.mean, r.count]),
      [
        [1, 'sandbox grader', 'self+rules', 0, 0, 1],
        [1, 'sandbox grader', 'self+rules', 4, 0.4, 2],
      ],
    );
    const chart = buildCharts([graderOnlyRun()]).find((c) => c.id === 'calibration')!;
    assert.match(JSON.stringify(chart.spec), /mean sandbox grader score/);
    assert.match(await renderSvg(chart.spec!, 'c'), /<svg/);
  });

  test('x = 1 falls in the last bin, and nothing falls outside', () => {
    assert.deepEqual(
      [0, 0.19, 0.2, 0.99, 1, -0.1, 1.5].map((x) => unitBin(x, 5)),
      [0, 0, 1, 4, 4, 0, 4],
    );
  });
});

describe('score histograms per judge', () => {
  test("each judge's stored 0-1 scores in ten bins per round, empty bins as zero", () => {
    const rows = judgeScoreRows([dataA]);
    assert.deepEqual([...new Set(rows.map((r) => r.judge))], ['rules', 'self']);
    assert.equal(rows.length, 2 * 3 * 10);
    for (const judge of ['rules', 'self'])
      for (let round = 0; round < 3; round++) {
        const counts = rows
          .filter((r) => r.judge === judge && r.round === round)
          .map((r) => r.count);
        const expected = new Array<number>(10).fill(0);
        for (const s of JUDGE_SCORES[judge][round]) expected[Math.min(9, Math.floor(s * 10))]++;
        assert.deepEqual(counts, expected, `${judge} round ${round}`);
      }
    // self, round 0: 0.2 | 0.4 0.4 | 1 (1 falls in the last bin, 0.9-1.0)
    const self0 = rows.filter((r) => r.judge === 'self' && r.round === 0 && r.count);
    assert.deepEqual(
      self0.map((r) => [r.lo, r.hi, r.count]),
      [
        [0.2, 0.3, 1],
        [0.4, 0.5, 2],
        [0.9, 1, 1],
      ],
    );
  });

  test('two runs: one facet row per run and judge', () => {
    const chart = buildCharts([dataA, { ...dataA, runId: 'run-c' }]).find(
      (c) => c.id === 'judge-score-histograms',
    )!;
    assert.deepEqual(
      [...new Set(chart.values.map((v) => v.judge))],
      ['run-a: rules', 'run-a: self', 'run-c: rules', 'run-c: self'],
    );
  });

  test('no judge_score metric: a note, no spec', () => {
    const empty = buildCharts([{ runId: 'x', evalMetrics: [], trainSteps: [] }]);
    const chart = empty.find((c) => c.id === 'judge-score-histograms')!;
    assert.equal(chart.spec, null);
    assert.equal(chart.note, "no 'judge_score/*' metrics");
  });
});

describe('judge section of the HTML report', () => {
  test('the judge charts are drawn under the Judge heading, the others under Charts', async () => {
    const store = openRun(fx.root, 'run-a');
    const a = loadReportRun(store);
    store.close();
    const { html, charts } = await renderReportHtml([a]);
    const judge = html.indexOf('<h2 id="judge">Judge</h2>');
    const at = (id: string) => html.indexOf(`<figure id="chart-${id}">`);
    assert.ok(html.indexOf('<h2 id="charts">') < judge);
    for (const c of charts) {
      assert.ok(at(c.id) > 0, c.id);
      assert.equal(at(c.id) > judge, JUDGE_SECTION.includes(c.id), c.id);
    }
    for (const id of ['judge-watch', 'truth', 'calibration', 'judge-score-histograms'])
      assert.ok(charts.find((c) => c.id === id)!.svg?.startsWith('<svg'), id);
    assert.ok(html.indexOf('<h2 id="pairs">') > at('judge-score-histograms'));
    assert.equal(/<script/i.test(html), false);
  });
});
