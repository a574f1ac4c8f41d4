// The `pipeline report` page: one self-contained HTML file (inline CSS and inline SVG, no
// scripts, nothing fetched), so it can be mailed, archived next to the run, or opened offline.
// Every text that came from a run (prompts, answers, judge outputs, ids, paths) is escaped.

import type { RunStore } from '../store/run-store.js';
import { resumeNotes } from './resume-notes.js';
import { gateStopText } from '../store/gate-stops.js';
import { buildCharts, loadChartData, renderSvg, type Chart, type RunChartData } from './charts.js';
import { constitutionTexts, diffConstitutions, foldDiff, type ConstitutionText } from './diff.js';
import { driftTable, type DriftRow, type DriftTable } from './drift.js';
import {
  escapeHtml as esc,
  formatDelta,
  formatMillis,
  formatNumber,
  formatTimestamp,
  truncate,
} from './format.js';
import { JUDGE_SECTION } from './judge-charts.js';
import { runOverview, type RunOverview, type SamplePair } from './show.js';

/** Everything the report shows about one run, read in one go so the store can be closed. */
export interface ReportRun {
  overview: RunOverview;
  drift: DriftTable;
  chartData: RunChartData;
  constitutions: ConstitutionText[];
  pipelineYaml: string;
}

export function loadReportRun(store: RunStore, opts: { samplePairs?: number } = {}): ReportRun {
  return {
    overview: runOverview(store, { pairs: opts.samplePairs ?? 3 }),
    drift: driftTable(store.evalMetrics()),
    chartData: loadChartData(store),
    constitutions: constitutionTexts(store),
    pipelineYaml: store.getRun()?.pipelineYaml ?? '',
  };
}

export interface ReportOptions {
  /** E.g. "rlaif-pipeline 0.1.0", shown in the footer. */
  generator?: string;
  generatedAt?: Date;
  /** Characters of each answer shown in sample pairs (default 600). */
  maxChars?: number;
}

export interface RenderedReport {
  html: string;
  /** Every chart, with `svg` null where the data was absent (see its note). */
  charts: (Chart & { svg: string | null })[];
}

const CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin-top: 1.4rem; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: .6rem 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f5f5f7; font-weight: 600; }
td.num { text-align: right; white-space: nowrap; }
.reg { background: #fde2e1; color: #8a1c12; }
.delta { color: #666; font-size: .85em; display: block; }
.reg .delta { color: #8a1c12; }
.status-failed, .status-interrupted, .status-stopped { color: #b3261e; font-weight: 600; }
.status-done, .status-finished { color: #1b6e2a; }
figure { margin: 1.2rem 0; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
figcaption small { font-weight: normal; color: #666; display: block; }
.note { color: #666; font-style: italic; }
pre { background: #f7f7f9; border: 1px solid #e5e5ea; padding: .6rem; overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
pre.diff { white-space: pre; padding: 0; }
pre.diff span { display: block; padding: 0 .6rem; }
.add { background: #e6ffec; }
.del { background: #ffebe9; }
.skip { color: #888; background: #f0f0f3; }
.pair { border: 1px solid #e5e5ea; border-radius: 6px; padding: .4rem .8rem; margin: .8rem 0; }
.pair h4 { margin: .3rem 0; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: .8rem; }
.judge { font-size: .9em; }
footer { margin-top: 3rem; color: #888; font-size: .85em; }
`;

const statusCell = (s: string | null): string =>
  s === null ? '<td>-</td>' : `<td class="status-${esc(s)}">${esc(s)}</td>`;

function runSummary(r: ReportRun): string {
  const { run, counts, durationMs } = r.overview;
  const rows: [string, string][] = [
    ['run id', esc(run.id)],
    ['name', esc(run.name)],
    ['status', esc(run.status)],
    ['pipeline file', esc(run.pipelinePath)],
    ['seed', run.seed === null ? '-' : String(run.seed)],
    ['started', esc(formatTimestamp(run.createdAt))],
    ['finished', esc(formatTimestamp(run.finishedAt))],
    ['duration', esc(formatMillis(durationMs)) + (run.status === 'running' ? ' so far' : '')],
    ['rounds (done)', `${counts.rounds} (${counts.roundsDone})`],
    [
      'prompts / candidates / judgements',
      `${counts.prompts} / ${counts.candidates} / ${counts.judgements}`,
    ],
    ['pairs (discarded prompts)', `${counts.pairs} (${counts.pairDiscards})`],
    ['checkpoints', String(counts.checkpoints)],
  ];
  for (const g of r.overview.gateStops) rows.push(['stopped by gate', esc(gateStopText(g))]);
  for (const note of resumeNotes(r.overview)) rows.push(['resumed on purpose', esc(note)]);
  if (run.error)
    rows.push([
      'error',
      esc(run.error.message) +
        (run.error.hint ? `<br><small>hint: ${esc(run.error.hint)}</small>` : ''),
    ]);
  return `<table class="summary">${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>`;
}

function roundsTable(r: ReportRun): string {
  const rounds = r.overview.rounds;
  if (rounds.length === 0) return '<p class="note">No rounds recorded.</p>';
  const head =
    '<tr><th>round</th><th>status</th><th>duration</th><th>prompts</th><th>candidates</th><th>judgements</th><th>pairs</th><th>discards</th><th>train steps</th><th>stages</th></tr>';
  const body = rounds
    .map((rd) => {
      const discards = Object.entries(rd.discards)
        .map(([reason, n]) => `${esc(reason)}: ${n}`)
        .join('<br>');
      const stages = rd.stages
        .map(
          (s) =>
            `${s.stageIndex} ${esc(s.kind)} <span class="status-${esc(s.status)}">${esc(s.status)}</span> ${esc(formatMillis(s.durationMs))}` +
            (s.attempts > 1 ? ` (${s.attempts} attempts)` : '') +
            (s.error ? `: ${esc(s.error.message)}` : ''),
        )
        .join('<br>');
      return (
        `<tr><td class="num">${rd.round}</td>${statusCell(rd.status)}` +
        `<td class="num">${esc(formatMillis(rd.durationMs))}</td>` +
        `<td class="num">${rd.prompts}</td><td class="num">${rd.candidates}</td>` +
        `<td class="num">${rd.judgements}</td><td class="num">${rd.pairs}</td>` +
        `<td>${discards || '-'}</td><td class="num">${rd.trainSteps}</td><td>${stages || '-'}</td></tr>`
      );
    })
    .join('');
  return `<table>${head}${body}</table>`;
}

function driftCell(row: DriftRow | undefined): string {
  if (!row) return '<td class="num">-</td>';
  const reg = row.regressionVsRound0 || row.regressionVsPrevious;
  const deltas =
    row.round === 0 && row.previousRound === null
      ? ''
      : `<span class="delta">vs r0 ${esc(formatDelta(row.deltaVsRound0))}${row.regressionVsRound0 ? ' !' : ''}` +
        ` · vs prev ${esc(formatDelta(row.deltaVsPrevious))}${row.regressionVsPrevious ? ' !' : ''}</span>`;
  return `<td class="num${reg ? ' reg' : ''}">${esc(formatNumber(row.value))}${deltas}</td>`;
}

function driftHtml(t: DriftTable): string {
  if (t.rows.length === 0)
    return '<p class="note">No evaluate metrics stored (the pipeline has no evaluate stage, or it has not run yet).</p>';
  const cell = new Map(t.rows.map((r) => [`${r.metric}\0${r.round}`, r]));
  const head = `<tr><th>metric</th><th>better</th>${t.rounds.map((r) => `<th>round ${r}</th>`).join('')}</tr>`;
  const body = t.metrics
    .map((m) => {
      const any = t.rows.find((r) => r.metric === m)!;
      return (
        `<tr><th title="${esc(any.label)}">${esc(m)}</th><td>${esc(any.better)}</td>` +
        t.rounds.map((r) => driftCell(cell.get(`${m}\0${r}`))).join('') +
        '</tr>'
      );
    })
    .join('');
  const summary =
    t.regressions === 0
      ? 'No regressions.'
      : `${t.regressions} value${t.regressions === 1 ? '' : 's'} regressed (marked <span class="reg">&nbsp;!&nbsp;</span>) vs round 0 or the previous round.`;
  return `<p>${summary}</p><table class="drift">${head}${body}</table>`;
}

function chartFigure(c: Chart & { svg: string | null }): string {
  const caption = `<figcaption>${esc(c.title)}<small>${esc(c.description)}</small></figcaption>`;
  if (c.svg === null)
    return `<figure id="chart-${esc(c.id)}">${caption}<p class="note">Not shown: ${esc(c.note ?? 'no data')}.</p></figure>`;
  return `<figure id="chart-${esc(c.id)}">${caption}${c.svg}</figure>`;
}

function constitutionHtml(a: ReportRun, b: ReportRun): string {
  const diffs = diffConstitutions(a.constitutions, b.constitutions);
  const an = esc(a.overview.run.id);
  const bn = esc(b.overview.run.id);
  if (diffs.length === 0) return '<p class="note">Neither run stored a constitution text.</p>';
  return diffs
    .map((d) => {
      const name =
        d.oldPath === d.newPath
          ? esc(d.oldPath ?? '(no path)')
          : `${esc(d.oldPath ?? '(none)')} → ${esc(d.newPath ?? '(none)')}`;
      const head = `<h3>${name}</h3>`;
      if (d.identical)
        return `${head}<p>Identical in both runs (sha256 ${esc(d.oldHash ?? '')}).</p>`;
      const where =
        d.oldHash === null
          ? `only in ${bn}`
          : d.newHash === null
            ? `only in ${an}`
            : `${an} → ${bn}`;
      const stats = `<p>${where}: ${d.stats.added} line${d.stats.added === 1 ? '' : 's'} added, ${d.stats.removed} removed, ${d.stats.unchanged} unchanged.</p>`;
      const body = foldDiff(d.lines)
        .map((ch) =>
          ch.kind === 'skip'
            ? `<span class="skip">… ${ch.count} unchanged line${ch.count === 1 ? '' : 's'}</span>`
            : ch.lines
                .map(
                  (l) =>
                    `<span class="${l.op === '+' ? 'add' : l.op === '-' ? 'del' : 'ctx'}">${l.op} ${esc(l.text)}</span>`,
                )
                .join(''),
        )
        .join('');
      return `${head}${stats}<pre class="diff">${body}</pre>`;
    })
    .join('');
}

function pairHtml(p: SamplePair, maxChars: number): string {
  const prompt = p.prompt.map((m) => `${m.role}: ${m.content}`).join('\n');
  const side = (label: string, s: SamplePair['chosen'], score: number | null) => {
    const judges = s.judgements
      .map(
        (j) =>
          `<li>${esc(j.judgeId)} (${esc(j.mode)}${j.principleId ? `, ${esc(j.principleId)}` : ''}${j.shownAs ? `, as ${j.shownAs}` : ''}): ` +
          `score ${esc(formatNumber(j.score))}${j.verdict ? `, verdict ${esc(j.verdict)}` : ''}` +
          (j.parseError ? `, parse error: ${esc(j.parseError)}` : '') +
          (j.rawOutput ? `<pre>${esc(truncate(j.rawOutput, maxChars))}</pre>` : '') +
          '</li>',
      )
      .join('');
    return (
      `<div><h4>${label} (score ${esc(formatNumber(score))})</h4><pre>${esc(truncate(s.text, maxChars))}</pre>` +
      (judges ? `<ul class="judge">${judges}</ul>` : '') +
      '</div>'
    );
  };
  return (
    `<div class="pair"><h4>pair ${esc(p.pairId)} · round ${p.round} · ${esc(p.strategy)}</h4>` +
    `<pre>${esc(truncate(prompt, maxChars))}</pre>` +
    `<div class="cols">${side('chosen', p.chosen, p.chosenScore)}${side('rejected', p.rejected, p.rejectedScore)}</div></div>`
  );
}

/** Renders the report of one run, or of two side by side (with their constitution diff). */
export async function renderReportHtml(
  runs: readonly ReportRun[],
  opts: ReportOptions = {},
): Promise<RenderedReport> {
  if (runs.length === 0) throw new Error('renderReportHtml needs at least one run');
  const maxChars = opts.maxChars ?? 600;
  const ids = runs.map((r) => r.overview.run.id);
  const title = `Run report: ${ids.join(' vs ')}`;
  const charts: RenderedReport['charts'] = [];
  for (const c of buildCharts(runs.map((r) => r.chartData)))
    charts.push({ ...c, svg: c.spec ? await renderSvg(c.spec, `chart-${c.id}`) : null });

  const perRun = (heading: string, body: (r: ReportRun) => string): string =>
    runs.length === 1
      ? body(runs[0])
      : runs.map((r) => `<h3>${heading} ${esc(r.overview.run.id)}</h3>${body(r)}`).join('');

  const parts: string[] = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    // The page needs nothing from anywhere: the policy makes that a guarantee in the browser.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)}</title><style>${CSS}</style></head><body>`,
    `<h1>${esc(title)}</h1>`,
    `<p class="sub">${runs.map((r) => esc(r.overview.run.name)).join(' vs ')}</p>`,
    '<h2 id="summary">Summary</h2>',
    perRun('Run', runSummary),
    '<h2 id="rounds">Rounds</h2>',
    perRun('Run', roundsTable),
    '<h2 id="drift">Drift</h2>',
    '<p>Each evaluate metric per round, with its change vs round 0 (the initial policy) and vs the previous evaluated round. Red cells moved in the wrong direction for that metric.</p>',
    perRun('Run', (r) => driftHtml(r.drift)),
    '<h2 id="charts">Charts</h2>',
    ...charts.filter((c) => !JUDGE_SECTION.includes(c.id)).map(chartFigure),
    '<h2 id="judge">Judge</h2>',
    "<p>How far the judge can be trusted, round by round: agreement with the frozen anchor and between judges, drift and position bias, calibration against an independent reference, and the spread of each judge's scores.</p>",
    ...charts.filter((c) => JUDGE_SECTION.includes(c.id)).map(chartFigure),
  ];
  if (runs.length === 2) {
    parts.push('<h2 id="constitution">Constitution diff</h2>', constitutionHtml(runs[0], runs[1]));
  }
  parts.push(
    '<h2 id="pairs">Sample pairs</h2>',
    perRun('Run', (r) =>
      r.overview.samplePairs.length === 0
        ? '<p class="note">No preference pairs stored.</p>'
        : r.overview.samplePairs.map((p) => pairHtml(p, maxChars)).join(''),
    ),
    '<h2 id="pipeline">Pipeline file</h2>',
    perRun(
      'Run',
      (r) =>
        `<details><summary>${esc(r.overview.run.pipelinePath)} (sha256 ${esc(r.overview.run.pipelineHash.slice(0, 12))}…)</summary><pre>${esc(r.pipelineYaml)}</pre></details>`,
    ),
    `<footer>Generated${opts.generator ? ` by ${esc(opts.generator)}` : ''} at ${esc(formatTimestamp((opts.generatedAt ?? new Date()).toISOString()))}. Self-contained: no scripts, no external resources.</footer>`,
    '</body></html>',
    '',
  );
  return { html: parts.join('\n'), charts };
}
