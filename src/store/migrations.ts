// The schema of a run database, as numbered forward-only migrations: MIGRATIONS[i] takes a
// database from `PRAGMA user_version` i to i + 1. A released migration is never edited (databases
// in the wild already ran it); change the schema by appending one.
//
// Conventions every table follows:
// - STRICT, so a stage that binds the wrong type fails loudly instead of storing '0.5' as text.
// - TEXT ids and hashes; JSON columns are TEXT checked with json_valid() (and the expected
//   top-level type: `json_type()` raises on malformed JSON, hence the CASE guard).
// - Stage outputs carry (run_id, round, stage_index, input_hash) with UNIQUE(run_id, input_hash):
//   the idempotency key that lets a resumed run skip what is already stored.
// - A migration that rebuilds a table must keep `PRAGMA foreign_key_check` clean: foreign_keys
//   is ON for every connection and cannot be switched off inside the migration transaction.

import type Database from 'better-sqlite3';
import { fail } from '../core/errors.js';
import { V2_GATE_STOPS } from './migration-gate-stops.js';
import { V3_INPUTS } from './migration-inputs.js';
import { V4_AUDIT } from './migration-audit.js';
import { V_META_JUDGE } from './migration-meta-judge.js';
import { V_CANDIDATE_LABELS } from './migration-candidate-labels.js';
import { V_RL_SAMPLES } from './migration-rl-samples.js';
import { V_SERVED_MODELS } from './migration-served-models.js';

/** 'RLAF' as a big-endian int32: `PRAGMA application_id` marks a file as a run database. */
export const APPLICATION_ID = 0x524c4146;

// Pieces the ledger tables repeat, written once. V1's text must stay byte-identical
// (test/store/migrations-pinned.test.ts pins its hash): these expand to exactly what was released.

/** A stage output's identity and place: id, run, round, stage (names padded to `width`). */
function stageOutputHead(width: number): string {
  return [
    `${'id'.padEnd(width)} TEXT PRIMARY KEY,`,
    `  ${'run_id'.padEnd(width)} TEXT NOT NULL REFERENCES runs (id),`,
    `  ${'round'.padEnd(width)} INTEGER NOT NULL,`,
    `  ${'stage_index'.padEnd(width)} INTEGER,`,
  ].join('\n');
}

/** The idempotency key: input_hash, created_at (names padded to the table's column `width`), UNIQUE. */
function idempotencyKey(width: number): string {
  return [
    `${'input_hash'.padEnd(width)} TEXT NOT NULL,`,
    `  ${'created_at'.padEnd(width)} TEXT NOT NULL,`,
    '  UNIQUE (run_id, input_hash),',
  ].join('\n');
}

/** A stage output belongs to its round and its stage run; the table ends here. */
const STAGE_RUN_KEYS = `FOREIGN KEY (run_id, round) REFERENCES rounds (run_id, round),
  FOREIGN KEY (run_id, round, stage_index) REFERENCES stage_runs (run_id, round, stage_index)
) STRICT;`;

const V1 = /* sql */ `
PRAGMA application_id = ${APPLICATION_ID};

CREATE TABLE runs (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  pipeline_path TEXT NOT NULL,
  pipeline_yaml TEXT NOT NULL,
  pipeline_hash TEXT NOT NULL,
  seed          INTEGER,
  tool_version  TEXT,
  status        TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'interrupted')),
  created_at    TEXT NOT NULL,
  finished_at   TEXT,
  error         TEXT CHECK (error IS NULL OR json_valid(error))
) STRICT;

-- round r's policy is checkpoint M_r; the checkpoint a round's training produces has round r + 1.
CREATE TABLE checkpoints (
  id           TEXT PRIMARY KEY,
  run_id       TEXT NOT NULL REFERENCES runs (id),
  round        INTEGER NOT NULL CHECK (round >= 0),
  kind         TEXT NOT NULL CHECK (kind IN ('base', 'adapter', 'merged')),
  path         TEXT NOT NULL,
  content_hash TEXT,
  parent_id    TEXT REFERENCES checkpoints (id),
  ${idempotencyKey(12)}
  CHECK ((kind = 'base') = (parent_id IS NULL))
) STRICT;

CREATE TABLE rounds (
  run_id                  TEXT NOT NULL REFERENCES runs (id),
  round                   INTEGER NOT NULL CHECK (round >= 0),
  policy_checkpoint_id    TEXT REFERENCES checkpoints (id),
  reference_checkpoint_id TEXT REFERENCES checkpoints (id),
  status     TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'interrupted', 'failed')),
  started_at  TEXT,
  finished_at TEXT,
  PRIMARY KEY (run_id, round)
) STRICT;

CREATE TABLE stage_runs (
  run_id      TEXT NOT NULL,
  round       INTEGER NOT NULL,
  stage_index INTEGER NOT NULL CHECK (stage_index >= 0),
  kind        TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'interrupted', 'failed')),
  attempts    INTEGER NOT NULL DEFAULT 1,
  started_at  TEXT,
  finished_at TEXT,
  counts      TEXT CHECK (counts IS NULL OR CASE WHEN json_valid(counts) THEN json_type(counts) = 'object' ELSE 0 END),
  error       TEXT CHECK (error IS NULL OR json_valid(error)),
  PRIMARY KEY (run_id, round, stage_index),
  FOREIGN KEY (run_id, round) REFERENCES rounds (run_id, round)
) STRICT;

-- Content-addressed: the exact bytes of every constitution / rubric / template version used.
CREATE TABLE texts (
  hash       TEXT PRIMARY KEY CHECK (length(hash) = 64),
  kind       TEXT NOT NULL CHECK (kind IN ('constitution', 'rubric', 'template', 'prompt_file')),
  path       TEXT,
  content    TEXT NOT NULL,
  created_at TEXT NOT NULL
) STRICT;

CREATE TABLE prompts (
  ${stageOutputHead(11)}
  source      TEXT NOT NULL CHECK (source IN ('seed', 'self_instruct', 'probe')),
  messages    TEXT NOT NULL CHECK (CASE WHEN json_valid(messages) THEN json_type(messages) = 'array' ELSE 0 END),
  file_hash   TEXT REFERENCES texts (hash),
  meta        TEXT CHECK (meta IS NULL OR json_valid(meta)),
  ${idempotencyKey(11)}
  ${STAGE_RUN_KEYS}
CREATE INDEX prompts_round ON prompts (run_id, round);

CREATE TABLE candidates (
  ${stageOutputHead(19)}
  prompt_id           TEXT NOT NULL REFERENCES prompts (id),
  idx                 INTEGER NOT NULL CHECK (idx >= 0),
  text                TEXT NOT NULL,
  token_ids           TEXT CHECK (token_ids IS NULL OR CASE WHEN json_valid(token_ids) THEN json_type(token_ids) = 'array' ELSE 0 END),
  logprobs_sum        REAL,
  finish_reason       TEXT,
  sampling            TEXT NOT NULL CHECK (CASE WHEN json_valid(sampling) THEN json_type(sampling) = 'object' ELSE 0 END),
  seed                INTEGER,
  checkpoint_id       TEXT REFERENCES checkpoints (id),
  origin              TEXT NOT NULL CHECK (origin IN ('sample', 'revision')),
  parent_candidate_id TEXT,
  meta                TEXT CHECK (meta IS NULL OR json_valid(meta)),
  ${idempotencyKey(19)}
  -- the target of the composite keys below: a pair or revision must stay within one prompt
  UNIQUE (id, prompt_id),
  CHECK ((origin = 'revision') = (parent_candidate_id IS NOT NULL)),
  FOREIGN KEY (parent_candidate_id, prompt_id) REFERENCES candidates (id, prompt_id),
  ${STAGE_RUN_KEYS}
CREATE INDEX candidates_prompt ON candidates (prompt_id, round, origin, idx);

-- Pairwise rows show candidate_id as (A) and other_candidate_id as (B).
CREATE TABLE judgements (
  ${stageOutputHead(19)}
  judge_id            TEXT NOT NULL,
  judge_checkpoint_id TEXT REFERENCES checkpoints (id),
  mode                TEXT NOT NULL CHECK (mode IN ('generate', 'logprobs', 'pairwise', 'rule')),
  candidate_id        TEXT NOT NULL REFERENCES candidates (id),
  other_candidate_id  TEXT REFERENCES candidates (id),
  principle_id        TEXT,
  rubric_hash         TEXT REFERENCES texts (hash),
  constitution_hash   TEXT REFERENCES texts (hash),
  rendered_prompt     TEXT,
  raw_output          TEXT,
  score               REAL,
  verdict             TEXT CHECK (verdict IS NULL OR verdict IN ('A', 'B', 'tie')),
  parse_error         TEXT,
  sample_idx          INTEGER NOT NULL DEFAULT 0 CHECK (sample_idx >= 0),
  detail              TEXT CHECK (detail IS NULL OR json_valid(detail)),
  ${idempotencyKey(19)}
  CHECK ((mode = 'pairwise') = (other_candidate_id IS NOT NULL)),
  CHECK (other_candidate_id IS NULL OR other_candidate_id <> candidate_id),
  CHECK (verdict IS NULL OR mode = 'pairwise'),
  CHECK (mode = 'rule' OR (rubric_hash IS NOT NULL AND rendered_prompt IS NOT NULL)),
  ${STAGE_RUN_KEYS}
CREATE INDEX judgements_candidate ON judgements (candidate_id);
CREATE INDEX judgements_other ON judgements (other_candidate_id) WHERE other_candidate_id IS NOT NULL;

CREATE TABLE pairs (
  ${stageOutputHead(21)}
  prompt_id             TEXT NOT NULL REFERENCES prompts (id),
  chosen_candidate_id   TEXT NOT NULL,
  rejected_candidate_id TEXT NOT NULL,
  chosen_score          REAL,
  rejected_score        REAL,
  strategy              TEXT NOT NULL,
  soft_label            REAL CHECK (soft_label IS NULL OR (soft_label >= 0 AND soft_label <= 1)),
  ${idempotencyKey(21)}
  CHECK (chosen_candidate_id <> rejected_candidate_id),
  FOREIGN KEY (chosen_candidate_id, prompt_id) REFERENCES candidates (id, prompt_id),
  FOREIGN KEY (rejected_candidate_id, prompt_id) REFERENCES candidates (id, prompt_id),
  ${STAGE_RUN_KEYS}
CREATE INDEX pairs_round ON pairs (run_id, round);

CREATE TABLE pair_discards (
  ${stageOutputHead(11)}
  prompt_id   TEXT NOT NULL REFERENCES prompts (id),
  reason      TEXT NOT NULL,
  detail      TEXT CHECK (detail IS NULL OR json_valid(detail)),
  ${idempotencyKey(11)}
  ${STAGE_RUN_KEYS}
CREATE INDEX pair_discards_round ON pair_discards (run_id, round);

CREATE TABLE train_steps (
  run_id      TEXT NOT NULL,
  round       INTEGER NOT NULL,
  step        INTEGER NOT NULL CHECK (step >= 0),
  stage_index INTEGER,
  metrics     TEXT NOT NULL CHECK (CASE WHEN json_valid(metrics) THEN json_type(metrics) = 'object' ELSE 0 END),
  created_at  TEXT NOT NULL,
  PRIMARY KEY (run_id, round, step),
  ${STAGE_RUN_KEYS}

-- value is NULL when the metric was not finite (SQLite stores a bound NaN as NULL).
CREATE TABLE eval_metrics (
  run_id      TEXT NOT NULL,
  round       INTEGER NOT NULL,
  metric      TEXT NOT NULL,
  stage_index INTEGER,
  value       REAL,
  detail      TEXT CHECK (detail IS NULL OR json_valid(detail)),
  created_at  TEXT NOT NULL,
  PRIMARY KEY (run_id, round, metric),
  ${STAGE_RUN_KEYS}

CREATE TABLE events (
  id          INTEGER PRIMARY KEY,
  run_id      TEXT NOT NULL REFERENCES runs (id),
  round       INTEGER,
  stage_index INTEGER,
  at          TEXT NOT NULL,
  type        TEXT NOT NULL,
  data        TEXT CHECK (data IS NULL OR json_valid(data))
) STRICT;
CREATE INDEX events_run ON events (run_id, id);
`;

/** MIGRATIONS[i] takes user_version i to i + 1. Append only. */
export const MIGRATIONS: readonly string[] = Object.freeze([
  V1,
  V2_GATE_STOPS,
  V3_INPUTS,
  V4_AUDIT,
  V_META_JUDGE,
  V_CANDIDATE_LABELS,
  V_RL_SAMPLES,
  V_SERVED_MODELS,
]);

/** The schema version this build writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;

export interface MigrationResult {
  from: number;
  to: number;
}

function tooNew(path: string, found: number, known: number): never {
  fail(
    'E_STORE_VERSION',
    `${path}: run database has schema version ${found}, newer than the ${known} this build of rlaif-pipeline knows`,
    'it was written by a newer rlaif-pipeline; upgrade this tool to open it (the file is left untouched)',
  );
}

function notOurs(path: string, why: string): never {
  fail(
    'E_STORE_OPEN',
    `${path}: not a rlaif-pipeline run database (${why})`,
    'pass the run.sqlite file of a run (runs/<run-id>/run.sqlite), or a path where a new one can be created',
  );
}

/** Throws unless the file is (or can become) a run database this build understands. */
export function checkIdentity(db: Database.Database, path: string, known: number): number {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  if (appId !== 0 && appId !== APPLICATION_ID)
    notOurs(path, `application_id is 0x${(appId >>> 0).toString(16)}`);
  if (version > known) tooNew(path, version, known);
  if (version === 0) {
    const n = (
      db
        .prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'")
        .get() as {
        n: number;
      }
    ).n;
    if (n > 0) notOurs(path, `it already holds ${n} tables or indexes but no schema version`);
  }
  return version;
}

/**
 * Brings the database to `migrations.length`, applying every missing migration and the new
 * user_version in one IMMEDIATE transaction: a failure leaves the previous version intact, and
 * two processes opening a fresh file at once cannot both run migration 1 (the version is read
 * after the write lock is taken).
 */
export function migrate(
  db: Database.Database,
  path: string,
  migrations: readonly string[] = MIGRATIONS,
): MigrationResult {
  // The common case (already current) must not take the write lock: a reader opening a run
  // that another process is writing would otherwise wait for the writer.
  const current = checkIdentity(db, path, migrations.length);
  if (current === migrations.length) return { from: current, to: current };
  const run = db.transaction((): MigrationResult => {
    const from = checkIdentity(db, path, migrations.length);
    for (let v = from; v < migrations.length; v++) db.exec(migrations[v]);
    if (from !== migrations.length) db.pragma(`user_version = ${migrations.length}`);
    return { from, to: migrations.length };
  });
  return run.immediate();
}
