import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerReport } from '../../src/cli/commands/report.js';
import {
  buildCharts,
  lengthRows,
  loadChartData,
  renderSvg,
  scoreHistogramRows,
  trainMetricRows,
  type RunChartData,
} from '../../src/report/charts.js';
import { diffConstitutions, foldDiff, lineDiff } from '../../src/report/diff.js';
import { escapeHtml } from '../../src/report/format.js';
import { loadReportRun, renderReportHtml } from '../../src/report/html.js';
import { openRun } from '../../src/report/open-run.js';
import {
  CONSTITUTION_A,
  CONSTITUTION_B,
  HISTOGRAMS,
  LENGTHS,
  ROUNDS,
  STEPS_PER_ROUND,
  makeRunsFolder,
  runCommand,
  type Fixture,
} from './fixtures.js';

let fx: Fixture;
let dataA: RunChartData;
before(() => {
  fx = makeRunsFolder();
  const store = openRun(fx.root, 'run-a');
  dataA = loadChartData(store);
  store.close();
});
after(() => fx.cleanup());

const count = (s: string, what: string) => s.split(what).length - 1;

describe('chart data', () => {
  test('score histograms, lengths and train metrics are the stored numbers', () => {
    const h = scoreHistogramRows([dataA]);
    for (let r = 0; r < ROUNDS; r++) {
      const rows = h.filter((x) => x.round === r);
      // the 1..5 scale is filled with zero bins
      assert.deepEqual(
        rows.map((x) => x.score),
        [1, 2, 3, 4, 5],
      );
      for (const x of rows) assert.equal(x.count, HISTOGRAMS[r][String(x.score)] ?? 0);
    }
    const l = lengthRows([dataA]);
    assert.deepEqual(
      l.filter((x) => x.round === 1).map((x) => x.length),
      LENGTHS[1],
    );
    const m = trainMetricRows([dataA], 'rewards/margins');
    assert.equal(m.length, ROUNDS * STEPS_PER_ROUND);
    assert.deepEqual(
      m.map((x) => x.globalStep),
      Array.from({ length: ROUNDS * STEPS_PER_ROUND }, (_, i) => i + 1),
    );
    const stored = dataA.trainSteps.find((s) => s.round === 1 && s.step === 2)!;
    assert.equal(
      m.find((x) => x.round === 1 && x.step === 2)!.value,
      stored.metrics['rewards/margins'],
    );
  });

  test('every chart has data in the full run; absent data gives a note instead of a spec', () => {
    const full = buildCharts([dataA]);
    assert.deepEqual(
      full.map((c) => c.id),
      [
        'judge-scores',
        'lengths',
        'reward-margins',
        'reward-accuracies',
        'loss',
        'rl-reward',
        'rl-kl',
        'ppo-value-loss',
        'ppo-explained-variance',
        'win-rate',
        'violations',
        'judge-rates',
        'judge-watch',
        'truth',
        'calibration',
        'judge-score-histograms',
        'audit',
        'meta-judge',
      ],
    );
    // a DPO run has no rl stage: its RL charts are notes
    const rl = ['rl-reward', 'rl-kl', 'ppo-value-loss', 'ppo-explained-variance'];
    assert.ok(full.every((c) => rl.includes(c.id) || (c.spec !== null && c.note === null)));
    assert.ok(full.filter((c) => rl.includes(c.id)).every((c) => c.spec === null && c.note));
    // the audit: what the human said of the drawn pairs, per round
    assert.deepEqual(
      full
        .find((c) => c.id === 'audit')!
        .values.filter((v) => v.round === 1)
        .map((v) => [v.verdict, v.count]),
      [
        ['agrees with the judge', 1],
        ['prefers the rejected answer', 1],
        ['tie', 1],
        ['skipped', 1],
        ['not labelled yet', 0],
      ],
    );
    assert.equal(
      full
        .find((c) => c.id === 'audit')!
        .values.filter((v) => v.round === 2 && v.verdict === 'not labelled yet')[0].count,
      1,
    );
    // judged scores on 0-1 by the stored [1, 5] scale, beside the true ones
    const truth = full.find((c) => c.id === 'truth')!;
    assert.deepEqual(
      truth.values.filter((v) => v.round === 2).map((v) => [v.series, v.value]),
      [
        ['judged score (anchor, 0-1)', (3.25 - 1) / 4],
        ['true score (grader)', 0.6],
      ],
    );
    const violations = full.find((c) => c.id === 'violations')!;
    assert.deepEqual([...new Set(violations.values.map((v) => v.series))], ['harm', 'honesty']);
    const empty = buildCharts([{ runId: 'x', evalMetrics: [], trainSteps: [] }]);
    assert.ok(empty.every((c) => c.spec === null && c.values.length === 0 && c.note));
  });

  test('fractional judge scores are binned rather than drawn one bar per value', async () => {
    const hist = { '2.25': 1, '3.5': 2, '3.75': 1, '4.1': 3 };
    const data: RunChartData = {
      runId: 'x',
      evalMetrics: [
        {
          runId: 'x',
          round: 0,
          metric: 'mean_score',
          stageIndex: null,
          value: 3.5,
          detail: { histogram: hist, scale: [1, 5] },
          createdAt: '',
        },
      ],
      trainSteps: [],
    };
    // no zero-filled integer bins mixed in
    assert.deepEqual(
      scoreHistogramRows([data]).map((r) => r.score),
      [2.25, 3.5, 3.75, 4.1],
    );
    const [chart] = buildCharts([data]);
    assert.match(JSON.stringify(chart.spec), /"bin"/);
    assert.match(await renderSvg(chart.spec!, 'h'), /<svg/);
  });

  test('data text drawn into an SVG (principle ids, run ids) is escaped by the renderer', async () => {
    const metric = (round: number) => ({
      runId: '<i>run</i>',
      round,
      metric: 'violation/<b>harm</b>',
      stageIndex: null,
      value: 0.1 * round,
      detail: null,
      createdAt: '',
    });
    const [chart] = buildCharts([
      { runId: '<i>run</i>', evalMetrics: [metric(0), metric(1)], trainSteps: [] },
    ]).filter((c) => c.id === 'violations');
    const svg = await renderSvg(chart.spec!, 'v');
    assert.ok(svg.includes('&lt;b&gt;harm&lt;/b&gt;'));
    assert.equal(/<b>|<i>/.test(svg), false);
  });
});

describe('constitution diff', () => {
  test('lineDiff finds the edited, added and removed lines', () => {
    const d = lineDiff(CONSTITUTION_A, CONSTITUTION_B);
    assert.deepEqual(
      d.map((l) => `${l.op}${l.text}`),
      [' Be helpful.', '-Be harmless.', '+Be harmless and kind.', ' Be honest.', '+Cite sources.'],
    );
    assert.deepEqual(
      lineDiff('a\nb\n', 'a\nb\n').map((l) => l.op),
      [' ', ' '],
    );
    assert.deepEqual(
      lineDiff('', 'x').map((l) => l.op),
      ['+'],
    );
    assert.deepEqual(
      lineDiff('x\r\ny', 'x\ny').map((l) => l.op),
      [' ', ' '],
    );
    const long = Array.from({ length: 30 }, (_, i) => `line ${i}`);
    const edited = [...long];
    edited[15] = 'changed';
    const chunks = foldDiff(lineDiff(long.join('\n'), edited.join('\n')), 2);
    assert.deepEqual(
      chunks.map((c) => (c.kind === 'skip' ? c.count : c.lines.length)),
      [13, 6, 12],
    );
  });

  test('constitutions are matched by path, and identical texts are said to be identical', () => {
    const a = [{ hash: 'h1', path: 'c/hh.md', content: 'x\n' }];
    const b = [
      { hash: 'h2', path: 'c/hh.md', content: 'y\n' },
      { hash: 'h3', path: 'c/new.md', content: 'z\n' },
    ];
    const d = diffConstitutions(a, b);
    assert.deepEqual(
      d.map((x) => [x.oldPath, x.newPath, x.stats.added, x.stats.removed]),
      [
        ['c/hh.md', 'c/hh.md', 1, 1],
        [null, 'c/new.md', 1, 0],
      ],
    );
    assert.equal(diffConstitutions(a, a)[0].identical, true);
  });
});

describe('pipeline report', () => {
  test('one self-contained HTML file: one <svg per chart, no scripts, escaped texts', async () => {
    const file = join(fx.dir, 'reports', 'a.html');
    const { out } = await runCommand(registerReport, [
      'report',
      'run-a',
      '--root',
      fx.root,
      '--out',
      file,
    ]);
    assert.match(
      out,
      /wrote .*a\.html \(14 charts; omitted for lack of data: rl-reward, rl-kl, ppo-value-loss, ppo-explained-variance\)/,
    );
    const html = readFileSync(file, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.equal(count(html, '<svg'), 14);
    assert.equal(count(html, '</svg>'), 14);
    assert.equal(/<script/i.test(html), false);
    assert.equal(/<link|\bsrc=|url\(\s*['"]?https?:|@import/i.test(html), false);
    // the prompt's markup is shown as text, never as markup
    assert.ok(html.includes('Explain &lt;b&gt;bold&lt;/b&gt; text, round 0'));
    assert.equal(html.includes('<b>bold</b>'), false);
    assert.ok(html.includes('# &lt;script&gt;alert(1)&lt;/script&gt;'));
    // clip-path ids are unique across the inlined charts
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(new Set(ids).size, ids.length);
    // the drift table marks regressions
    assert.match(html, /class="num reg">0\.200/);
    assert.equal(html.includes('Constitution diff'), false);
  });

  test('absent charts are omitted with a note', async () => {
    const store = openRun(fx.root, 'run-b');
    const b = loadReportRun(store);
    store.close();
    const { html, charts } = await renderReportHtml([b]);
    const drawn = charts.filter((c) => c.svg !== null).map((c) => c.id);
    assert.deepEqual(drawn, ['win-rate']);
    assert.equal(count(html, '<svg'), 1);
    assert.equal(count(html, 'Not shown: '), charts.length - 1);
    assert.ok(
      html.includes(escapeHtml("Not shown: no 'mean_score' metric with detail.histogram.")),
    );
  });

  test('two runs: charts of both and the constitution diff', async () => {
    const file = join(fx.dir, 'reports', 'ab.html');
    const { out } = await runCommand(registerReport, [
      'report',
      'run-a',
      'run-b',
      '--root',
      fx.root,
      '--out',
      file,
    ]);
    assert.match(
      out,
      /\(14 charts; omitted for lack of data: rl-reward, rl-kl, ppo-value-loss, ppo-explained-variance\)/,
    );
    const html = readFileSync(file, 'utf8');
    assert.match(html, /<title>Run report: run-a vs run-b<\/title>/);
    assert.equal(count(html, '<svg'), 14);
    assert.equal(/<script/i.test(html), false);
    assert.match(html, /<h2 id="constitution">Constitution diff<\/h2>/);
    assert.match(html, /run-a → run-b: 2 lines added, 1 removed, 2 unchanged/);
    assert.ok(html.includes('<span class="del">- Be harmless.</span>'));
    assert.ok(html.includes('<span class="add">+ Be harmless and kind.</span>'));
  });
});
