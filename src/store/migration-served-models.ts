// Migration: where a checkpoint was served. A policy on an OpenAI-compatible server (model.backend:
// openai) answers every request under one server, one served model and, from round 1 on, one
// loaded adapter name; each (checkpoint, server, model, adapter) the run used is one row, so every
// candidate and self-judgement, through its checkpoint_id, names the server that made it.

export const V_SERVED_MODELS = /* sql */ `
CREATE TABLE served_models (
  run_id        TEXT NOT NULL REFERENCES runs (id),
  checkpoint_id TEXT NOT NULL REFERENCES checkpoints (id),
  base_url      TEXT NOT NULL,
  model         TEXT NOT NULL,
  -- the name the checkpoint's adapter was loaded under ('' when the base model answered)
  adapter       TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  PRIMARY KEY (run_id, checkpoint_id, base_url, model, adapter)
) STRICT;
`;
