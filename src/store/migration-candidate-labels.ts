// Migration: KTO in the loop. A pair stage with `strategy: label` marks each judged candidate
// desirable or undesirable by thresholds on its combined score (TRL's unpaired KTO rows
// {prompt, completion, label}); a candidate it does not label (a score inside the band between the
// thresholds, a prompt whose candidates all tie, no score at all) is a row too, with `dropped`
// saying why, so the counts of every label stage can be rebuilt from the ledger. Ledger
// conventions (migrations.ts): STRICT, the stage-output head and UNIQUE (run_id, input_hash), so
// a resumed stage never labels a candidate twice.
//
// The text is written out in full (not built from migrations.ts' helpers): a released migration
// must stay byte-identical, and this file must not import the file that imports it.
export const V_CANDIDATE_LABELS = /* sql */ `
CREATE TABLE candidate_labels (
  id                    TEXT PRIMARY KEY,
  run_id                TEXT NOT NULL REFERENCES runs (id),
  round                 INTEGER NOT NULL,
  stage_index           INTEGER,
  prompt_id             TEXT NOT NULL REFERENCES prompts (id),
  candidate_id          TEXT NOT NULL REFERENCES candidates (id),
  -- the combined judge score on the 0-1 scale; NULL when no judge scored the candidate
  score                 REAL,
  label                 TEXT CHECK (label IS NULL OR label IN ('desirable', 'undesirable')),
  dropped               TEXT CHECK (dropped IS NULL OR dropped IN ('band', 'tie', 'unscored')),
  desirable_threshold   REAL NOT NULL,
  undesirable_threshold REAL NOT NULL,
  input_hash            TEXT NOT NULL,
  created_at            TEXT NOT NULL,
  UNIQUE (run_id, input_hash),
  CHECK ((label IS NULL) <> (dropped IS NULL)),
  CHECK (undesirable_threshold < desirable_threshold),
  FOREIGN KEY (candidate_id, prompt_id) REFERENCES candidates (id, prompt_id),
  FOREIGN KEY (run_id, round) REFERENCES rounds (run_id, round),
  FOREIGN KEY (run_id, round, stage_index) REFERENCES stage_runs (run_id, round, stage_index)
) STRICT;
CREATE INDEX candidate_labels_round ON candidate_labels (run_id, round);
`;
