// The provenance ledger of one run: a typed API over prepared statements on runs/<id>/run.sqlite.
//
// A RunStore is bound to one run (createRun / useRun, or automatically when the file holds exactly
// one), so stage code never passes run ids around. Stage outputs are written with
// `INSERT ... ON CONFLICT(run_id, input_hash) DO NOTHING` and the stored row's id is returned:
// a resumed stage recomputes the same input hashes and gets the same ids back, and nothing is
// written twice. Ids are derived from (run id, input hash) so they are stable across resumes too.
//
// How it is assembled: StoreBase (store-base.ts) holds the connection and the rules every
// statement runs under; each table group of the ledger (ledger/*.ts) and the event log add their
// statements and methods on top of it as a mixin; this file adds the run's spine (runs, rounds,
// stages, texts) and the provenance trace. Callers see one class with every method, as before.

import { fail } from '../core/errors.js';
import { withEventLog } from './event-log.js';
import { withGateStops } from './gate-stops.js';
import { withServedModels } from './served-models.js';
import { contentHash } from './hash.js';
import { withAudit } from './ledger/audit.js';
import { withCandidates } from './ledger/candidates.js';
import { withJudgements } from './ledger/judgements.js';
import { withLabels } from './ledger/labels.js';
import { withRlSamples } from './ledger/rl-samples.js';
import { withMetaJudge } from './ledger/meta-judge.js';
import { withPairs } from './ledger/pairs.js';
import { withInputs } from './ledger/inputs.js';
import { withPrompts } from './ledger/prompts.js';
import { withResets } from './ledger/resets.js';
import { withTraining } from './ledger/training.js';
import {
  DEFAULT_BUSY_TIMEOUT_MS,
  openDatabase,
  openFailure,
  type OpenStoreOptions,
} from './open.js';
import { withRounds } from './rounds.js';
import { withStageRuns } from './stage-runs.js';
import { StoreBase, parseJson, prepareAll, toStoredError, type Raw } from './store-base.js';
import { tracePair, type PairTrace } from './trace.js';
import type {
  NewRun,
  RunCounts,
  RunRow,
  RunStatus,
  StoredError,
  TextKind,
  TextRow,
} from './run-types.js';

export type { OpenStoreOptions };

/**
 * Opens (creating folders, file and schema as needed) the run database at `path`, usually
 * runs/<run-id>/run.sqlite, or ':memory:'. Failures are PipelineErrors: E_STORE_OPEN (cannot
 * open/create, read-only, not a run database), E_STORE_VERSION (schema newer than this build,
 * or older in read-only mode), E_STORE_CORRUPT, E_STORE_BUSY.
 */
export function openStore(path: string, options: OpenStoreOptions = {}): RunStore {
  const readonly = options.readonly ?? false;
  const db = openDatabase(path, readonly, options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS);
  try {
    return new RunStore(db, path, readonly, options.now ?? (() => new Date()));
  } catch (e) {
    db.close();
    throw openFailure(e, path, readonly);
  }
}

// ---- SQL ---------------------------------------------------------------------------------------

const RUN_COLS = `id, name, pipeline_path AS pipelinePath, pipeline_yaml AS pipelineYaml,
  pipeline_hash AS pipelineHash, seed, tool_version AS toolVersion,
  CASE WHEN status IN ('finished', 'interrupted')
      AND EXISTS (SELECT 1 FROM gate_stops g WHERE g.run_id = runs.id)
    THEN 'stopped' ELSE status END AS status,
  created_at AS createdAt, finished_at AS finishedAt, error`;
const TEXT_COLS = `hash, kind, path, content, created_at AS createdAt`;

// Rounds count trained rounds (1..n): round 0 is the initial model's evaluation, not a round of
// the loop. `rounds` is the planned number, from the latest run-start in the event log (a
// killed 3-round run reads 0/3, not 1/2); without one, the trained rounds the store has begun.
const ROUND_COUNTS = `COALESCE(
        (SELECT json_extract(data, '$.rounds') FROM events
          WHERE run_id = @runId AND type = 'run-start' ORDER BY id DESC LIMIT 1),
        (SELECT count(*) FROM rounds WHERE run_id = @runId AND round > 0)) AS rounds,
      (SELECT count(*) FROM rounds WHERE run_id = @runId AND round > 0 AND status = 'done')
        AS roundsDone`;

const SQL = {
  insertRun: `INSERT INTO runs (id, name, pipeline_path, pipeline_yaml, pipeline_hash, seed,
      tool_version, status, created_at)
    VALUES (@id, @name, @pipelinePath, @pipelineYaml, @pipelineHash, @seed, @toolVersion,
      'running', @now)`,
  getRun: `SELECT ${RUN_COLS} FROM runs WHERE id = ?`,
  listRuns: `SELECT ${RUN_COLS} FROM runs ORDER BY created_at, id`,
  setRunStatus: `UPDATE runs SET status = @status, finished_at = @finishedAt, error = @error
    WHERE id = @runId`,

  runCounts: `SELECT
      ${ROUND_COUNTS},
      (SELECT count(*) FROM prompts WHERE run_id = @runId) AS prompts,
      (SELECT count(*) FROM candidates WHERE run_id = @runId) AS candidates,
      (SELECT count(*) FROM judgements WHERE run_id = @runId) AS judgements,
      (SELECT count(*) FROM pairs WHERE run_id = @runId) AS pairs,
      (SELECT count(*) FROM pair_discards WHERE run_id = @runId) AS pairDiscards,
      (SELECT count(*) FROM checkpoints WHERE run_id = @runId) AS checkpoints`,

  interruptRun: `UPDATE runs SET status = 'interrupted', finished_at = @now
    WHERE id = @runId AND status = 'running'`,
  interruptRounds: `UPDATE rounds SET status = 'interrupted', finished_at = @now
    WHERE run_id = @runId AND status = 'running'`,
  interruptStages: `UPDATE stage_runs SET status = 'interrupted', finished_at = @now
    WHERE run_id = @runId AND status = 'running'`,

  insertText: `INSERT INTO texts (hash, kind, path, content, created_at)
    VALUES (@hash, @kind, @path, @content, @now) ON CONFLICT (hash) DO NOTHING`,
  getText: `SELECT ${TEXT_COLS} FROM texts WHERE hash = ?`,
} as const;

function mapRun(r: Raw): RunRow {
  return { ...(r as unknown as RunRow), error: parseJson<StoredError>(r.error) };
}

// ---- the store -----------------------------------------------------------------------------------

/** Rounds and stages, the ledger's table groups and the event log, each a mixin over StoreBase. */
const Ledger = withServedModels(
  withAudit(
    withResets(
      withInputs(
        withGateStops(
          withEventLog(
            withTraining(
              withMetaJudge(
                withRlSamples(
                  withLabels(
                    withPairs(
                      withJudgements(
                        withCandidates(withPrompts(withStageRuns(withRounds(StoreBase)))),
                      ),
                    ),
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
    ),
  ),
);

export class RunStore extends Ledger {
  readonly #s = prepareAll(this.db, SQL);

  // ---- runs ------------------------------------------------------------------------------------

  /**
   * Creates the run and selects it. Creating it again with the same pipeline text returns the
   * stored run (a resume); with a different text fails with E_STORE_CONFLICT, because the stored
   * rows would no longer describe what the file says.
   */
  createRun(spec: NewRun): RunRow {
    return this.guard('creating the run', () =>
      this.tx(() => {
        const pipelineHash = contentHash(spec.pipelineYaml);
        const existing = this.#getRun(spec.id);
        if (existing) {
          if (existing.pipelineHash !== pipelineHash)
            fail(
              'E_STORE_CONFLICT',
              `run '${spec.id}' was started from a different version of ${existing.pipelinePath}`,
              'start a new run, or restore the pipeline file as it was to resume this one',
            );
          this.selectRun(existing.id);
          return existing;
        }
        this.#s.insertRun.run({
          id: spec.id,
          name: spec.name,
          pipelinePath: spec.pipelinePath,
          pipelineYaml: spec.pipelineYaml,
          pipelineHash,
          seed: spec.seed ?? null,
          toolVersion: spec.toolVersion ?? null,
          now: this.ts(),
        });
        this.selectRun(spec.id);
        return this.#mustRun(spec.id);
      }),
    );
  }

  /** Selects an existing run of this file. */
  useRun(id: string): RunRow {
    return this.guard('selecting the run', () => {
      const run = this.#mustRun(id);
      this.selectRun(id);
      return run;
    });
  }

  getRun(id: string = this.runId): RunRow | undefined {
    return this.guard('reading the run', () => this.#getRun(id));
  }

  /** Every run in this file (normally one). */
  listRuns(): RunRow[] {
    return this.guard('listing runs', () => (this.#s.listRuns.all() as Raw[]).map(mapRun));
  }

  /**
   * 'running' (a resume) clears finished_at and error; the other states stamp finished_at and
   * record `error` (a PipelineError, Error, or {code?, message, hint?}). A gate stop is
   * 'finished' plus recordGateStops(): the run then reads as 'stopped'.
   */
  setRunStatus(status: Exclude<RunStatus, 'stopped'>, error?: unknown): RunRow {
    return this.guard('setting the run status', () =>
      this.tx(() => {
        const runId = this.runId;
        this.#s.setRunStatus.run({
          runId,
          status,
          finishedAt: status === 'running' ? null : this.ts(),
          error: status === 'running' ? null : this.json(toStoredError(error), 'error'),
        });
        return this.#mustRun(runId);
      }),
    );
  }

  /**
   * After a crash or Ctrl-C the run, its round and stage still say 'running': mark them
   * 'interrupted' so reports tell the truth. Returns how many rows changed.
   */
  markInterrupted(): { runs: number; rounds: number; stages: number } {
    return this.guard('marking the run interrupted', () =>
      this.tx(() => {
        const p = { runId: this.runId, now: this.ts() };
        return {
          runs: this.#s.interruptRun.run(p).changes,
          rounds: this.#s.interruptRounds.run(p).changes,
          stages: this.#s.interruptStages.run(p).changes,
        };
      }),
    );
  }

  /** How much of a run is stored, for listings and progress displays. */
  runCounts(runId: string = this.runId): RunCounts {
    return this.guard('counting rows', () => this.#s.runCounts.get({ runId }) as RunCounts);
  }

  // ---- texts -----------------------------------------------------------------------------------

  /**
   * Stores a constitution/rubric/template/prompt-file text by the sha256 of its content and
   * returns the hash. The first path a text was seen at is kept.
   */
  putText(kind: TextKind, path: string | null, content: string): string {
    return this.guard(`storing ${kind} ${path ?? ''}`.trim(), () => {
      const hash = contentHash(content);
      this.#s.insertText.run({ hash, kind, path, content, now: this.ts() });
      return hash;
    });
  }

  getText(hash: string): TextRow | undefined {
    return this.guard('reading a text', () => this.#s.getText.get(hash) as TextRow | undefined);
  }

  // ---- provenance --------------------------------------------------------------------------------

  /**
   * Everything a pair came from (see trace.ts), read in one transaction, so a concurrent writer
   * cannot tear it.
   */
  tracePair(pairId: string): PairTrace {
    return this.guard(`tracing pair ${pairId}`, () =>
      this.db
        .transaction(() =>
          tracePair(
            {
              path: this.path,
              getPair: (id) => this.getPair(id),
              runOf: (runId) => this.#mustRun(runId),
              roundOf: (runId, round) => this.roundOf(runId, round),
              getPrompt: (id) => this.getPrompt(id),
              getCandidate: (id) => this.getCandidate(id),
              judgementsForCandidate: (id) => this.judgementsForCandidate(id),
              getCheckpoint: (id) => this.getCheckpoint(id),
              getText: (hash) => this.getText(hash),
            },
            pairId,
          ),
        )
        .deferred(),
    );
  }

  #mustRun(runId: string): RunRow {
    const run = this.#getRun(runId);
    if (!run)
      fail(
        'E_STORE_NOT_FOUND',
        `${this.path}: no run '${runId}' in this database`,
        'check the run id: each folder under runs/ holds one run',
      );
    return run;
  }

  #getRun(id: string): RunRow | undefined {
    const r = this.#s.getRun.get(id) as Raw | undefined;
    return r && mapRun(r);
  }
}
