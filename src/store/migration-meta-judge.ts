// Migration: Meta-Rewarding (Wu et al. 2024, arXiv 2407.19594). The policy, as meta-judge,
// compares two of its own judgements of one answer; each comparison (one order) is a row of
// meta_judgements, and the judgement pair chosen from the battles' Elo scores is a row of
// judge_pairs, which the train stage adds to the round's actor pairs as "judge-role" examples.
// Both tables follow the ledger conventions (migrations.ts): STRICT, the stage-output head and
// UNIQUE (run_id, input_hash), so a resumed judge stage never stores a battle or pair twice.
//
// The text is written out in full (not built from migrations.ts' helpers): a released migration
// must stay byte-identical, and this file must not import the file that imports it.
export const V_META_JUDGE = /* sql */ `
-- judgement_a_id is shown as (A), judgement_b_id as (B); both judge candidate_id.
CREATE TABLE meta_judgements (
  id                  TEXT PRIMARY KEY,
  run_id              TEXT NOT NULL REFERENCES runs (id),
  round               INTEGER NOT NULL,
  stage_index         INTEGER,
  judge_id            TEXT NOT NULL,
  judge_checkpoint_id TEXT REFERENCES checkpoints (id),
  candidate_id        TEXT NOT NULL REFERENCES candidates (id),
  judgement_a_id      TEXT NOT NULL REFERENCES judgements (id),
  judgement_b_id      TEXT NOT NULL REFERENCES judgements (id),
  rubric_hash         TEXT NOT NULL REFERENCES texts (hash),
  rendered_prompt     TEXT NOT NULL,
  -- P(A) from the verdict-letter log-probs after the prefilled reply, renormalised over A and B
  p_a                 REAL NOT NULL CHECK (p_a >= 0 AND p_a <= 1),
  verdict             TEXT NOT NULL CHECK (verdict IN ('A', 'B')),
  detail              TEXT CHECK (detail IS NULL OR json_valid(detail)),
  input_hash          TEXT NOT NULL,
  created_at          TEXT NOT NULL,
  UNIQUE (run_id, input_hash),
  CHECK (judgement_a_id <> judgement_b_id),
  FOREIGN KEY (run_id, round) REFERENCES rounds (run_id, round),
  FOREIGN KEY (run_id, round, stage_index) REFERENCES stage_runs (run_id, round, stage_index)
) STRICT;
CREATE INDEX meta_judgements_round ON meta_judgements (run_id, round);

-- A judge-role preference pair: prompt = the rendered judge prompt, chosen / rejected = the raw
-- texts of two judgements of candidate_id. dropped says why a selected pair is not trained on.
CREATE TABLE judge_pairs (
  id                    TEXT PRIMARY KEY,
  run_id                TEXT NOT NULL REFERENCES runs (id),
  round                 INTEGER NOT NULL,
  stage_index           INTEGER,
  candidate_id          TEXT NOT NULL REFERENCES candidates (id),
  chosen_judgement_id   TEXT NOT NULL REFERENCES judgements (id),
  rejected_judgement_id TEXT NOT NULL REFERENCES judgements (id),
  chosen_elo            REAL NOT NULL,
  rejected_elo          REAL NOT NULL,
  prompt_text           TEXT NOT NULL,
  battles               INTEGER NOT NULL CHECK (battles >= 0),
  dropped               TEXT CHECK (dropped IS NULL OR dropped IN ('length', 'max_pairs')),
  detail                TEXT CHECK (detail IS NULL OR json_valid(detail)),
  input_hash            TEXT NOT NULL,
  created_at            TEXT NOT NULL,
  UNIQUE (run_id, input_hash),
  CHECK (chosen_judgement_id <> rejected_judgement_id),
  CHECK (chosen_elo >= rejected_elo),
  FOREIGN KEY (run_id, round) REFERENCES rounds (run_id, round),
  FOREIGN KEY (run_id, round, stage_index) REFERENCES stage_runs (run_id, round, stage_index)
) STRICT;
CREATE INDEX judge_pairs_round ON judge_pairs (run_id, round);
`;
