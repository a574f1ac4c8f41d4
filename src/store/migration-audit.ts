// Migration 4: the human audit. Each round an audit stage draws a stratified sample of the
// round's pairs into audit_items (the queue); annotators label them on `pipeline audit`'s page or
// by CSV into audit_labels. A pair is shown with its answers in a seeded order (`swapped`: the
// chosen answer is shown as B), so a label is stored as the key the annotator pressed (A / B /
// tie / skip) and read as chosen / rejected through `swapped`. One label per item and annotator:
// a relabel replaces it (with the new time), a second annotator adds a row of their own.
export const V4_AUDIT = /* sql */ `
CREATE TABLE audit_items (
  id          TEXT PRIMARY KEY,
  run_id      TEXT NOT NULL REFERENCES runs (id),
  round       INTEGER NOT NULL,
  stage_index INTEGER,
  pair_id     TEXT NOT NULL REFERENCES pairs (id),
  stratum     TEXT NOT NULL,
  swapped     INTEGER NOT NULL CHECK (swapped IN (0, 1)),
  position    INTEGER NOT NULL CHECK (position >= 0),
  input_hash  TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  UNIQUE (run_id, input_hash),
  UNIQUE (run_id, pair_id),
  FOREIGN KEY (run_id, round) REFERENCES rounds (run_id, round),
  FOREIGN KEY (run_id, round, stage_index) REFERENCES stage_runs (run_id, round, stage_index)
) STRICT;
CREATE INDEX audit_items_round ON audit_items (run_id, round, position);

CREATE TABLE audit_labels (
  item_id    TEXT NOT NULL REFERENCES audit_items (id),
  annotator  TEXT NOT NULL CHECK (length(annotator) > 0),
  label      TEXT NOT NULL CHECK (label IN ('A', 'B', 'tie', 'skip')),
  note       TEXT,
  labelled_at TEXT NOT NULL,
  PRIMARY KEY (item_id, annotator)
) STRICT;
`;
