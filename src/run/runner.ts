import { resolve } from 'node:path';
import type { EventSink, PipelineEvent } from '../events.js';
import type { JudgeStageSpec } from '../spec/schema.js';
import { RunContext } from '../stages/context.js';
import { EnginePool } from '../stages/engine-pool.js';
import { resolveJudge } from '../stages/judge-setup.js';
import { insecureKeyWarnings } from '../spec/validate/secrets.js';
import { openStore, type RunStore } from '../store/run-store.js';
import type { GateStopRow } from '../store/types.js';
import { loggingSink } from './event-log.js';
import { beginRun, locateRun } from './open-run.js';
import { policyAt, startPolicy } from './policy.js';
import { replayStoredResults } from './replay.js';
import { loadPromptSource, roundPrompts, type PromptSource } from './round-prompts.js';
import { acquireRunLock, type RunLock } from './run-lock.js';
import { assertResumeFlags } from './resume-checks.js';
import { runStage, type StageOutcome } from './run-stage.js';
import { validateWithTemplates } from './validate.js';
import { storedVerdict } from './verdict.js';

export interface RunOptions {
  file: string;
  /** Folder holding run folders (default `runs` in the current directory). */
  root?: string;
  /** Continue this run id instead of starting a new one. */
  resume?: string;
  /** Folders outside the pipeline's and the project's that referenced files may lie in. */
  allowPaths?: readonly string[];
  /** On resume: pinned input files whose new content to accept (recorded in the run). */
  acceptChanged?: readonly string[];
  /** On resume: redo round N's training and every later round (see from-round.ts). */
  fromRound?: number;
  sink?: EventSink;
  signal?: AbortSignal;
}

export interface RunOutcome {
  runId: string;
  runDir: string;
  status: 'finished' | 'interrupted' | 'failed' | 'stopped-by-gate' | 'awaiting-audit';
  /** The stop gates that fired (status 'stopped-by-gate'). */
  gateStops: GateStopRow[];
}

type Status = RunOutcome['status'];

/**
 * Rounds × stages. Round 0 evaluates the initial model; round r generates with M_{r-1}, judges,
 * pairs, trains M_r and evaluates it. Every stage's status and every unit of work is in the run's
 * database, so `resume` skips finished stages and, inside a stage, finished units.
 */
export async function runPipeline(opts: RunOptions): Promise<RunOutcome> {
  assertResumeFlags(opts);
  const { spec, baseDir, yaml } = validateWithTemplates(opts.file, opts.allowPaths);
  const { runId, runDir, dbPath } = locateRun(spec.name, resolve(opts.root ?? 'runs'), opts.resume);
  const outer = opts.sink ?? (() => {});
  const lock = acquireRunLock(runDir, (message) =>
    outer({ type: 'warning', message, time: new Date().toISOString(), runId }),
  );
  const store = openStoreOrRelease(dbPath, lock);
  const signal = opts.signal ?? new AbortController().signal;
  const sink = loggingSink(store, outer);
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const engines = new EnginePool(runId, (m, served) => {
    if (m.checkpointId)
      store.recordServedModel({
        checkpointId: m.checkpointId,
        baseUrl: served.base_url,
        model: served.model,
        adapter: served.adapter,
      });
  });
  let ctx: RunContext | undefined;
  // a resume refused by its start checks leaves the run's stored status as it was
  let begun = false;
  try {
    beginRun(store, {
      ...{ id: runId, file: opts.file, yaml, spec, baseDir, runDir, resume: !!opts.resume },
      ...{ acceptChanged: opts.acceptChanged, fromRound: opts.fromRound },
    });
    begun = true;
    const emit = (e: PipelineEvent) => sink(e);
    ctx = new RunContext(spec, baseDir, runId, runDir, store, engines, emit, signal);
    startPolicy(ctx);
    ctx.emit({
      type: 'run-start',
      name: spec.name,
      rounds: spec.rounds,
      stages: spec.stages.map((s) => s.kind),
      resumed: !!opts.resume,
      dir: runDir,
    });
    if (opts.resume) replayStoredResults(store, outer, runId);
    let status = await runRounds(ctx);
    if (ctx.stopped) status = 'interrupted';
    // a gate stop is stored as 'finished' (+ gate_stops); a run waiting for its audit resumes
    // like an interrupted one
    store.setRunStatus(
      status === 'stopped-by-gate'
        ? 'finished'
        : status === 'awaiting-audit'
          ? 'interrupted'
          : status,
    );
    ctx.emit({ type: 'run-end', status, seconds: seconds(), ...storedVerdict(store) });
    return { runId, runDir, status, gateStops: store.gateStops() };
  } catch (e) {
    try {
      // Only a run this process started or resumed is marked failed: a resume refused by its start
      // checks (changed input, bad checkpoint, gate stop) leaves the stored status as it was.
      if ((begun || !opts.resume) && store.getRun()?.status === 'running')
        store.setRunStatus('failed', e);
    } catch {
      // the store itself may be what failed; the original error matters more
    }
    ctx?.emit({
      type: 'run-end',
      status: 'failed',
      seconds: seconds(),
      error: e instanceof Error ? e.message : String(e),
      ...storedVerdict(store),
    });
    throw e;
  } finally {
    await engines.closeAll();
    store.close();
    lock.release();
  }
}

function openStoreOrRelease(dbPath: string, lock: RunLock): RunStore {
  try {
    return openStore(dbPath);
  } catch (e) {
    lock.release();
    throw e;
  }
}

/** Round 0's baseline, then rounds 1..n until the last, a stop, or a gate that stops the run. */
async function runRounds(ctx: RunContext): Promise<Status> {
  const { spec } = ctx;
  const source = loadPromptSource(ctx);
  // Resolve every named judge now, so a missing API key or phrase file fails before any work.
  for (const name of Object.keys(spec.judges)) resolveJudge(ctx, name);
  for (const message of insecureKeyWarnings(spec.judges)) ctx.emit({ type: 'warning', message });
  let status = await baselineRound(ctx);
  for (let round = 1; round <= spec.rounds && status === 'finished' && !ctx.stopped; round++) {
    const r = await runRound(ctx, source, round);
    if (r === 'stop') status = 'stopped-by-gate';
    if (r === 'await') status = 'awaiting-audit';
  }
  return status;
}

/**
 * Round 0: the initial model's drift baseline, its evaluate stages only. It has no judge stage of
 * its own, so its evaluation borrows the rubric of the rounds' first judge stage.
 */
async function baselineRound(ctx: RunContext): Promise<Status> {
  const { spec, store } = ctx;
  const firstJudge = spec.stages.find((s): s is JudgeStageSpec => s.kind === 'judge');
  const evalStages = spec.stages
    .map((s, i) => [s, i] as const)
    .filter(([s]) => s.kind === 'evaluate');
  let status: Status = 'finished';
  if (!evalStages.length) return status;
  store.upsertRound(0, { policyCheckpointId: ctx.initial.checkpointId });
  // a gate that stops the run still lets round 0's other evaluate stages finish the baseline
  for (const [s, i] of evalStages) {
    if ((await runStage(ctx, s, 0, i, [], firstJudge)) === 'stop') status = 'stopped-by-gate';
    if (ctx.stopped) break;
  }
  if (!ctx.stopped) store.upsertRound(0, { status: 'done' });
  return status;
}

/**
 * Round r: the policy trained last, the round's prompts, then every stage in order; a stage that
 * reads scores gets the round's latest judge stage before it.
 */
async function runRound(
  ctx: RunContext,
  source: PromptSource,
  round: number,
): Promise<StageOutcome> {
  const { spec, store } = ctx;
  ctx.policy = policyAt(ctx, round);
  store.upsertRound(round, { policyCheckpointId: ctx.policy.checkpointId, status: 'running' });
  ctx.emit({ type: 'round-start', round, policy: ctx.policy.adapter ?? ctx.policy.path });
  const t = performance.now();
  const prompts = await roundPrompts(ctx, source, round);
  let result: StageOutcome = 'ok';
  let lastJudge: JudgeStageSpec | undefined;
  for (let i = 0; i < spec.stages.length && !ctx.stopped && result === 'ok'; i++) {
    const s = spec.stages[i];
    result = await runStage(ctx, s, round, i, prompts, lastJudge);
    if (s.kind === 'judge') lastJudge = s;
  }
  if (!ctx.stopped && result !== 'await') {
    store.upsertRound(round, { status: 'done' });
    ctx.emit({
      type: 'round-end',
      round,
      seconds: (performance.now() - t) / 1000,
      checkpoint: ctx.policy.adapter ?? ctx.policy.path,
    });
  }
  return result;
}
