import { agreementLine } from '../../audit/agreement.js';
import { Option, type Command } from 'commander';
import type { CliContext } from '../context.js';
import { intArg } from '../options.js';
import {
  formatMillis,
  formatNumber,
  formatTimestamp,
  textTable,
  truncate,
} from '../../report/format.js';
import type { LoggedEvent } from '../../report/event-log.js';
import { withRun } from '../../report/open-run.js';
import { resumeNotes } from '../../report/resume-notes.js';
import { gateStopText } from '../../store/gate-stops.js';
import {
  runOverview,
  type PairSide,
  type RunOverview,
  type SamplePair,
} from '../../report/show.js';

interface ShowFlags {
  root: string;
  pairs: number;
  round?: number;
  maxChars: number;
  events: number;
  json?: boolean;
}

const indent = (s: string, pad: string): string =>
  s
    .split('\n')
    .map((l) => pad + l)
    .join('\n');

const countsText = (c: Record<string, number> | null): string =>
  c === null
    ? '-'
    : Object.entries(c)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || '-';

function header(o: RunOverview): string {
  const { run, counts } = o;
  const lines = [
    `run ${run.id} (${run.name}): ${run.status}, started ${formatTimestamp(run.createdAt)}, ` +
      `${formatMillis(o.durationMs)}${run.status === 'running' ? ' so far' : ''}`,
    `pipeline ${run.pipelinePath}${run.seed === null ? '' : `, seed ${run.seed}`}; ` +
      `${counts.rounds} rounds (${counts.roundsDone} done), ${counts.prompts} prompts, ` +
      `${counts.candidates} candidates, ${counts.judgements} judgements, ${counts.pairs} pairs, ` +
      `${counts.pairDiscards} discards, ${counts.checkpoints} checkpoints`,
  ];
  for (const g of o.gateStops) lines.push(`stopped by gate: ${gateStopText(g)}`);
  for (const line of resumeNotes(o)) lines.push(line);
  for (const a of o.audit) {
    const todo = a.labelled < a.drawn ? ` (label with \`pipeline audit ${run.id}\`)` : '';
    lines.push(`audit round ${a.round}: ${agreementLine(a)}${todo}`);
  }
  if (run.error) {
    lines.push(`error: ${run.error.message}`);
    if (run.error.hint) lines.push(`hint: ${run.error.hint}`);
  }
  return lines.join('\n') + '\n';
}

function roundsText(o: RunOverview): string {
  let s = '';
  for (const r of o.rounds) {
    const discards = Object.entries(r.discards)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    s +=
      `\nround ${r.round}  ${r.status ?? 'unrecorded'}  ${formatMillis(r.durationMs)}  ` +
      `prompts ${r.prompts}  candidates ${r.candidates}  judgements ${r.judgements}  ` +
      `pairs ${r.pairs}  discards ${discards || '0'}` +
      (r.trainSteps ? `  train steps ${r.trainSteps}` : '') +
      (r.evalMetrics ? `  eval metrics ${r.evalMetrics}` : '') +
      '\n';
    if (r.stages.length === 0) {
      s += '  (no stages started)\n';
      continue;
    }
    s += indent(
      textTable(
        ['STAGE', 'KIND', 'STATUS', 'TIME', 'TRIES', 'COUNTS'],
        r.stages.map((st) => [
          String(st.stageIndex),
          st.kind,
          st.status,
          formatMillis(st.durationMs),
          String(st.attempts),
          countsText(st.counts) + (st.error ? `  error: ${st.error.message}` : ''),
        ]),
        ['right', 'left', 'left', 'right', 'right', 'left'],
      ).trimEnd(),
      '  ',
    );
    s += '\n';
  }
  return s;
}

function sideText(label: string, side: PairSide, score: number | null, maxChars: number): string {
  let s = `  ${label} (score ${formatNumber(score)}; ${side.candidateId}, #${side.idx}${side.origin === 'revision' ? ', revision' : ''}):\n`;
  s += indent(truncate(side.text, maxChars), '    ') + '\n';
  for (const j of side.judgements) {
    const what = [
      j.mode,
      j.principleId ? `principle ${j.principleId}` : null,
      j.shownAs ? `shown as ${j.shownAs}` : null,
      j.sampleIdx > 0 ? `sample ${j.sampleIdx}` : null,
    ]
      .filter(Boolean)
      .join(', ');
    const result = [
      j.score !== null ? `score ${formatNumber(j.score)}` : null,
      j.verdict ? `verdict ${j.verdict}` : null,
      j.parseError ? `parse error: ${j.parseError}` : null,
    ]
      .filter(Boolean)
      .join(', ');
    s += `    judge ${j.judgeId} (${what}): ${result || 'no result'}\n`;
    if (j.rawOutput) s += indent(truncate(j.rawOutput, maxChars), '      | ') + '\n';
  }
  return s;
}

function pairText(p: SamplePair, maxChars: number): string {
  let s = `\npair ${p.pairId}  round ${p.round}  ${p.strategy}`;
  if (p.softLabel !== null) s += `  soft label ${formatNumber(p.softLabel)}`;
  s += `\n  prompt (${p.promptId}):\n`;
  s +=
    indent(truncate(p.prompt.map((m) => `${m.role}: ${m.content}`).join('\n'), maxChars), '    ') +
    '\n';
  s += sideText('chosen', p.chosen, p.chosenScore, maxChars);
  s += sideText('rejected', p.rejected, p.rejectedScore, maxChars);
  return s;
}

function eventsText(o: RunOverview): string {
  const { total, recent, notable } = o.events;
  if (total === 0) return '\nevents: none logged\n';
  const line = (e: LoggedEvent) => `  ${formatTimestamp(e.at)}  ${e.text}\n`;
  let s = `\nevents: the last ${recent.length} of ${total}\n` + recent.map(line).join('');
  if (notable.length > 0)
    s += `\nwarnings, gates and stops: ${notable.length}\n` + notable.map(line).join('');
  return s;
}

export function registerShow(program: Command, ctx: CliContext): void {
  program
    .command('show')
    .description(
      'one run: stages per round (status, counts, timings) and sample pairs with their prompt, answers and judge outputs',
    )
    .argument('<run-id>', 'a run folder name under --root (see `pipeline runs`)')
    .option('--root <dir>', 'folder holding the run folders', 'runs')
    .addOption(
      new Option('--pairs <n>', 'sample pairs to show').argParser(intArg(0, 10_000)).default(3),
    )
    .addOption(new Option('--round <n>', 'take sample pairs from this round').argParser(intArg(0)))
    .addOption(
      new Option('--max-chars <n>', 'truncate texts to this many characters (0: never)')
        .argParser(intArg(0))
        .default(400),
    )
    .addOption(
      new Option('--events <n>', 'newest logged events to show').argParser(intArg(0)).default(10),
    )
    .option('--json', 'print the overview as one JSON object (texts untruncated)')
    .action(async (runId: string, f: ShowFlags) => {
      const o = await withRun(f.root, runId, (store) =>
        runOverview(store, { pairs: f.pairs, round: f.round, events: f.events }),
      );
      if (f.json) {
        ctx.out(JSON.stringify(o, null, 2) + '\n');
        return;
      }
      let s = header(o) + roundsText(o);
      if (f.pairs > 0) {
        const total = f.round === undefined ? o.counts.pairs : null;
        s +=
          `\nsample pairs: ${o.samplePairs.length}` +
          (total !== null ? ` of ${total}` : ` from round ${f.round}`) +
          '\n';
        for (const p of o.samplePairs) s += pairText(p, f.maxChars);
      }
      ctx.out(s + eventsText(o));
    });
}
