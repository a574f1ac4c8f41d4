import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PipelineError, isPipelineError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { loadPromptSet } from '../prompts/prompt-set.js';
import { checkRubricUse, loadRubric, type RubricMode } from '../prompts/rubric.js';
import { runCritiqueStage } from '../stages/critique.js';
import { runEvaluateStage } from '../stages/evaluate.js';
import { runGenerateStage } from '../stages/generate.js';
import { runJudgeStage } from '../stages/judge.js';
import { resolveJudge } from '../stages/judge-setup.js';
import type { StageResult } from '../stages/stage.js';
import { runPairStage } from '../stages/pair.js';
import { selfInstructPrompts } from '../stages/self-instruct.js';
import { runTrainStage } from '../stages/train.js';
import { inputHash } from '../store/hash.js';
import { openStore, type RunStore } from '../store/run-store.js';
import { assertRunId, runDbPath } from '../store/run-dirs.js';
import type { PromptRow } from '../store/types.js';
import { EnginePool } from '../stages/engine-pool.js';
import type { EventSink, PipelineEvent } from '../events.js';
import { readPipelineFile } from '../spec/read-file.js';
import { RunContext, type Policy } from '../stages/context.js';
import type { JudgeStageSpec, PipelineSpec, StageSpec } from '../spec/schema.js';
import { validatePipeline, type ValidatedPipeline } from '../spec/validate/index.js';
import { insecureKeyWarnings } from '../spec/validate/secrets.js';
import { checkRoot } from './check-root.js';
import { acquireRunLock, type RunLock } from './run-lock.js';

export interface RunOptions {
  file: string;
  /** Folder holding run folders (default `runs` in the current directory). */
  root?: string;
  /** Continue this run id instead of starting a new one. */
  resume?: string;
  /** Folders outside the pipeline's and the project's that referenced files may lie in. */
  allowPaths?: readonly string[];
  sink?: EventSink;
  signal?: AbortSignal;
}

export interface RunOutcome {
  runId: string;
  runDir: string;
  status: 'finished' | 'interrupted' | 'failed' | 'stopped-by-gate';
}

/** validate + the template checks that need the prompts layer (compile, mode, variables). */
export function validateWithTemplates(
  file: string,
  allowPaths?: readonly string[],
): ValidatedPipeline & { yaml: string } {
  const pf = readPipelineFile(file);
  const v = validatePipeline(pf, {
    checkFiles: true,
    allowPaths,
    checkTemplate: (abs, _kind, use) => {
      try {
        checkRubricUse(loadRubric(abs), use.rubricMode as RubricMode);
        return undefined;
      } catch (e) {
        if (isPipelineError(e)) return e.message;
        throw e;
      }
    },
  });
  return { ...v, yaml: readFileSync(file, 'utf8') };
}

function newRunId(name: string): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${name}-${t}-${process.pid.toString(36)}`;
}

/** The prompts of round r: `per_round` of the set, a fresh seeded sample each round. */
function selectPrompts(spec: PipelineSpec, all: ReturnType<typeof loadPromptSet>, round: number) {
  const k = Math.min(spec.prompts.per_round ?? all.length, all.length);
  const order = all.map((_, i) => i);
  const rng = new Rng(spec.seed).fork(1000 + round);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order
    .slice(0, k)
    .sort((a, b) => a - b)
    .map((i) => all[i]);
}

/** The policy at the start of `round`: the newest checkpoint trained in an earlier round. */
function policyAt(store: RunStore, ctx: RunContext, round: number): Policy {
  const trained = store
    .listCheckpoints()
    .filter((c) => c.kind !== 'base' && c.round < round)
    .sort((a, b) => b.round - a.round)[0];
  if (!trained) return ctx.initial;
  const path = resolve(ctx.runDir, trained.path);
  return trained.kind === 'adapter'
    ? { ...ctx.initial, adapter: path, round: trained.round, checkpointId: trained.id }
    : {
        path,
        device: ctx.initial.device,
        threads: ctx.initial.threads,
        round: trained.round,
        checkpointId: trained.id,
      };
}

/**
 * Rounds × stages. Round 0 evaluates the initial model; round r generates with M_{r-1}, judges,
 * pairs, trains M_r and evaluates it. Every stage's status and every unit of work is in the run's
 * database, so `resume` skips finished stages and, inside a stage, finished units.
 */
export async function runPipeline(opts: RunOptions): Promise<RunOutcome> {
  const { spec, baseDir, yaml } = validateWithTemplates(opts.file, opts.allowPaths);
  const root = resolve(opts.root ?? 'runs');
  const runId = opts.resume ?? newRunId(spec.name);
  assertRunId(runId);
  const runDir = join(root, runId);
  const dbPath = runDbPath(root, runId);
  if (opts.resume && !existsSync(dbPath))
    throw new PipelineError({
      code: 'E_RUN_NOT_FOUND',
      message: `no run '${runId}' under ${root}`,
      hint: 'list runs with `pipeline runs`, and pass --root if they are elsewhere',
    });
  checkRoot(root);
  mkdirSync(runDir, { recursive: true });
  const sink = opts.sink ?? (() => {});
  const lock = acquireRunLock(runDir, (message) =>
    sink({ type: 'warning', message, time: new Date().toISOString(), runId }),
  );
  const store = openStoreOrRelease(dbPath, lock);
  const signal = opts.signal ?? new AbortController().signal;
  const t0 = performance.now();
  const engines = new EnginePool();
  let ctx: RunContext | undefined;
  try {
    if (opts.resume) {
      const run = store.useRun(runId);
      const hash = createHash('sha256').update(yaml).digest('hex');
      if (run.pipelineHash !== hash)
        throw new PipelineError({
          code: 'E_RESUME_CHANGED',
          message: `${opts.file} changed since run ${runId} started; resuming would mix two pipelines`,
          hint: 'restore the file as it was (it is stored in the run: `pipeline show`), or start a new run',
        });
      store.setRunStatus('running');
    } else {
      store.createRun({
        id: runId,
        name: spec.name,
        pipelinePath: resolve(opts.file),
        pipelineYaml: yaml,
        seed: spec.seed,
      });
    }
    ctx = new RunContext(
      spec,
      baseDir,
      runId,
      runDir,
      store,
      engines,
      (e: PipelineEvent) => sink(e),
      signal,
    );
    const modelPath = ctx.path(spec.model.path);
    const base = store.addCheckpoint({
      round: 0,
      kind: 'base',
      path: modelPath,
      contentHash: modelHash(modelPath),
      inputHash: inputHash('base', modelPath),
    });
    ctx.initial = {
      path: modelPath,
      adapter: spec.model.adapter ? ctx.path(spec.model.adapter) : undefined,
      device: spec.model.device,
      threads: spec.model.threads,
      round: 0,
      checkpointId: base,
    };
    ctx.policy = ctx.initial;
    ctx.emit({
      type: 'run-start',
      name: spec.name,
      rounds: spec.rounds,
      stages: spec.stages.map((s) => s.kind),
      resumed: !!opts.resume,
      dir: runDir,
    });

    const promptSet = loadPromptSet(ctx.path(spec.prompts.file));
    const promptFileHash = store.putText(
      'prompt_file',
      spec.prompts.file,
      readFileSync(ctx.path(spec.prompts.file), 'utf8'),
    );
    let status: RunOutcome['status'] = 'finished';

    // Resolve every named judge now, so a missing API key or phrase file fails before any work.
    for (const name of Object.keys(spec.judges)) resolveJudge(ctx, name);
    for (const message of insecureKeyWarnings(spec.judges)) ctx.emit({ type: 'warning', message });
    // Round 0: the initial model's drift baseline. It has no judge stage of its own, so its
    // evaluation borrows the rubric of the rounds' first judge stage.
    const firstJudge = spec.stages.find((s): s is JudgeStageSpec => s.kind === 'judge');
    const evalStages = spec.stages
      .map((s, i) => [s, i] as const)
      .filter(([s]) => s.kind === 'evaluate');
    if (evalStages.length) {
      store.upsertRound(0, { policyCheckpointId: base });
      for (const [s, i] of evalStages) {
        const r = await runStage(ctx, s, 0, i, [], firstJudge);
        if (r === 'stop') status = 'stopped-by-gate';
        if (ctx.stopped) break;
      }
      if (!ctx.stopped) store.upsertRound(0, { status: 'done' });
    }

    for (let round = 1; round <= spec.rounds && status === 'finished' && !ctx.stopped; round++) {
      ctx.policy = policyAt(store, ctx, round);
      store.upsertRound(round, { policyCheckpointId: ctx.policy.checkpointId, status: 'running' });
      ctx.emit({ type: 'round-start', round, policy: ctx.policy.adapter ?? ctx.policy.path });
      const tr = performance.now();
      const prompts: PromptRow[] = selectPrompts(spec, promptSet, round).map((p) => {
        const id = store.addPrompt({
          round,
          source: 'seed',
          messages: p.messages,
          fileHash: promptFileHash,
          meta: { id: p.id },
          inputHash: inputHash('prompt', round, p.id, p.messages),
        });
        return store.getPrompt(id)!;
      });
      if (spec.prompts.self_instruct)
        prompts.push(
          ...(await selfInstructPrompts(ctx, spec.prompts.self_instruct, round, promptSet)),
        );
      let lastJudge: JudgeStageSpec | undefined;
      for (let i = 0; i < spec.stages.length && !ctx.stopped; i++) {
        const s = spec.stages[i];
        const r = await runStage(ctx, s, round, i, prompts, lastJudge);
        if (s.kind === 'judge') lastJudge = s;
        if (r === 'stop') {
          status = 'stopped-by-gate';
          break;
        }
      }
      if (!ctx.stopped) {
        store.upsertRound(round, { status: 'done' });
        ctx.emit({
          type: 'round-end',
          round,
          seconds: (performance.now() - tr) / 1000,
          checkpoint: ctx.policy.adapter ?? ctx.policy.path,
        });
      }
    }
    if (ctx.stopped) status = 'interrupted';
    store.setRunStatus(status === 'stopped-by-gate' ? 'finished' : status);
    ctx.emit({ type: 'run-end', status, seconds: (performance.now() - t0) / 1000 });
    return { runId, runDir, status };
  } catch (e) {
    try {
      store.setRunStatus('failed', e);
    } catch {
      // the store itself may be what failed; the original error matters more
    }
    ctx?.emit({
      type: 'run-end',
      status: 'failed',
      seconds: (performance.now() - t0) / 1000,
      error: e instanceof Error ? e.message : String(e),
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

/** Run one stage unless the store says it is done; returns 'stop' when a gate stops the run. */
async function runStage(
  ctx: RunContext,
  s: StageSpec,
  round: number,
  index: number,
  prompts: PromptRow[],
  lastJudge: JudgeStageSpec | undefined,
): Promise<'ok' | 'stop'> {
  const store = ctx.store;
  const prior = store.getStage(round, index);
  if (prior?.status === 'done') {
    if (s.kind === 'train') ctx.policy = policyAt(store, ctx, round + 1);
    ctx.emit({
      type: 'stage-end',
      round,
      stage: index,
      kind: s.kind,
      status: 'skipped',
      seconds: 0,
      counts: prior.counts ?? {},
    });
    return 'ok';
  }
  store.startStage(round, index, s.kind);
  ctx.emit({ type: 'stage-start', round, stage: index, kind: s.kind, total: prompts.length });
  const t = performance.now();
  let result: StageResult & { gateHits?: { gate: { action: string } }[] };
  try {
    switch (s.kind) {
      case 'generate':
        result = await runGenerateStage(ctx, s, round, index, prompts);
        break;
      case 'critique':
        result = await runCritiqueStage(ctx, s, round, index, prompts);
        break;
      case 'judge':
        result = await runJudgeStage(ctx, s, round, index, prompts);
        break;
      case 'pair':
        result = await runPairStage(ctx, s, lastJudge!, round, index, prompts);
        break;
      case 'train':
        result = await runTrainStage(ctx, s, round, index);
        break;
      case 'evaluate':
        result = await runEvaluateStage(ctx, s, lastJudge, round, index);
        break;
    }
  } catch (e) {
    store.finishStage(round, index, { status: 'failed', error: e });
    ctx.emit({
      type: 'stage-end',
      round,
      stage: index,
      kind: s.kind,
      status: 'failed',
      seconds: (performance.now() - t) / 1000,
      counts: {},
    });
    throw e;
  }
  const status = ctx.stopped ? 'interrupted' : 'done';
  store.finishStage(round, index, { status, counts: result.counts });
  ctx.emit({
    type: 'stage-end',
    round,
    stage: index,
    kind: s.kind,
    status,
    seconds: (performance.now() - t) / 1000,
    counts: result.counts,
  });
  return result.gateHits?.some((h) => h.gate.action === 'stop') ? 'stop' : 'ok';
}

/** Content hash of a model's weights file (or of the builtin name), recorded with the base checkpoint. */
function modelHash(path: string): string {
  const f = join(path, 'model.safetensors');
  if (!existsSync(f)) return createHash('sha256').update(path).digest('hex');
  // Hashing gigabytes of weights at every start is too slow; config + size + mtime identify them.
  const st = statSync(f);
  return createHash('sha256')
    .update(readFileSync(join(path, 'config.json')))
    .update(`${st.size}:${st.mtimeMs}`)
    .digest('hex');
}
