// The run's event log as `pipeline show` tells it: the last lifecycle events, and every warning,
// gate and failure however long ago, each described in a line.

import type { PipelineEvent } from '../events.js';
import type { RunStore } from '../store/run-store.js';
import type { EventRow } from '../store/types.js';
import { formatMillis, formatNumber } from './format.js';

export interface LoggedEvent {
  id: number;
  at: string;
  round: number | null;
  stage: number | null;
  type: string;
  /** One line saying what happened. */
  text: string;
}

export interface EventLogSummary {
  /** How many events the run logged (0 for runs from before the event log). */
  total: number;
  /** The newest events, oldest first. */
  recent: LoggedEvent[];
  /** Every warning, gate and failed or gate-stopped end of the run, oldest first. */
  notable: LoggedEvent[];
}

const NOTABLE_TYPES = ['warning', 'gate', 'run-end'];

/** The event as the runner emitted it: columns and payload put back together. */
function asEvent(row: EventRow, runId: string): PipelineEvent {
  const data = (row.data ?? {}) as Record<string, unknown>;
  const where = { ...(row.round === null ? {} : { round: row.round }) };
  const stage = row.stageIndex === null ? {} : { stage: row.stageIndex };
  return { ...data, ...where, ...stage, type: row.type, time: row.at, runId } as PipelineEvent;
}

const countsText = (c: Record<string, number>): string =>
  Object.entries(c)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

const seconds = (s: number): string => formatMillis(s * 1000);

/** One line for an event; unknown types (a newer build's) print their payload. */
export function describeEvent(e: PipelineEvent): string {
  switch (e.type) {
    case 'run-start':
      return `run ${e.resumed ? 'resumed' : 'started'}: ${e.rounds} rounds of ${e.stages.join(', ')}`;
    case 'round-start':
      return `round ${e.round} started with ${e.policy}`;
    case 'stage-start':
      return `stage ${e.stage} ${e.kind} started (${e.total} prompts)`;
    case 'stage-end':
      return `stage ${e.stage} ${e.kind} ${e.status} in ${seconds(e.seconds)}  ${countsText(e.counts)}`.trimEnd();
    case 'pairs':
      return `pairs kept ${e.kept}, discarded ${countsText(e.discarded) || '0'}`;
    case 'eval-metric':
      return `metric ${e.metric} = ${formatNumber(e.value)}`;
    case 'gate':
      return `gate: ${e.metric} ${formatNumber(e.value)} ${e.op} ${formatNumber(e.threshold)} → ${e.action}`;
    case 'gate-stop':
      return `stopped by gate ${e.gate}: ${e.metric} ${e.op} ${formatNumber(e.threshold)} (value ${formatNumber(e.value)})`;
    case 'warning':
      return `warning: ${e.message}`;
    case 'round-end':
      return `round ${e.round} done in ${seconds(e.seconds)}`;
    case 'run-end':
      return `run ${e.status} after ${seconds(e.seconds)}${e.error ? `: ${e.error}` : ''}`;
    default: {
      const { type, time: _time, runId: _runId, ...rest } = e;
      return `${type} ${JSON.stringify(rest)}`;
    }
  }
}

function isNotable(e: PipelineEvent): boolean {
  if (e.type !== 'run-end') return true;
  return e.status === 'failed' || e.status === 'stopped-by-gate';
}

/** The event log of the store's run: its newest `last` events and every notable one. */
export function eventLog(store: RunStore, last: number): EventLogSummary {
  const logged = (rows: EventRow[]) =>
    rows.map((row) => ({ row, event: asEvent(row, store.runId) }));
  const describe = ({ row, event }: { row: EventRow; event: PipelineEvent }): LoggedEvent => ({
    id: row.id,
    at: row.at,
    round: row.round,
    stage: row.stageIndex,
    type: row.type,
    text: describeEvent(event),
  });
  return {
    total: store.countEvents(),
    recent: logged(store.listEvents({ last })).map(describe),
    notable: logged(store.listEvents({ types: NOTABLE_TYPES }))
      .filter((l) => isNotable(l.event))
      .map(describe),
  };
}
