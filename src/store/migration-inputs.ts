// Migration 3: what a resume checks first. input_files pins every file a run reads (by sha256 of
// its bytes); input_changes records each `--accept-changed` (who, when, old and new hash);
// round_resets records each `--from-round` and checkpoint_discards the checkpoints it set aside
// (rows are kept: provenance survives, the runner just no longer builds on them).
export const V3_INPUTS = /* sql */ `
CREATE TABLE input_files (
  run_id       TEXT NOT NULL REFERENCES runs (id),
  path         TEXT NOT NULL,
  ref          TEXT NOT NULL,
  content_hash TEXT NOT NULL CHECK (length(content_hash) = 64),
  pinned_at    TEXT NOT NULL,
  PRIMARY KEY (run_id, path)
) STRICT;

CREATE TABLE input_changes (
  id          INTEGER PRIMARY KEY,
  run_id      TEXT NOT NULL REFERENCES runs (id),
  path        TEXT NOT NULL,
  old_hash    TEXT NOT NULL,
  new_hash    TEXT NOT NULL,
  accepted_by TEXT NOT NULL,
  accepted_at TEXT NOT NULL,
  FOREIGN KEY (run_id, path) REFERENCES input_files (run_id, path)
) STRICT;

CREATE TABLE round_resets (
  id         INTEGER PRIMARY KEY,
  run_id     TEXT NOT NULL REFERENCES runs (id),
  from_round INTEGER NOT NULL CHECK (from_round >= 1),
  reset_by   TEXT NOT NULL,
  reset_at   TEXT NOT NULL,
  detail     TEXT CHECK (detail IS NULL OR json_valid(detail))
) STRICT;

CREATE TABLE checkpoint_discards (
  checkpoint_id TEXT PRIMARY KEY REFERENCES checkpoints (id),
  run_id        TEXT NOT NULL REFERENCES runs (id),
  reset_id      INTEGER NOT NULL REFERENCES round_resets (id),
  reason        TEXT NOT NULL
) STRICT;
`;
