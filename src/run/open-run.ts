import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PipelineError } from '../core/errors.js';
import type { RunStore } from '../store/run-store.js';
import { assertRunId, runDbPath } from '../store/run-dirs.js';
import { checkRoot } from './check-root.js';
import { refuseGateStopped } from './gate-stop.js';
import { checkRunStart, type StartChecks } from './resume-checks.js';
import { newRunId } from './run-id.js';

export interface RunLocation {
  runId: string;
  runDir: string;
  dbPath: string;
}

/**
 * The run's id, folder (created, once the root is known to take writes) and database; a resumed
 * run must already have a database.
 */
export function locateRun(name: string, root: string, resume?: string): RunLocation {
  const runId = resume ?? newRunId(name);
  assertRunId(runId);
  const runDir = join(root, runId);
  const dbPath = runDbPath(root, runId);
  if (resume && !existsSync(dbPath))
    throw new PipelineError({
      code: 'E_RUN_NOT_FOUND',
      message: `no run '${runId}' under ${root}`,
      hint: 'list runs with `pipeline runs`, and pass --root if they are elsewhere',
    });
  checkRoot(root);
  mkdirSync(runDir, { recursive: true });
  return { runId, runDir, dbPath };
}

/**
 * Record the run's start: a new run row with the pipeline file's text, or, on resume, a check
 * that the file is the one the run started with before the run is marked running again.
 */
export function beginRun(store: RunStore, run: StartChecks & { yaml: string }): void {
  if (run.resume) {
    const stored = store.useRun(run.id);
    const hash = createHash('sha256').update(run.yaml).digest('hex');
    if (stored.pipelineHash !== hash)
      throw new PipelineError({
        code: 'E_RESUME_CHANGED',
        message: `${run.file} changed since run ${run.id} started; resuming would mix two pipelines`,
        hint: 'restore the file as it was (it is stored in the run: `pipeline show`), or start a new run',
      });
    refuseGateStopped(store, run.id, run.file);
    checkRunStart(store, run);
    store.setRunStatus('running');
  } else {
    store.createRun({
      id: run.id,
      name: run.spec.name,
      pipelinePath: resolve(run.file),
      pipelineYaml: run.yaml,
      seed: run.spec.seed,
    });
    checkRunStart(store, run);
  }
}
