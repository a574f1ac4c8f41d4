// The view model of a run, folded from pipeline events by one pure reducer. The live view, the
// plain reporter and its summary all read this state, so rates, ETAs and warnings are computed
// once, here, and tested here. The reducer never mutates its input (unchanged parts are shared),
// and every list it keeps is bounded so a long run or an event flood costs O(1) per event.

import type { PipelineEvent, StageKind, StageStatus } from '../events.js';
import { oneLine } from './format.js';

/** Characters kept of a candidate or judgement for the one-line preview. */
export const PREVIEW_CHARS = 160;
/** Characters kept of the full text (shown in details mode). */
export const FULL_TEXT_CHARS = 4000;
/** Points kept per training series; beyond that, adjacent points are averaged (stride doubles). */
export const SERIES_MAX = 256;
/** Distinct warnings kept; the oldest are dropped (their occurrences stay in `warningCount`). */
export const WARNINGS_MAX = 50;
/** Progress samples kept per stage for the items/s rate, and their minimum spacing. */
export const RATE_SAMPLES = 30;
export const RATE_SAMPLE_MS = 500;

export type StageViewStatus = 'pending' | StageStatus;

export interface ProgressSample {
  /** Event time, ms since the epoch. */
  t: number;
  done: number;
}

export interface StageView {
  index: number;
  kind: StageKind;
  status: StageViewStatus;
  done: number;
  total: number;
  /** What `done` counts (prompts, candidates, steps...); '' until the first progress event. */
  unit: string;
  startedAt: number | null;
  /** Wall time from stage-end. */
  seconds: number | null;
  /** Items per second over the recent progress window (whole-stage average once ended). */
  rate: number | null;
  /** Seconds left at `rate`; null when unknown. */
  eta: number | null;
  counts: Record<string, number>;
  samples: readonly ProgressSample[];
}

/**
 * A bounded series: `points` each average `stride` raw values (non-finite ones skipped); the
 * values of an unfinished bucket wait in `pend*`. Use `seriesValues` to read it.
 */
export interface Series {
  points: readonly number[];
  stride: number;
  pendSum: number;
  /** Finite values in the pending bucket. */
  pendFinite: number;
  /** All values in the pending bucket. */
  pendCount: number;
  last: number | null;
  first: number | null;
}

export interface TrainView {
  step: number;
  totalSteps: number;
  loss: Series;
  margin: Series;
  accuracy: Series;
  gradNorm: number | null;
  learningRate: number | null;
  nonFiniteSteps: number;
}

export interface PairsView {
  kept: number;
  discarded: Record<string, number>;
  discardedTotal: number;
}

export type RoundStatus = 'pending' | 'running' | 'done' | 'stopped';

export interface RoundView {
  round: number;
  status: RoundStatus;
  policy: string | null;
  startedAt: number | null;
  seconds: number | null;
  checkpoint: string | null;
  stages: readonly StageView[];
  train: TrainView | null;
  pairs: PairsView | null;
  /** Eval metrics in arrival order. */
  metrics: Record<string, number>;
  candidates: number;
  judgements: number;
  parseFailures: number;
}

interface TextView {
  round: number;
  promptId: string;
  /** One line, at most PREVIEW_CHARS. */
  preview: string;
  /** At most FULL_TEXT_CHARS, original line breaks kept. */
  text: string;
  truncated: boolean;
}

export interface CandidateView extends TextView {
  index: number;
  tokens: number;
}

export interface JudgementView extends TextView {
  judge: string;
  score: number | null;
  verdict: string | null;
  parseError: string | null;
}

export type WarningKind = 'warning' | 'parse' | 'nan' | 'gate' | 'stage';

export interface WarningView {
  /** Occurrences with the same key are folded into one entry with a count. */
  key: string;
  kind: WarningKind;
  round: number | null;
  message: string;
  count: number;
  time: number;
}

/** A quality gate that fired: the `gate` event's fields. */
export type GateView = Omit<Extract<PipelineEvent, { type: 'gate' }>, 'type' | 'time' | 'runId'>;

export type RunStatus =
  'pending' | 'running' | 'finished' | 'interrupted' | 'failed' | 'stopped-by-gate';

export interface RunState {
  runId: string | null;
  name: string | null;
  dir: string | null;
  resumed: boolean;
  totalRounds: number;
  stageKinds: readonly StageKind[];
  status: RunStatus;
  startedAt: number | null;
  /** Time of the latest event: the run's own clock, so the state never reads Date.now(). */
  lastTime: number | null;
  /** From run-end. */
  seconds: number | null;
  error: string | null;
  currentRound: number | null;
  currentStage: number | null;
  /** Sorted by round number; round 0 (the initial policy's evaluation) may appear. */
  rounds: readonly RoundView[];
  latestCandidate: CandidateView | null;
  latestJudgement: JudgementView | null;
  /** Oldest first, most recently updated last. */
  warnings: readonly WarningView[];
  /** All warning occurrences, including folded and dropped ones. */
  warningCount: number;
  gates: readonly GateView[];
  eventCount: number;
}

export function initialRunState(): RunState {
  return {
    runId: null,
    name: null,
    dir: null,
    resumed: false,
    totalRounds: 0,
    stageKinds: [],
    status: 'pending',
    startedAt: null,
    lastTime: null,
    seconds: null,
    error: null,
    currentRound: null,
    currentStage: null,
    rounds: [],
    latestCandidate: null,
    latestJudgement: null,
    warnings: [],
    warningCount: 0,
    gates: [],
    eventCount: 0,
  };
}

export function emptySeries(): Series {
  return {
    points: [],
    stride: 1,
    pendSum: 0,
    pendFinite: 0,
    pendCount: 0,
    last: null,
    first: null,
  };
}

/** The series' points plus the mean of its unfinished bucket, for drawing. */
export function seriesValues(s: Series): number[] {
  const out = s.points.slice();
  if (s.pendCount > 0) out.push(s.pendFinite ? s.pendSum / s.pendFinite : NaN);
  return out;
}

export function appendSeries(s: Series, v: number): Series {
  const finite = Number.isFinite(v);
  let pendSum = s.pendSum + (finite ? v : 0);
  let pendFinite = s.pendFinite + (finite ? 1 : 0);
  let pendCount = s.pendCount + 1;
  let points = s.points;
  let stride = s.stride;
  if (pendCount === stride) {
    points = [...points, pendFinite ? pendSum / pendFinite : NaN];
    pendSum = 0;
    pendFinite = 0;
    pendCount = 0;
    if (points.length >= SERIES_MAX) {
      // Halve resolution instead of dropping old steps: the sparkline keeps the whole trend.
      const halved: number[] = [];
      for (let i = 0; i + 1 < points.length; i += 2)
        halved.push(meanFinite(points[i], points[i + 1]));
      points = halved;
      stride *= 2;
    }
  }
  return {
    points,
    stride,
    pendSum,
    pendFinite,
    pendCount,
    last: v,
    first: s.first ?? (finite ? v : null),
  };
}

function meanFinite(a: number, b: number): number {
  const fa = Number.isFinite(a);
  const fb = Number.isFinite(b);
  if (fa && fb) return (a + b) / 2;
  return fa ? a : fb ? b : NaN;
}

// ---- selectors ------------------------------------------------------------------------------

export function findRound(state: RunState, round: number | null): RoundView | null {
  if (round == null) return null;
  return state.rounds.find((r) => r.round === round) ?? null;
}

export function currentRoundView(state: RunState): RoundView | null {
  return findRound(state, state.currentRound);
}

export function currentStageView(state: RunState): StageView | null {
  const r = currentRoundView(state);
  if (!r || state.currentStage == null) return null;
  return r.stages[state.currentStage] ?? null;
}

/** Seconds since run-start: up to `nowMs` while running, up to the end (or last event) after. */
export function elapsedSeconds(state: RunState, nowMs?: number): number | null {
  if (state.startedAt == null) return null;
  if (state.status !== 'running' && state.seconds != null) return state.seconds;
  const end =
    state.status === 'running' && nowMs != null ? nowMs : (state.lastTime ?? state.startedAt);
  return Math.max(0, (end - state.startedAt) / 1000);
}

/** Pairs over all rounds. */
export function totalPairs(state: RunState): PairsView {
  const discarded: Record<string, number> = {};
  let kept = 0;
  let discardedTotal = 0;
  for (const r of state.rounds) {
    if (!r.pairs) continue;
    kept += r.pairs.kept;
    discardedTotal += r.pairs.discardedTotal;
    for (const [k, n] of Object.entries(r.pairs.discarded)) discarded[k] = (discarded[k] ?? 0) + n;
  }
  return { kept, discarded, discardedTotal };
}

/** The latest round that has eval metrics (the final metrics once the run ends). */
export function latestMetricsRound(state: RunState): RoundView | null {
  for (let i = state.rounds.length - 1; i >= 0; i--)
    if (Object.keys(state.rounds[i].metrics).length > 0) return state.rounds[i];
  return null;
}

/** Rounds finished so far. */
export function roundsDone(state: RunState): number {
  return state.rounds.filter((r) => r.status === 'done' && r.round > 0).length;
}

// ---- the reducer ----------------------------------------------------------------------------

export function reduceRunState(state: RunState, e: PipelineEvent): RunState {
  const parsed = Date.parse(e.time);
  const t = Number.isFinite(parsed) ? parsed : (state.lastTime ?? 0);
  const s: RunState = {
    ...state,
    lastTime: state.lastTime == null ? t : Math.max(state.lastTime, t),
    eventCount: state.eventCount + 1,
  };
  switch (e.type) {
    case 'run-start':
      // A resumed run in the same view starts afresh from the runner's replay.
      return {
        ...initialRunState(),
        runId: e.runId,
        name: e.name,
        dir: e.dir,
        resumed: e.resumed,
        totalRounds: e.rounds,
        stageKinds: e.stages.slice(),
        status: 'running',
        startedAt: t,
        lastTime: t,
        eventCount: s.eventCount,
      };

    case 'round-start':
      // Last round's candidate and judgement would read as this round's.
      return updateRound(
        {
          ...s,
          currentRound: e.round,
          currentStage: null,
          latestCandidate: null,
          latestJudgement: null,
        },
        e.round,
        (r) => ({
          ...r,
          status: 'running',
          policy: e.policy,
          startedAt: t,
          seconds: null,
        }),
      );

    case 'stage-start':
      return updateStage(
        { ...s, currentRound: e.round, currentStage: e.stage },
        e.round,
        e.stage,
        e.kind,
        (st) => ({
          ...st,
          kind: e.kind,
          status: 'running',
          done: 0,
          total: e.total,
          startedAt: t,
          seconds: null,
          rate: null,
          eta: null,
          counts: {},
          samples: [{ t, done: 0 }],
        }),
      );

    case 'stage-progress':
      return updateStage(s, e.round, e.stage, e.kind, (st) =>
        withProgress({ ...st, unit: e.unit || st.unit }, t, e.done, e.total),
      );

    case 'stage-end': {
      let next = updateStage(s, e.round, e.stage, e.kind, (st) => {
        const done = e.status === 'done' && st.total > 0 ? Math.max(st.done, st.total) : st.done;
        return {
          ...st,
          status: e.status,
          seconds: e.seconds,
          counts: { ...e.counts },
          done,
          rate: e.seconds > 0 && done > 0 ? done / e.seconds : st.rate,
          eta: null,
        };
      });
      if (e.status === 'failed')
        next = addWarning(next, {
          key: `stage:${e.round}:${e.stage}`,
          kind: 'stage',
          round: e.round,
          message: `round ${e.round} ${e.kind} failed after ${e.seconds.toFixed(1)}s`,
          time: t,
        });
      return next;
    }

    case 'candidate': {
      const full = clip(e.text);
      return updateRound(
        {
          ...s,
          latestCandidate: {
            round: e.round,
            promptId: e.promptId,
            index: e.index,
            tokens: e.tokens,
            preview: oneLine(e.text.slice(0, PREVIEW_CHARS * 4), PREVIEW_CHARS),
            text: full.text,
            truncated: full.truncated,
          },
        },
        e.round,
        (r) => ({ ...r, candidates: r.candidates + 1 }),
      );
    }

    case 'judgement': {
      const full = clip(e.text);
      let next = updateRound(
        {
          ...s,
          latestJudgement: {
            round: e.round,
            promptId: e.promptId,
            judge: e.judge,
            score: e.score ?? null,
            verdict: e.verdict ?? null,
            parseError: e.parseError ?? null,
            preview: oneLine(e.text.slice(0, PREVIEW_CHARS * 4), PREVIEW_CHARS),
            text: full.text,
            truncated: full.truncated,
          },
        },
        e.round,
        (r) => ({
          ...r,
          judgements: r.judgements + 1,
          parseFailures: r.parseFailures + (e.parseError != null ? 1 : 0),
        }),
      );
      if (e.parseError != null)
        // One entry per judge and round: a bad rubric fails hundreds of times the same way.
        next = addWarning(next, {
          key: `parse:${e.round}:${e.judge}`,
          kind: 'parse',
          round: e.round,
          message: `judge ${e.judge} could not parse an answer (${e.promptId}): ${oneLine(e.parseError, 120)}`,
          time: t,
        });
      return next;
    }

    case 'pairs': {
      const discarded = { ...e.discarded };
      const discardedTotal = Object.values(discarded).reduce((a, b) => a + b, 0);
      // A snapshot per round: the latest event replaces the previous one.
      return updateRound(s, e.round, (r) => ({
        ...r,
        pairs: { kept: e.kept, discarded, discardedTotal },
      }));
    }

    case 'train-step': {
      const nonFinite = ![e.loss, e.margin, e.gradNorm].every(Number.isFinite);
      let next = updateRound(s, e.round, (r) => {
        const tr = r.train ?? {
          step: 0,
          totalSteps: 0,
          loss: emptySeries(),
          margin: emptySeries(),
          accuracy: emptySeries(),
          gradNorm: null,
          learningRate: null,
          nonFiniteSteps: 0,
        };
        return {
          ...r,
          train: {
            step: e.step,
            totalSteps: e.totalSteps,
            loss: appendSeries(tr.loss, e.loss),
            margin: appendSeries(tr.margin, e.margin),
            accuracy: appendSeries(tr.accuracy, e.accuracy),
            gradNorm: e.gradNorm,
            learningRate: e.learningRate,
            nonFiniteSteps: tr.nonFiniteSteps + (nonFinite ? 1 : 0),
          },
        };
      });
      // Train steps double as the train stage's progress when the runner sends no
      // stage-progress for it; when it does, both carry the same numbers.
      const r = findRound(next, e.round);
      const idx = r ? lastRunningIndex(r, 'train') : -1;
      if (idx >= 0)
        next = updateStage(next, e.round, idx, 'train', (st) =>
          withProgress({ ...st, unit: st.unit || 'steps' }, t, e.step, e.totalSteps),
        );
      if (nonFinite)
        next = addWarning(next, {
          key: `nan:${e.round}`,
          kind: 'nan',
          round: e.round,
          message: `non-finite training values at step ${e.step} (loss ${e.loss}, margin ${e.margin}, grad norm ${e.gradNorm})`,
          time: t,
        });
      return next;
    }

    case 'eval-metric':
      return updateRound(s, e.round, (r) => ({
        ...r,
        metrics: { ...r.metrics, [e.metric]: e.value },
      }));

    case 'gate':
      return addWarning(
        {
          ...s,
          gates: [
            ...s.gates.slice(-(WARNINGS_MAX - 1)),
            {
              round: e.round,
              metric: e.metric,
              value: e.value,
              threshold: e.threshold,
              op: e.op,
              action: e.action,
            },
          ],
        },
        {
          key: `gate:${e.round}:${e.metric}`,
          kind: 'gate',
          round: e.round,
          message: `gate hit in round ${e.round}: ${e.metric} ${e.value} ${e.op} ${e.threshold} (${e.action})`,
          time: t,
        },
      );

    case 'warning':
      return addWarning(s, {
        key: `warning:${e.round ?? ''}:${e.message}`,
        kind: classifyWarning(e.message),
        round: e.round ?? null,
        message: e.message,
        time: t,
      });

    case 'round-end':
      return updateRound(s, e.round, (r) => ({
        ...r,
        status: 'done',
        seconds: e.seconds,
        checkpoint: e.checkpoint ?? r.checkpoint,
      }));

    case 'run-end': {
      // Stages and rounds the runner left open should stop looking alive.
      const stageStatus: StageStatus = e.status === 'failed' ? 'failed' : 'interrupted';
      const rounds = s.rounds.map((r) => {
        const open = r.status === 'running' || r.stages.some((st) => st.status === 'running');
        if (!open) return r;
        return {
          ...r,
          status: r.status === 'running' ? ('stopped' as const) : r.status,
          stages: r.stages.map((st) =>
            st.status === 'running' ? { ...st, status: stageStatus, eta: null } : st,
          ),
        };
      });
      return {
        ...s,
        rounds,
        status: e.status,
        seconds: e.seconds,
        error: e.error ?? null,
      };
    }

    default:
      return s;
  }
}

// ---- helpers --------------------------------------------------------------------------------

function clip(text: string): { text: string; truncated: boolean } {
  return text.length > FULL_TEXT_CHARS
    ? { text: text.slice(0, FULL_TEXT_CHARS - 1) + '…', truncated: true }
    : { text, truncated: false };
}

function classifyWarning(message: string): WarningKind {
  if (/\bnan\b|non-finite|not finite|\binf(inity)?\b/i.test(message)) return 'nan';
  if (/pars(e|ing)|unparseable/i.test(message)) return 'parse';
  if (/\bgate\b/i.test(message)) return 'gate';
  return 'warning';
}

function addWarning(s: RunState, w: Omit<WarningView, 'count'>): RunState {
  const i = s.warnings.findIndex((x) => x.key === w.key);
  const count = i >= 0 ? s.warnings[i].count + 1 : 1;
  const rest = i >= 0 ? [...s.warnings.slice(0, i), ...s.warnings.slice(i + 1)] : s.warnings;
  const warnings = [...rest, { ...w, count }];
  return {
    ...s,
    warnings: warnings.length > WARNINGS_MAX ? warnings.slice(-WARNINGS_MAX) : warnings,
    warningCount: s.warningCount + 1,
  };
}

function newRound(round: number, kinds: readonly StageKind[]): RoundView {
  return {
    round,
    status: 'pending',
    policy: null,
    startedAt: null,
    seconds: null,
    checkpoint: null,
    stages: kinds.map((kind, index) => newStage(index, kind)),
    train: null,
    pairs: null,
    metrics: {},
    candidates: 0,
    judgements: 0,
    parseFailures: 0,
  };
}

function newStage(index: number, kind: StageKind): StageView {
  return {
    index,
    kind,
    status: 'pending',
    done: 0,
    total: 0,
    unit: '',
    startedAt: null,
    seconds: null,
    rate: null,
    eta: null,
    counts: {},
    samples: [],
  };
}

function updateRound(s: RunState, round: number, f: (r: RoundView) => RoundView): RunState {
  const i = s.rounds.findIndex((r) => r.round === round);
  if (i >= 0) {
    const rounds = s.rounds.slice();
    rounds[i] = f(rounds[i]);
    return { ...s, rounds };
  }
  const rounds = [...s.rounds, f(newRound(round, s.stageKinds))].sort((a, b) => a.round - b.round);
  return { ...s, rounds };
}

function updateStage(
  s: RunState,
  round: number,
  index: number,
  kind: StageKind,
  f: (st: StageView) => StageView,
): RunState {
  return updateRound(s, round, (r) => {
    const stages = r.stages.slice();
    // Stages the run-start list did not announce still get a row.
    for (let i = stages.length; i <= index; i++)
      stages.push(newStage(i, i === index ? kind : (s.stageKinds[i] ?? kind)));
    stages[index] = f(stages[index]);
    return { ...r, stages };
  });
}

function lastRunningIndex(r: RoundView, kind: StageKind): number {
  for (let i = r.stages.length - 1; i >= 0; i--)
    if (r.stages[i].kind === kind && r.stages[i].status === 'running') return i;
  return -1;
}

function withProgress(st: StageView, t: number, done: number, total: number): StageView {
  let samples = st.samples;
  const prev = samples[samples.length - 1];
  if (prev && done < prev.done) samples = []; // the count restarted (a retried batch)
  const beforeLast = samples[samples.length - 2];
  // Keep samples at least RATE_SAMPLE_MS apart: a flood of events only moves the newest one.
  if (samples.length >= 2 && t - beforeLast.t < RATE_SAMPLE_MS)
    samples = [...samples.slice(0, -1), { t, done }];
  else samples = [...samples.slice(-(RATE_SAMPLES - 1)), { t, done }];

  const first = samples[0];
  const last = samples[samples.length - 1];
  const dt = (last.t - first.t) / 1000;
  const rate = dt > 0 && last.done > first.done ? (last.done - first.done) / dt : st.rate;
  const left = Math.max(0, total - done);
  const eta = total > 0 && left === 0 ? 0 : rate && rate > 0 && total > 0 ? left / rate : null;
  return { ...st, done, total, samples, rate, eta };
}
