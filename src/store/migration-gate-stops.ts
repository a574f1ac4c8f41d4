// Migration 2: the gate that stopped a run.
//
// A stopped run keeps `runs.status = 'finished'` in the column and gets rows here; the store reads
// such a run's status as 'stopped' (run-store.ts, RUN_COLS). Why not a new value in the CHECK of
// `runs.status`: SQLite changes a CHECK only by rebuilding the table, and `runs` is the parent of
// every ledger table; with foreign_keys ON (every connection, and the pragma cannot change inside
// the migration's transaction) dropping it fails, and editing sqlite_schema is refused in
// better-sqlite3's defensive mode. A table of its own also keeps what a status could not: which
// gate, the value it saw, and where.

export const V2_GATE_STOPS = /* sql */ `
CREATE TABLE gate_stops (
  run_id      TEXT NOT NULL REFERENCES runs (id),
  round       INTEGER NOT NULL CHECK (round >= 0),
  stage_index INTEGER NOT NULL CHECK (stage_index >= 0),
  -- the gate's position in the evaluate stage's \`gates\` list
  gate_index  INTEGER NOT NULL CHECK (gate_index >= 0),
  metric      TEXT NOT NULL,
  op          TEXT NOT NULL CHECK (op IN ('<', '<=', '>', '>=')),
  threshold   REAL NOT NULL,
  action      TEXT NOT NULL CHECK (action = 'stop'),
  value       REAL NOT NULL,
  created_at  TEXT NOT NULL,
  PRIMARY KEY (run_id, round, stage_index, gate_index),
  FOREIGN KEY (run_id, round, stage_index) REFERENCES stage_runs (run_id, round, stage_index)
) STRICT;
`;
