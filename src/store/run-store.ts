// The provenance ledger of one run: a typed API over prepared statements on runs/<id>/run.sqlite.
//
// A RunStore is bound to one run (createRun / useRun, or automatically when the file holds exactly
// one), so stage code never passes run ids around. Stage outputs are written with
// `INSERT ... ON CONFLICT(run_id, input_hash) DO NOTHING` and the stored row's id is returned:
// a resumed stage recomputes the same input hashes and gets the same ids back, and nothing is
// written twice. Ids are derived from (run id, input hash) so they are stable across resumes too.

import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { PipelineError, fail, isPipelineError } from '../core/errors.js';
import { contentHash, inputHash } from './hash.js';
import { SCHEMA_VERSION, checkIdentity, migrate } from './migrations.js';
import { dirError, storeError } from './store-errors.js';
import type {
  CandidateRow,
  CandidateTrace,
  CheckpointRow,
  EvalMetricRow,
  EventRow,
  JudgementRow,
  LedgerTable,
  NewCandidate,
  NewCheckpoint,
  NewEvalMetric,
  NewEvent,
  NewJudgement,
  NewPair,
  NewPairDiscard,
  NewPrompt,
  NewRun,
  NewTrainStep,
  PairDiscardRow,
  PairRow,
  PairTrace,
  PromptRow,
  RoundPatch,
  RoundRow,
  RunCounts,
  RunRow,
  RunStatus,
  StageFinish,
  StageRow,
  StepStatus,
  StoredError,
  TextKind,
  TextRow,
  TrainStepRow,
} from './types.js';

export interface OpenStoreOptions {
  /** Open an existing run database for reading only (reports, listings, a run in progress). */
  readonly?: boolean;
  /** How long a statement waits for another connection's lock before E_STORE_BUSY (default 5000). */
  busyTimeoutMs?: number;
  /** Clock for the stored timestamps (tests). */
  now?: () => Date;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;

// ---- SQL ---------------------------------------------------------------------------------------

const RUN_COLS = `id, name, pipeline_path AS pipelinePath, pipeline_yaml AS pipelineYaml,
  pipeline_hash AS pipelineHash, seed, tool_version AS toolVersion, status,
  created_at AS createdAt, finished_at AS finishedAt, error`;
const ROUND_COLS = `run_id AS runId, round, policy_checkpoint_id AS policyCheckpointId,
  reference_checkpoint_id AS referenceCheckpointId, status, started_at AS startedAt,
  finished_at AS finishedAt`;
const STAGE_COLS = `run_id AS runId, round, stage_index AS stageIndex, kind, status, attempts,
  started_at AS startedAt, finished_at AS finishedAt, counts, error`;
const TEXT_COLS = `hash, kind, path, content, created_at AS createdAt`;
const PROMPT_COLS = `id, run_id AS runId, round, stage_index AS stageIndex, source, messages,
  file_hash AS fileHash, meta, input_hash AS inputHash, created_at AS createdAt`;
const CANDIDATE_COLS = `id, run_id AS runId, round, stage_index AS stageIndex,
  prompt_id AS promptId, idx, text, token_ids AS tokenIds, logprobs_sum AS logprobsSum,
  finish_reason AS finishReason, sampling, seed, checkpoint_id AS checkpointId, origin,
  parent_candidate_id AS parentCandidateId, meta, input_hash AS inputHash,
  created_at AS createdAt`;
const JUDGEMENT_COLS = `id, run_id AS runId, round, stage_index AS stageIndex,
  judge_id AS judgeId, judge_checkpoint_id AS judgeCheckpointId, mode,
  candidate_id AS candidateId, other_candidate_id AS otherCandidateId,
  principle_id AS principleId, rubric_hash AS rubricHash, constitution_hash AS constitutionHash,
  rendered_prompt AS renderedPrompt, raw_output AS rawOutput, score, verdict,
  parse_error AS parseError, sample_idx AS sampleIdx, detail, input_hash AS inputHash,
  created_at AS createdAt`;
const PAIR_COLS = `id, run_id AS runId, round, stage_index AS stageIndex, prompt_id AS promptId,
  chosen_candidate_id AS chosenCandidateId, rejected_candidate_id AS rejectedCandidateId,
  chosen_score AS chosenScore, rejected_score AS rejectedScore, strategy,
  soft_label AS softLabel, input_hash AS inputHash, created_at AS createdAt`;
const DISCARD_COLS = `id, run_id AS runId, round, stage_index AS stageIndex,
  prompt_id AS promptId, reason, detail, input_hash AS inputHash, created_at AS createdAt`;
const CHECKPOINT_COLS = `id, run_id AS runId, round, kind, path, content_hash AS contentHash,
  parent_id AS parentId, input_hash AS inputHash, created_at AS createdAt`;
const TRAIN_COLS = `run_id AS runId, round, step, stage_index AS stageIndex, metrics,
  created_at AS createdAt`;
const EVAL_COLS = `run_id AS runId, round, metric, stage_index AS stageIndex, value, detail,
  created_at AS createdAt`;
const EVENT_COLS = `id, run_id AS runId, round, stage_index AS stageIndex, at, type, data`;

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
      (SELECT count(*) FROM rounds WHERE run_id = @runId) AS rounds,
      (SELECT count(*) FROM rounds WHERE run_id = @runId AND status = 'done') AS roundsDone,
      (SELECT count(*) FROM prompts WHERE run_id = @runId) AS prompts,
      (SELECT count(*) FROM candidates WHERE run_id = @runId) AS candidates,
      (SELECT count(*) FROM judgements WHERE run_id = @runId) AS judgements,
      (SELECT count(*) FROM pairs WHERE run_id = @runId) AS pairs,
      (SELECT count(*) FROM pair_discards WHERE run_id = @runId) AS pairDiscards,
      (SELECT count(*) FROM checkpoints WHERE run_id = @runId) AS checkpoints`,

  getRound: `SELECT ${ROUND_COLS} FROM rounds WHERE run_id = ? AND round = ?`,
  listRounds: `SELECT ${ROUND_COLS} FROM rounds WHERE run_id = ? ORDER BY round`,
  upsertRound: `INSERT INTO rounds (run_id, round, policy_checkpoint_id, reference_checkpoint_id,
      status, started_at, finished_at)
    VALUES (@runId, @round, @policyCheckpointId, @referenceCheckpointId, @status, @startedAt,
      @finishedAt)
    ON CONFLICT (run_id, round) DO UPDATE SET
      policy_checkpoint_id = excluded.policy_checkpoint_id,
      reference_checkpoint_id = excluded.reference_checkpoint_id,
      status = excluded.status, started_at = excluded.started_at,
      finished_at = excluded.finished_at`,

  getStage: `SELECT ${STAGE_COLS} FROM stage_runs WHERE run_id = ? AND round = ? AND stage_index = ?`,
  stagesForRound: `SELECT ${STAGE_COLS} FROM stage_runs WHERE run_id = ? AND round = ?
    ORDER BY stage_index`,
  startStage: `INSERT INTO stage_runs (run_id, round, stage_index, kind, status, started_at)
    VALUES (@runId, @round, @stageIndex, @kind, 'running', @now)
    ON CONFLICT (run_id, round, stage_index) DO UPDATE SET
      status = 'running', attempts = attempts + 1, started_at = excluded.started_at,
      finished_at = NULL, counts = NULL, error = NULL`,
  finishStage: `UPDATE stage_runs SET status = @status, finished_at = @now, counts = @counts,
      error = @error
    WHERE run_id = @runId AND round = @round AND stage_index = @stageIndex`,

  interruptRun: `UPDATE runs SET status = 'interrupted', finished_at = @now
    WHERE id = @runId AND status = 'running'`,
  interruptRounds: `UPDATE rounds SET status = 'interrupted', finished_at = @now
    WHERE run_id = @runId AND status = 'running'`,
  interruptStages: `UPDATE stage_runs SET status = 'interrupted', finished_at = @now
    WHERE run_id = @runId AND status = 'running'`,

  insertText: `INSERT INTO texts (hash, kind, path, content, created_at)
    VALUES (@hash, @kind, @path, @content, @now) ON CONFLICT (hash) DO NOTHING`,
  getText: `SELECT ${TEXT_COLS} FROM texts WHERE hash = ?`,

  insertPrompt: `INSERT INTO prompts (id, run_id, round, stage_index, source, messages, file_hash,
      meta, input_hash, created_at)
    VALUES (@id, @runId, @round, @stageIndex, @source, @messages, @fileHash, @meta, @inputHash,
      @now)
    ON CONFLICT (run_id, input_hash) DO NOTHING`,
  getPrompt: `SELECT ${PROMPT_COLS} FROM prompts WHERE id = ?`,
  promptsForRound: `SELECT ${PROMPT_COLS} FROM prompts WHERE run_id = ? AND round = ?
    ORDER BY rowid`,

  insertCandidate: `INSERT INTO candidates (id, run_id, round, stage_index, prompt_id, idx, text,
      token_ids, logprobs_sum, finish_reason, sampling, seed, checkpoint_id, origin,
      parent_candidate_id, meta, input_hash, created_at)
    VALUES (@id, @runId, @round, @stageIndex, @promptId, @idx, @text, @tokenIds, @logprobsSum,
      @finishReason, @sampling, @seed, @checkpointId, @origin, @parentCandidateId, @meta,
      @inputHash, @now)
    ON CONFLICT (run_id, input_hash) DO NOTHING`,
  getCandidate: `SELECT ${CANDIDATE_COLS} FROM candidates WHERE id = ?`,
  candidatesForPrompt: `SELECT ${CANDIDATE_COLS} FROM candidates
    WHERE run_id = ? AND round = ? AND prompt_id = ?
    ORDER BY origin = 'revision', idx, rowid`,

  insertJudgement: `INSERT INTO judgements (id, run_id, round, stage_index, judge_id,
      judge_checkpoint_id, mode, candidate_id, other_candidate_id, principle_id, rubric_hash,
      constitution_hash, rendered_prompt, raw_output, score, verdict, parse_error, sample_idx,
      detail, input_hash, created_at)
    VALUES (@id, @runId, @round, @stageIndex, @judgeId, @judgeCheckpointId, @mode, @candidateId,
      @otherCandidateId, @principleId, @rubricHash, @constitutionHash, @renderedPrompt,
      @rawOutput, @score, @verdict, @parseError, @sampleIdx, @detail, @inputHash, @now)
    ON CONFLICT (run_id, input_hash) DO NOTHING`,
  getJudgement: `SELECT ${JUDGEMENT_COLS} FROM judgements WHERE id = ?`,
  judgementsForCandidate: `SELECT ${JUDGEMENT_COLS} FROM judgements
    WHERE candidate_id = @id OR other_candidate_id = @id
    ORDER BY round, judge_id, mode, principle_id, sample_idx, rowid`,

  insertPair: `INSERT INTO pairs (id, run_id, round, stage_index, prompt_id, chosen_candidate_id,
      rejected_candidate_id, chosen_score, rejected_score, strategy, soft_label, input_hash,
      created_at)
    VALUES (@id, @runId, @round, @stageIndex, @promptId, @chosenCandidateId,
      @rejectedCandidateId, @chosenScore, @rejectedScore, @strategy, @softLabel, @inputHash, @now)
    ON CONFLICT (run_id, input_hash) DO NOTHING`,
  getPair: `SELECT ${PAIR_COLS} FROM pairs WHERE id = ?`,
  pairsForRound: `SELECT ${PAIR_COLS} FROM pairs WHERE run_id = ? AND round = ? ORDER BY rowid`,

  insertDiscard: `INSERT INTO pair_discards (id, run_id, round, stage_index, prompt_id, reason,
      detail, input_hash, created_at)
    VALUES (@id, @runId, @round, @stageIndex, @promptId, @reason, @detail, @inputHash, @now)
    ON CONFLICT (run_id, input_hash) DO NOTHING`,
  discardsForRound: `SELECT ${DISCARD_COLS} FROM pair_discards WHERE run_id = ? AND round = ?
    ORDER BY rowid`,
  discardCounts: `SELECT reason, count(*) AS n FROM pair_discards WHERE run_id = ? AND round = ?
    GROUP BY reason ORDER BY reason`,

  insertCheckpoint: `INSERT INTO checkpoints (id, run_id, round, kind, path, content_hash,
      parent_id, input_hash, created_at)
    VALUES (@id, @runId, @round, @kind, @path, @contentHash, @parentId, @inputHash, @now)
    ON CONFLICT (run_id, input_hash) DO NOTHING`,
  getCheckpoint: `SELECT ${CHECKPOINT_COLS} FROM checkpoints WHERE id = ?`,
  listCheckpoints: `SELECT ${CHECKPOINT_COLS} FROM checkpoints WHERE run_id = ?
    ORDER BY round, rowid`,

  // A restarted training stage replays its steps; the latest attempt's metrics are the truth.
  upsertTrainStep: `INSERT INTO train_steps (run_id, round, step, stage_index, metrics, created_at)
    VALUES (@runId, @round, @step, @stageIndex, @metrics, @now)
    ON CONFLICT (run_id, round, step) DO UPDATE SET
      stage_index = excluded.stage_index, metrics = excluded.metrics,
      created_at = excluded.created_at`,
  trainStepsForRound: `SELECT ${TRAIN_COLS} FROM train_steps WHERE run_id = ? AND round = ?
    ORDER BY step`,
  clearTrainSteps: `DELETE FROM train_steps WHERE run_id = ? AND round = ?`,

  upsertEval: `INSERT INTO eval_metrics (run_id, round, metric, stage_index, value, detail,
      created_at)
    VALUES (@runId, @round, @metric, @stageIndex, @value, @detail, @now)
    ON CONFLICT (run_id, round, metric) DO UPDATE SET
      stage_index = excluded.stage_index, value = excluded.value, detail = excluded.detail,
      created_at = excluded.created_at`,
  evalMetrics: `SELECT ${EVAL_COLS} FROM eval_metrics WHERE run_id = ? ORDER BY round, metric`,

  insertEvent: `INSERT INTO events (run_id, round, stage_index, at, type, data)
    VALUES (@runId, @round, @stageIndex, @now, @type, @data)`,
  eventsSince: `SELECT ${EVENT_COLS} FROM events WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?`,
} as const;

const LEDGER_TABLES: readonly LedgerTable[] = [
  'prompts',
  'candidates',
  'judgements',
  'pairs',
  'pair_discards',
  'checkpoints',
];

/** Short prefixes make ids in reports and traces self-describing. */
const ID_PREFIX: Record<LedgerTable, string> = {
  prompts: 'p',
  candidates: 'c',
  judgements: 'j',
  pairs: 'pr',
  pair_discards: 'd',
  checkpoints: 'ck',
};

type Statements = { -readonly [K in keyof typeof SQL]: Database.Statement };
type Raw = Record<string, unknown>;

function parseJson<T>(v: unknown): T | null {
  return v === null || v === undefined ? null : (JSON.parse(v as string) as T);
}

function toStoredError(e: unknown): StoredError | null {
  if (e === undefined || e === null) return null;
  if (isPipelineError(e)) return { code: e.code, message: e.message, hint: e.hint };
  if (e instanceof Error) return { message: e.message };
  if (typeof e === 'object' && typeof (e as StoredError).message === 'string') {
    const { code, message, hint } = e as StoredError;
    return { code, message, hint };
  }
  return { message: String(e) };
}

const FINISHED: ReadonlySet<string> = new Set(['done', 'failed', 'interrupted']);

// ---- opening -------------------------------------------------------------------------------------

function openFailure(e: unknown, path: string, readonly: boolean): PipelineError {
  const pe = storeError(e, path, 'opening the run database');
  // At open time a read-only or unwritable file means "cannot open for writing", whatever
  // SQLite called it; callers branch on E_STORE_OPEN.
  if (pe.code === 'E_STORE_WRITE' || pe.code === 'E_STORE') {
    const hint = readonly ? pe.hint : `${pe.hint}; to only read the run, open it read-only`;
    return new PipelineError({ code: 'E_STORE_OPEN', message: pe.message, hint }, { cause: e });
  }
  return pe;
}

function openDatabase(path: string, readonly: boolean, busyTimeoutMs: number): Database.Database {
  const memory = path === ':memory:';
  if (!memory) {
    if (readonly && !existsSync(path))
      fail(
        'E_STORE_OPEN',
        `${path}: no run database here`,
        'check the run id and the runs folder; runs/<run-id>/run.sqlite is created by `pipeline run`',
      );
    if (!readonly) {
      const dir = dirname(path);
      try {
        mkdirSync(dir, { recursive: true });
      } catch (e) {
        throw dirError(e, dir, path);
      }
    }
    if (existsSync(path) && statSync(path).isDirectory())
      fail(
        'E_STORE_OPEN',
        `${path}: is a folder, not a run database file`,
        'pass the path of the run.sqlite file inside the run folder',
      );
    // SQLite silently falls back to read-only for a file it may not write, so without this check
    // the first failure would come rounds later, at the first write.
    if (!readonly && existsSync(path)) {
      for (const target of [path, dirname(path)]) {
        try {
          accessSync(target, constants.W_OK);
        } catch (e) {
          throw new PipelineError(
            {
              code: 'E_STORE_OPEN',
              message: `${path}: cannot open the run database for writing: ${target} is not writable`,
              hint: 'fix the permissions of the file and its folder (SQLite writes -wal/-shm files next to it), or open the run read-only to inspect it',
            },
            { cause: e },
          );
        }
      }
    }
  }
  let db: Database.Database;
  try {
    db = new Database(path, { readonly, fileMustExist: readonly, timeout: busyTimeoutMs });
  } catch (e) {
    throw openFailure(e, path, readonly);
  }
  try {
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    if (readonly) {
      const version = checkIdentity(db, path, SCHEMA_VERSION);
      if (version < SCHEMA_VERSION)
        fail(
          'E_STORE_VERSION',
          version === 0
            ? `${path}: empty database, not a run database`
            : `${path}: run database has schema version ${version}; this build reads version ${SCHEMA_VERSION}`,
          version === 0
            ? 'pass the run.sqlite of an existing run'
            : 'open it once read-write (e.g. resume the run) to migrate it; migration only adds to it',
        );
    } else {
      // WAL lets reports and the UI read a run while it is being written, and a crash never
      // leaves a half-written transaction behind.
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal' && !memory)
        fail(
          'E_STORE_OPEN',
          `${path}: SQLite could not switch the run database to WAL mode (got '${String(mode)}')`,
          'keep runs/ on a local disk: network file systems do not support WAL',
        );
      // In WAL mode NORMAL only risks losing the last commits on power loss, never corruption,
      // and a lost commit is recomputed on resume.
      db.pragma('synchronous = NORMAL');
      migrate(db, path);
    }
  } catch (e) {
    db.close();
    throw openFailure(e, path, readonly);
  }
  return db;
}

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

// ---- the store -----------------------------------------------------------------------------------

export class RunStore {
  /** The database file (as given to openStore). */
  readonly path: string;
  readonly readonly: boolean;
  /**
   * The underlying connection, for ad-hoc read queries (reports). Writes through it bypass the
   * idempotency rules of the add* methods.
   */
  readonly db: Database.Database;
  #runId: string | undefined;
  #closed = false;
  readonly #now: () => Date;
  readonly #s: Statements;
  readonly #existing: Record<LedgerTable, Database.Statement>;

  /** Use openStore(). */
  constructor(db: Database.Database, path: string, readonly: boolean, now: () => Date) {
    this.db = db;
    this.path = path;
    this.readonly = readonly;
    this.#now = now;
    const s: Partial<Statements> = {};
    for (const [k, sql] of Object.entries(SQL)) s[k as keyof Statements] = db.prepare(sql);
    this.#s = s as Statements;
    const existing: Partial<Record<LedgerTable, Database.Statement>> = {};
    for (const t of LEDGER_TABLES)
      existing[t] = db.prepare(`SELECT id FROM ${t} WHERE run_id = ? AND input_hash = ?`);
    this.#existing = existing as Record<LedgerTable, Database.Statement>;
    const runs = this.#s.listRuns.all() as Raw[];
    // One run per file is the layout, so most callers never need useRun().
    if (runs.length === 1) this.#runId = runs[0].id as string;
  }

  // ---- plumbing ----------------------------------------------------------------------------------

  #guard<T>(op: string, fn: () => T): T {
    if (this.#closed)
      fail(
        'E_STORE_CLOSED',
        `${this.path}: ${op} after the run database was closed`,
        'this is a bug: a stage kept using the store after the run ended',
      );
    try {
      return fn();
    } catch (e) {
      throw storeError(e, this.path, op);
    }
  }

  #tx<T>(fn: () => T): T {
    const wrapped = this.db.transaction((): T => {
      const r = fn();
      if (r instanceof Promise)
        fail(
          'E_STORE_ASYNC',
          'a store transaction body returned a promise',
          'do the async work first, then write its results inside a synchronous transaction',
        );
      return r;
    });
    // IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes
    // fails with SQLITE_BUSY at once (no busy wait) when another connection wrote in between.
    return this.readonly ? wrapped.deferred() : wrapped.immediate();
  }

  #ts(): string {
    return this.#now().toISOString();
  }

  #json(value: unknown, field: string): string | null {
    if (value === undefined || value === null) return null;
    try {
      return JSON.stringify(value);
    } catch (e) {
      fail(
        'E_STORE_VALUE',
        `${field} cannot be stored as JSON: ${e instanceof Error ? e.message : String(e)}`,
        'pass plain JSON data (no BigInt, no circular references)',
      );
    }
  }

  #id(table: LedgerTable, hash: string): string {
    const h = createHash('sha256').update(`${this.runId}\0${hash}`).digest('hex').slice(0, 20);
    return `${ID_PREFIX[table]}_${h}`;
  }

  #ledgerInsert(table: LedgerTable, stmt: Database.Statement, params: Raw): string {
    const hash = params.inputHash;
    if (typeof hash !== 'string' || hash.length === 0)
      fail(
        'E_STORE_VALUE',
        `${table}: inputHash is required`,
        'compute it with inputHash(...) over everything that determines the row',
      );
    const id = this.#id(table, hash);
    const info = stmt.run({ ...params, id, runId: this.runId, now: this.#ts() });
    if (info.changes > 0) return id;
    const row = this.#existing[table].get(this.runId, hash) as { id: string } | undefined;
    if (!row)
      fail('E_STORE', `${table}: insert of ${id} neither stored a row nor found one`, 'report it');
    return row.id;
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

  /** The run this store writes to; E_STORE_NO_RUN until createRun/useRun. */
  get runId(): string {
    if (this.#runId === undefined)
      fail(
        'E_STORE_NO_RUN',
        `${this.path}: no run selected`,
        'call createRun() for a new run or useRun(id) for an existing one',
      );
    return this.#runId;
  }

  /** Runs `fn` in one transaction: everything it wrote is committed together or not at all. */
  transaction<T>(fn: () => T): T {
    return this.#guard('a transaction', () => this.#tx(fn));
  }

  /** Closes the connection (checkpointing the WAL); later calls fail with E_STORE_CLOSED. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.db.close();
    } catch (e) {
      throw storeError(e, this.path, 'closing');
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ---- runs ------------------------------------------------------------------------------------

  /**
   * Creates the run and selects it. Creating it again with the same pipeline text returns the
   * stored run (a resume); with a different text fails with E_STORE_CONFLICT, because the stored
   * rows would no longer describe what the file says.
   */
  createRun(spec: NewRun): RunRow {
    return this.#guard('creating the run', () =>
      this.#tx(() => {
        const pipelineHash = contentHash(spec.pipelineYaml);
        const existing = this.#getRun(spec.id);
        if (existing) {
          if (existing.pipelineHash !== pipelineHash)
            fail(
              'E_STORE_CONFLICT',
              `run '${spec.id}' was started from a different version of ${existing.pipelinePath}`,
              'start a new run, or restore the pipeline file as it was to resume this one',
            );
          this.#runId = existing.id;
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
          now: this.#ts(),
        });
        this.#runId = spec.id;
        return this.#mustRun(spec.id);
      }),
    );
  }

  /** Selects an existing run of this file. */
  useRun(id: string): RunRow {
    return this.#guard('selecting the run', () => {
      const run = this.#mustRun(id);
      this.#runId = id;
      return run;
    });
  }

  getRun(id: string = this.runId): RunRow | undefined {
    return this.#guard('reading the run', () => this.#getRun(id));
  }

  /** Every run in this file (normally one). */
  listRuns(): RunRow[] {
    return this.#guard('listing runs', () => (this.#s.listRuns.all() as Raw[]).map(mapRun));
  }

  /**
   * 'running' (a resume) clears finished_at and error; the other states stamp finished_at and
   * record `error` (a PipelineError, Error, or {code?, message, hint?}).
   */
  setRunStatus(status: RunStatus, error?: unknown): RunRow {
    return this.#guard('setting the run status', () =>
      this.#tx(() => {
        const runId = this.runId;
        this.#s.setRunStatus.run({
          runId,
          status,
          finishedAt: status === 'running' ? null : this.#ts(),
          error: status === 'running' ? null : this.#json(toStoredError(error), 'error'),
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
    return this.#guard('marking the run interrupted', () =>
      this.#tx(() => {
        const p = { runId: this.runId, now: this.#ts() };
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
    return this.#guard('counting rows', () => this.#s.runCounts.get({ runId }) as RunCounts);
  }

  // ---- rounds and stages -------------------------------------------------------------------------

  /**
   * Creates or updates round `round`. A round's policy and reference checkpoints are part of its
   * provenance: once set, changing them fails with E_STORE_CONFLICT. Status 'running' stamps
   * started_at (once); done/failed/interrupted stamp finished_at.
   */
  upsertRound(round: number, patch: RoundPatch = {}): RoundRow {
    return this.#guard(`updating round ${round}`, () =>
      this.#tx(() => {
        const runId = this.runId;
        const old = this.#s.getRound.get(runId, round) as RoundRow | undefined;
        for (const key of ['policyCheckpointId', 'referenceCheckpointId'] as const) {
          const was = old?.[key];
          const now = patch[key];
          if (was != null && now !== undefined && now !== was)
            fail(
              'E_STORE_CONFLICT',
              `round ${round} already has ${key === 'policyCheckpointId' ? 'policy' : 'reference'} checkpoint ${was}; refusing to change it to ${now}`,
              'a round keeps the checkpoints it started with; start a new run to change the model or reference',
            );
        }
        const status: StepStatus = patch.status ?? old?.status ?? 'pending';
        const ts = this.#ts();
        let startedAt = old?.startedAt ?? null;
        if (status === 'running' && startedAt === null) startedAt = ts;
        let finishedAt = old?.finishedAt ?? null;
        if (patch.status !== undefined) finishedAt = FINISHED.has(status) ? ts : null;
        this.#s.upsertRound.run({
          runId,
          round,
          policyCheckpointId: patch.policyCheckpointId ?? old?.policyCheckpointId ?? null,
          referenceCheckpointId: patch.referenceCheckpointId ?? old?.referenceCheckpointId ?? null,
          status,
          startedAt,
          finishedAt,
        });
        return this.#s.getRound.get(runId, round) as RoundRow;
      }),
    );
  }

  getRound(round: number): RoundRow | undefined {
    return this.#guard(`reading round ${round}`, () => {
      return this.#s.getRound.get(this.runId, round) as RoundRow | undefined;
    });
  }

  listRounds(): RoundRow[] {
    return this.#guard('listing rounds', () => this.#s.listRounds.all(this.runId) as RoundRow[]);
  }

  /**
   * Marks stage `stageIndex` of `round` running (again, on resume: attempts counts them). The
   * round must exist. A stored stage of another kind means the pipeline's stages changed since
   * the run started: E_STORE_CONFLICT.
   */
  startStage(round: number, stageIndex: number, kind: string): StageRow {
    return this.#guard(`starting stage ${stageIndex} of round ${round}`, () =>
      this.#tx(() => {
        const runId = this.runId;
        const old = this.#s.getStage.get(runId, round, stageIndex) as Raw | undefined;
        if (old && old.kind !== kind)
          fail(
            'E_STORE_CONFLICT',
            `stage ${stageIndex} of round ${round} was a '${String(old.kind)}' stage in this run, now '${kind}'`,
            "the pipeline's stages changed since the run started; start a new run",
          );
        this.#s.startStage.run({ runId, round, stageIndex, kind, now: this.#ts() });
        return mapStage(this.#s.getStage.get(runId, round, stageIndex) as Raw);
      }),
    );
  }

  finishStage(round: number, stageIndex: number, finish: StageFinish = {}): StageRow {
    return this.#guard(`finishing stage ${stageIndex} of round ${round}`, () =>
      this.#tx(() => {
        const runId = this.runId;
        const info = this.#s.finishStage.run({
          runId,
          round,
          stageIndex,
          status: finish.status ?? 'done',
          now: this.#ts(),
          counts: this.#json(finish.counts, 'counts'),
          error: this.#json(toStoredError(finish.error), 'error'),
        });
        if (info.changes === 0)
          fail(
            'E_STORE_NOT_FOUND',
            `stage ${stageIndex} of round ${round} was never started`,
            'call startStage() before finishStage()',
          );
        return mapStage(this.#s.getStage.get(runId, round, stageIndex) as Raw);
      }),
    );
  }

  /** The stored state of a stage; resume skips stages whose status is 'done'. */
  getStage(round: number, stageIndex: number): StageRow | undefined {
    return this.#guard(`reading stage ${stageIndex} of round ${round}`, () => {
      const r = this.#s.getStage.get(this.runId, round, stageIndex) as Raw | undefined;
      return r && mapStage(r);
    });
  }

  stagesForRound(round: number): StageRow[] {
    return this.#guard(`listing stages of round ${round}`, () =>
      (this.#s.stagesForRound.all(this.runId, round) as Raw[]).map(mapStage),
    );
  }

  // ---- texts -----------------------------------------------------------------------------------

  /**
   * Stores a constitution/rubric/template/prompt-file text by the sha256 of its content and
   * returns the hash. The first path a text was seen at is kept.
   */
  putText(kind: TextKind, path: string | null, content: string): string {
    return this.#guard(`storing ${kind} ${path ?? ''}`.trim(), () => {
      const hash = contentHash(content);
      this.#s.insertText.run({ hash, kind, path, content, now: this.#ts() });
      return hash;
    });
  }

  getText(hash: string): TextRow | undefined {
    return this.#guard('reading a text', () => this.#s.getText.get(hash) as TextRow | undefined);
  }

  // ---- stage outputs -----------------------------------------------------------------------------

  /** The id of the row with this input hash, if it is already stored (resume: skip the work). */
  existingId(table: LedgerTable, hash: string): string | undefined {
    return this.#guard(`looking up ${table}`, () => {
      if (!LEDGER_TABLES.includes(table))
        fail('E_STORE_VALUE', `unknown ledger table '${String(table)}'`, LEDGER_TABLES.join(', '));
      const r = this.#existing[table].get(this.runId, hash) as { id: string } | undefined;
      return r?.id;
    });
  }

  addPrompt(p: NewPrompt): string {
    return this.#guard('adding a prompt', () =>
      this.#ledgerInsert('prompts', this.#s.insertPrompt, {
        round: p.round,
        stageIndex: p.stageIndex ?? null,
        source: p.source,
        messages: this.#json(p.messages, 'messages'),
        fileHash: p.fileHash ?? null,
        meta: this.#json(p.meta, 'meta'),
        inputHash: p.inputHash,
      }),
    );
  }

  getPrompt(id: string): PromptRow | undefined {
    return this.#guard('reading a prompt', () => {
      const r = this.#s.getPrompt.get(id) as Raw | undefined;
      return r && mapPrompt(r);
    });
  }

  promptsForRound(round: number): PromptRow[] {
    return this.#guard(`listing prompts of round ${round}`, () =>
      (this.#s.promptsForRound.all(this.runId, round) as Raw[]).map(mapPrompt),
    );
  }

  addCandidate(c: NewCandidate): string {
    return this.#guard('adding a candidate', () =>
      this.#ledgerInsert('candidates', this.#s.insertCandidate, {
        round: c.round,
        stageIndex: c.stageIndex ?? null,
        promptId: c.promptId,
        idx: c.idx,
        text: c.text,
        tokenIds: c.tokenIds == null ? null : this.#json(Array.from(c.tokenIds), 'tokenIds'),
        logprobsSum: c.logprobsSum ?? null,
        finishReason: c.finishReason ?? null,
        sampling: this.#json(c.sampling, 'sampling'),
        seed: c.seed ?? null,
        checkpointId: c.checkpointId ?? null,
        origin: c.origin ?? 'sample',
        parentCandidateId: c.parentCandidateId ?? null,
        meta: this.#json(c.meta, 'meta'),
        inputHash: c.inputHash,
      }),
    );
  }

  getCandidate(id: string): CandidateRow | undefined {
    return this.#guard('reading a candidate', () => {
      const r = this.#s.getCandidate.get(id) as Raw | undefined;
      return r && mapCandidate(r);
    });
  }

  /** Samples first (by idx), then revisions. */
  candidatesForPrompt(round: number, promptId: string): CandidateRow[] {
    return this.#guard('listing candidates', () =>
      (this.#s.candidatesForPrompt.all(this.runId, round, promptId) as Raw[]).map(mapCandidate),
    );
  }

  addJudgement(j: NewJudgement): string {
    return this.#guard('adding a judgement', () =>
      this.#ledgerInsert('judgements', this.#s.insertJudgement, {
        round: j.round,
        stageIndex: j.stageIndex ?? null,
        judgeId: j.judgeId,
        judgeCheckpointId: j.judgeCheckpointId ?? null,
        mode: j.mode,
        candidateId: j.candidateId,
        otherCandidateId: j.otherCandidateId ?? null,
        principleId: j.principleId ?? null,
        rubricHash: j.rubricHash ?? null,
        constitutionHash: j.constitutionHash ?? null,
        renderedPrompt: j.renderedPrompt ?? null,
        rawOutput: j.rawOutput ?? null,
        score: j.score ?? null,
        verdict: j.verdict ?? null,
        parseError: j.parseError ?? null,
        sampleIdx: j.sampleIdx ?? 0,
        detail: this.#json(j.detail, 'detail'),
        inputHash: j.inputHash,
      }),
    );
  }

  getJudgement(id: string): JudgementRow | undefined {
    return this.#guard('reading a judgement', () => {
      const r = this.#s.getJudgement.get(id) as Raw | undefined;
      return r && mapJudgement(r);
    });
  }

  /** Every judgement of the candidate, whether it was shown as (A) or as (B). */
  judgementsForCandidate(candidateId: string): JudgementRow[] {
    return this.#guard('listing judgements', () =>
      (this.#s.judgementsForCandidate.all({ id: candidateId }) as Raw[]).map(mapJudgement),
    );
  }

  addPair(p: NewPair): string {
    return this.#guard('adding a pair', () =>
      this.#ledgerInsert('pairs', this.#s.insertPair, {
        round: p.round,
        stageIndex: p.stageIndex ?? null,
        promptId: p.promptId,
        chosenCandidateId: p.chosenCandidateId,
        rejectedCandidateId: p.rejectedCandidateId,
        chosenScore: p.chosenScore ?? null,
        rejectedScore: p.rejectedScore ?? null,
        strategy: p.strategy,
        softLabel: p.softLabel ?? null,
        inputHash: p.inputHash,
      }),
    );
  }

  getPair(id: string): PairRow | undefined {
    return this.#guard('reading a pair', () => this.#s.getPair.get(id) as PairRow | undefined);
  }

  pairsForRound(round: number): PairRow[] {
    return this.#guard(`listing pairs of round ${round}`, () => {
      return this.#s.pairsForRound.all(this.runId, round) as PairRow[];
    });
  }

  addPairDiscard(d: NewPairDiscard): string {
    return this.#guard('adding a pair discard', () =>
      this.#ledgerInsert('pair_discards', this.#s.insertDiscard, {
        round: d.round,
        stageIndex: d.stageIndex ?? null,
        promptId: d.promptId,
        reason: d.reason,
        detail: this.#json(d.detail, 'detail'),
        inputHash: d.inputHash ?? inputHash(d.round, d.stageIndex ?? null, d.promptId, d.reason),
      }),
    );
  }

  discardsForRound(round: number): PairDiscardRow[] {
    return this.#guard(`listing discards of round ${round}`, () =>
      (this.#s.discardsForRound.all(this.runId, round) as Raw[]).map(mapDiscard),
    );
  }

  /** Discards of a round counted by reason. */
  discardCounts(round: number): Record<string, number> {
    return this.#guard(`counting discards of round ${round}`, () => {
      const out: Record<string, number> = {};
      for (const r of this.#s.discardCounts.all(this.runId, round) as {
        reason: string;
        n: number;
      }[])
        out[r.reason] = r.n;
      return out;
    });
  }

  addCheckpoint(c: NewCheckpoint): string {
    return this.#guard('adding a checkpoint', () =>
      this.#ledgerInsert('checkpoints', this.#s.insertCheckpoint, {
        round: c.round,
        kind: c.kind,
        path: c.path,
        contentHash: c.contentHash ?? null,
        parentId: c.parentId ?? null,
        inputHash:
          c.inputHash ??
          inputHash(c.round, c.kind, c.path, c.contentHash ?? null, c.parentId ?? null),
      }),
    );
  }

  getCheckpoint(id: string): CheckpointRow | undefined {
    return this.#guard('reading a checkpoint', () => {
      return this.#s.getCheckpoint.get(id) as CheckpointRow | undefined;
    });
  }

  listCheckpoints(): CheckpointRow[] {
    return this.#guard('listing checkpoints', () => {
      return this.#s.listCheckpoints.all(this.runId) as CheckpointRow[];
    });
  }

  /** Records (or, when a restarted training replays the step, replaces) one step's metrics. */
  addTrainStep(t: NewTrainStep): void {
    this.#guard(`adding train step ${t.step}`, () => {
      this.#s.upsertTrainStep.run({
        runId: this.runId,
        round: t.round,
        step: t.step,
        stageIndex: t.stageIndex ?? null,
        metrics: this.#json(t.metrics, 'metrics'),
        now: this.#ts(),
      });
    });
  }

  trainStepsForRound(round: number): TrainStepRow[] {
    return this.#guard(`listing train steps of round ${round}`, () =>
      (this.#s.trainStepsForRound.all(this.runId, round) as Raw[]).map(mapTrainStep),
    );
  }

  /** For a training stage that restarts from step 0: forget the steps of the failed attempt. */
  clearTrainSteps(round: number): number {
    return this.#guard(`clearing train steps of round ${round}`, () => {
      return this.#s.clearTrainSteps.run(this.runId, round).changes;
    });
  }

  /** Records (or replaces) metric `metric` of `round`. */
  putEvalMetric(m: NewEvalMetric): void {
    this.#guard(`storing eval metric ${m.metric}`, () => {
      this.#s.upsertEval.run({
        runId: this.runId,
        round: m.round,
        metric: m.metric,
        stageIndex: m.stageIndex ?? null,
        value: m.value,
        detail: this.#json(m.detail, 'detail'),
        now: this.#ts(),
      });
    });
  }

  evalMetrics(runId: string = this.runId): EvalMetricRow[] {
    return this.#guard('listing eval metrics', () =>
      (this.#s.evalMetrics.all(runId) as Raw[]).map(mapEval),
    );
  }

  // ---- events ----------------------------------------------------------------------------------

  addEvent(e: NewEvent): number {
    return this.#guard(`logging event ${e.type}`, () => {
      const info = this.#s.insertEvent.run({
        runId: this.runId,
        round: e.round ?? null,
        stageIndex: e.stageIndex ?? null,
        type: e.type,
        data: this.#json(e.data, 'data'),
        now: this.#ts(),
      });
      return Number(info.lastInsertRowid);
    });
  }

  /** Events with id > afterId, oldest first (tail a running run with the last id seen). */
  eventsSince(afterId = 0, limit = 1000): EventRow[] {
    return this.#guard('reading events', () =>
      (this.#s.eventsSince.all(this.runId, afterId, limit) as Raw[]).map(
        (r) => ({ ...r, data: parseJson(r.data) }) as EventRow,
      ),
    );
  }

  // ---- provenance --------------------------------------------------------------------------------

  /**
   * Walks from a pair back to everything it came from: the run and its pipeline text, the round
   * (policy and reference checkpoints), the prompt's messages, both candidates with the
   * checkpoint that generated them, each candidate's judgements (rendered prompt, raw output,
   * rubric/constitution hashes) with the texts themselves, and for revisions the original
   * candidate. Read in one transaction, so a concurrent writer cannot tear it.
   */
  tracePair(pairId: string): PairTrace {
    return this.#guard(`tracing pair ${pairId}`, () =>
      this.db
        .transaction((): PairTrace => {
          const pairRaw = this.#s.getPair.get(pairId) as PairRow | undefined;
          if (!pairRaw)
            fail(
              'E_STORE_NOT_FOUND',
              `${this.path}: no pair '${pairId}'`,
              'pair ids are listed by pairsForRound() and in exported preference data',
            );
          const pair = pairRaw;
          const run = this.#mustRun(pair.runId);
          const round = (this.#s.getRound.get(pair.runId, pair.round) as RoundRow) ?? null;
          const prompt = mapPrompt(this.#s.getPrompt.get(pair.promptId) as Raw);
          const checkpoints: Record<string, CheckpointRow> = {};
          const texts: Record<string, TextRow> = {};

          const getCheckpoint = (id: string) =>
            this.#s.getCheckpoint.get(id) as CheckpointRow | undefined;
          // Adds a checkpoint and its lineage up to the base model; stopping at the first one
          // already collected also stops a (malformed) parent cycle.
          const addCheckpoint = (id: string | null): CheckpointRow | null => {
            if (id === null) return null;
            const first = checkpoints[id] ?? getCheckpoint(id) ?? null;
            let cur: CheckpointRow | undefined = first ?? undefined;
            while (cur && !(cur.id in checkpoints)) {
              checkpoints[cur.id] = cur;
              cur = cur.parentId === null ? undefined : getCheckpoint(cur.parentId);
            }
            return first;
          };
          const addText = (hash: string | null): void => {
            if (hash === null || hash in texts) return;
            const t = this.#s.getText.get(hash) as TextRow | undefined;
            if (t) texts[hash] = t;
          };
          const trace = (id: string, seen: Set<string>): CandidateTrace => {
            const candidate = mapCandidate(this.#s.getCandidate.get(id) as Raw);
            seen.add(id);
            const judgements = (this.#s.judgementsForCandidate.all({ id }) as Raw[]).map(
              mapJudgement,
            );
            for (const j of judgements) {
              addText(j.rubricHash);
              addText(j.constitutionHash);
              addCheckpoint(j.judgeCheckpointId);
            }
            const parent = candidate.parentCandidateId;
            return {
              candidate,
              checkpoint: addCheckpoint(candidate.checkpointId),
              judgements,
              revisedFrom: parent !== null && !seen.has(parent) ? trace(parent, seen) : null,
            };
          };

          const chosen = trace(pair.chosenCandidateId, new Set());
          const rejected = trace(pair.rejectedCandidateId, new Set());
          if (round) {
            addCheckpoint(round.policyCheckpointId);
            addCheckpoint(round.referenceCheckpointId);
          }
          return { pair, run, round, prompt, chosen, rejected, texts, checkpoints };
        })
        .deferred(),
    );
  }
}

// ---- row mappers ---------------------------------------------------------------------------------

function mapRun(r: Raw): RunRow {
  return { ...(r as unknown as RunRow), error: parseJson<StoredError>(r.error) };
}

function mapStage(r: Raw): StageRow {
  return {
    ...(r as unknown as StageRow),
    counts: parseJson<Record<string, number>>(r.counts),
    error: parseJson<StoredError>(r.error),
  };
}

function mapPrompt(r: Raw): PromptRow {
  return {
    ...(r as unknown as PromptRow),
    messages: parseJson(r.messages) ?? [],
    meta: parseJson(r.meta),
  };
}

function mapCandidate(r: Raw): CandidateRow {
  return {
    ...(r as unknown as CandidateRow),
    tokenIds: parseJson(r.tokenIds),
    sampling: parseJson(r.sampling) as CandidateRow['sampling'],
    meta: parseJson(r.meta),
  };
}

function mapJudgement(r: Raw): JudgementRow {
  return { ...(r as unknown as JudgementRow), detail: parseJson(r.detail) };
}

function mapDiscard(r: Raw): PairDiscardRow {
  return { ...(r as unknown as PairDiscardRow), detail: parseJson(r.detail) };
}

function mapTrainStep(r: Raw): TrainStepRow {
  return { ...(r as unknown as TrainStepRow), metrics: parseJson(r.metrics) ?? {} };
}

function mapEval(r: Raw): EvalMetricRow {
  return { ...(r as unknown as EvalMetricRow), detail: parseJson(r.detail) };
}
