// The answers a round's policy generated for each prompt, and the revisions a critique asked for.

import { parseJson, prepareAll, type Raw, type StoreClass } from '../store-base.js';
import type { StageOutput } from '../run-types.js';

export type CandidateOrigin = 'sample' | 'revision';

/** Sampling settings as the pipeline file names them; extra keys (greedy, stop) are kept. */
export interface SamplingRecord {
  temperature: number;
  top_p: number;
  top_k: number;
  max_new_tokens: number;
  [key: string]: unknown;
}

export interface NewCandidate extends StageOutput {
  promptId: string;
  /** Position among the prompt's candidates (revisions may reuse the original's idx). */
  idx: number;
  text: string;
  tokenIds?: ArrayLike<number> | null;
  logprobsSum?: number | null;
  finishReason?: string | null;
  sampling: SamplingRecord;
  seed?: number | null;
  /** The checkpoint that generated it (null for external generators). */
  checkpointId?: string | null;
  /** Default 'sample'; a 'revision' must name parentCandidateId. */
  origin?: CandidateOrigin;
  parentCandidateId?: string | null;
  /** E.g. the critique a revision answered. */
  meta?: Record<string, unknown> | null;
}

export interface CandidateRow {
  id: string;
  runId: string;
  round: number;
  stageIndex: number | null;
  promptId: string;
  idx: number;
  text: string;
  tokenIds: number[] | null;
  logprobsSum: number | null;
  finishReason: string | null;
  sampling: SamplingRecord;
  seed: number | null;
  checkpointId: string | null;
  origin: CandidateOrigin;
  parentCandidateId: string | null;
  meta: Record<string, unknown> | null;
  inputHash: string;
  createdAt: string;
}

const COLS = `id, run_id AS runId, round, stage_index AS stageIndex,
  prompt_id AS promptId, idx, text, token_ids AS tokenIds, logprobs_sum AS logprobsSum,
  finish_reason AS finishReason, sampling, seed, checkpoint_id AS checkpointId, origin,
  parent_candidate_id AS parentCandidateId, meta, input_hash AS inputHash,
  created_at AS createdAt`;

const SQL = {
  insert: `INSERT INTO candidates (id, run_id, round, stage_index, prompt_id, idx, text,
      token_ids, logprobs_sum, finish_reason, sampling, seed, checkpoint_id, origin,
      parent_candidate_id, meta, input_hash, created_at)
    VALUES (@id, @runId, @round, @stageIndex, @promptId, @idx, @text, @tokenIds, @logprobsSum,
      @finishReason, @sampling, @seed, @checkpointId, @origin, @parentCandidateId, @meta,
      @inputHash, @now)
    ON CONFLICT (run_id, input_hash) DO NOTHING`,
  get: `SELECT ${COLS} FROM candidates WHERE id = ?`,
  forPrompt: `SELECT ${COLS} FROM candidates
    WHERE run_id = ? AND round = ? AND prompt_id = ?
      AND (checkpoint_id IS NULL OR checkpoint_id NOT IN (SELECT checkpoint_id FROM checkpoint_discards))
    ORDER BY origin = 'revision', idx, rowid`,
};

function mapCandidate(r: Raw): CandidateRow {
  return {
    ...(r as unknown as CandidateRow),
    tokenIds: parseJson(r.tokenIds),
    sampling: parseJson(r.sampling) as CandidateRow['sampling'],
    meta: parseJson(r.meta),
  };
}

export function withCandidates<B extends StoreClass>(Base: B) {
  abstract class Candidates extends Base {
    readonly #s = prepareAll(this.db, SQL);

    addCandidate(c: NewCandidate): string {
      return this.guard('adding a candidate', () =>
        this.ledgerInsert('candidates', this.#s.insert, {
          round: c.round,
          stageIndex: c.stageIndex ?? null,
          promptId: c.promptId,
          idx: c.idx,
          text: c.text,
          tokenIds: c.tokenIds == null ? null : this.json(Array.from(c.tokenIds), 'tokenIds'),
          logprobsSum: c.logprobsSum ?? null,
          finishReason: c.finishReason ?? null,
          sampling: this.json(c.sampling, 'sampling'),
          seed: c.seed ?? null,
          checkpointId: c.checkpointId ?? null,
          origin: c.origin ?? 'sample',
          parentCandidateId: c.parentCandidateId ?? null,
          meta: this.json(c.meta, 'meta'),
          inputHash: c.inputHash,
        }),
      );
    }

    getCandidate(id: string): CandidateRow | undefined {
      return this.guard('reading a candidate', () => {
        const r = this.#s.get.get(id) as Raw | undefined;
        return r && mapCandidate(r);
      });
    }

    /** Samples first (by idx), then revisions. */
    candidatesForPrompt(round: number, promptId: string): CandidateRow[] {
      return this.guard('listing candidates', () =>
        (this.#s.forPrompt.all(this.runId, round, promptId) as Raw[]).map(mapCandidate),
      );
    }
  }
  return Candidates;
}
