// Migration: online RL in the loop. An rl stage samples groups of completions from the policy as
// it trains and rewards them with the pipeline's judges; every completion is a row with what it
// was sampled from (the round-start checkpoint, the step, the seed), its per-judge rewards, the
// combined reward, its advantage and the policy (π_old) and reference log-prob sums it trained
// with, so a drift or a reward hack can be traced to the samples that taught it. Ledger
// conventions (migrations.ts): STRICT, the stage-output head and UNIQUE (run_id, input_hash), so
// a resumed stage never stores a sample twice.
//
// The text is written out in full (not built from migrations.ts' helpers): a released migration
// must stay byte-identical, and this file must not import the file that imports it.
export const V_RL_SAMPLES = /* sql */ `
CREATE TABLE rl_samples (
  id            TEXT PRIMARY KEY,
  run_id        TEXT NOT NULL REFERENCES runs (id),
  round         INTEGER NOT NULL,
  stage_index   INTEGER,
  -- the generation batch (1-based) and the completion's place in its prompt's group
  step          INTEGER NOT NULL CHECK (step >= 1),
  prompt_id     TEXT NOT NULL REFERENCES prompts (id),
  idx           INTEGER NOT NULL CHECK (idx >= 0),
  text          TEXT NOT NULL,
  token_ids     TEXT NOT NULL CHECK (json_valid(token_ids)),
  finish_reason TEXT NOT NULL CHECK (finish_reason IN ('stop', 'length')),
  -- {judge: score on the 0-1 scale}, and the weighted sum the advantage was computed from
  rewards       TEXT NOT NULL CHECK (json_valid(rewards)),
  reward        REAL NOT NULL,
  advantage     REAL NOT NULL,
  -- sums over the completion's tokens at the sampling temperature; ref NULL without a reference pass
  old_logps     REAL NOT NULL,
  ref_logps     REAL,
  trained       INTEGER NOT NULL CHECK (trained IN (0, 1)),
  seed          INTEGER NOT NULL,
  checkpoint_id TEXT NOT NULL REFERENCES checkpoints (id),
  input_hash    TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  UNIQUE (run_id, input_hash),
  FOREIGN KEY (run_id, round) REFERENCES rounds (run_id, round),
  FOREIGN KEY (run_id, round, stage_index) REFERENCES stage_runs (run_id, round, stage_index)
) STRICT;
CREATE INDEX rl_samples_round ON rl_samples (run_id, round, step);
`;
