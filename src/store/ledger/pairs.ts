// The preference pairs a pair stage kept (chosen over rejected, with their scores), and the
// prompts it discarded with the reason (a tie, too small a margin, too few candidates...).

import { inputHash } from '../hash.js';
import { parseJson, prepareAll, type Raw, type StoreClass } from '../store-base.js';
import type { StageOutput } from '../run-types.js';

export interface NewPair extends StageOutput {
  promptId: string;
  chosenCandidateId: string;
  rejectedCandidateId: string;
  chosenScore?: number | null;
  rejectedScore?: number | null;
  strategy: string;
  /** P(chosen preferred), in [0, 1]. */
  softLabel?: number | null;
}

export interface PairRow {
  id: string;
  runId: string;
  round: number;
  stageIndex: number | null;
  promptId: string;
  chosenCandidateId: string;
  rejectedCandidateId: string;
  chosenScore: number | null;
  rejectedScore: number | null;
  strategy: string;
  softLabel: number | null;
  inputHash: string;
  createdAt: string;
}

export interface NewPairDiscard extends Omit<StageOutput, 'inputHash'> {
  promptId: string;
  reason: string;
  detail?: Record<string, unknown> | null;
  /** Default: inputHash(round, stageIndex, promptId, reason), so a resumed stage counts once. */
  inputHash?: string;
}

export interface PairDiscardRow {
  id: string;
  runId: string;
  round: number;
  stageIndex: number | null;
  promptId: string;
  reason: string;
  detail: Record<string, unknown> | null;
  inputHash: string;
  createdAt: string;
}

const PAIR_COLS = `id, run_id AS runId, round, stage_index AS stageIndex, prompt_id AS promptId,
  chosen_candidate_id AS chosenCandidateId, rejected_candidate_id AS rejectedCandidateId,
  chosen_score AS chosenScore, rejected_score AS rejectedScore, strategy,
  soft_label AS softLabel, input_hash AS inputHash, created_at AS createdAt`;
const DISCARD_COLS = `id, run_id AS runId, round, stage_index AS stageIndex,
  prompt_id AS promptId, reason, detail, input_hash AS inputHash, created_at AS createdAt`;

const SQL = {
  insertPair: `INSERT INTO pairs (id, run_id, round, stage_index, prompt_id, chosen_candidate_id,
      rejected_candidate_id, chosen_score, rejected_score, strategy, soft_label, input_hash,
      created_at)
    VALUES (@id, @runId, @round, @stageIndex, @promptId, @chosenCandidateId,
      @rejectedCandidateId, @chosenScore, @rejectedScore, @strategy, @softLabel, @inputHash, @now)
    ON CONFLICT (run_id, input_hash) DO NOTHING`,
  getPair: `SELECT ${PAIR_COLS} FROM pairs WHERE id = ?`,
  // pairs built on a checkpoint set aside by `--from-round` are kept but no longer the round's
  pairsForRound: `SELECT ${PAIR_COLS} FROM pairs WHERE run_id = ? AND round = ?
      AND NOT EXISTS (SELECT 1 FROM candidates c
        JOIN checkpoint_discards d ON d.checkpoint_id = c.checkpoint_id
        WHERE c.id = pairs.chosen_candidate_id)
    ORDER BY rowid`,

  insertDiscard: `INSERT INTO pair_discards (id, run_id, round, stage_index, prompt_id, reason,
      detail, input_hash, created_at)
    VALUES (@id, @runId, @round, @stageIndex, @promptId, @reason, @detail, @inputHash, @now)
    ON CONFLICT (run_id, input_hash) DO NOTHING`,
  discardsForRound: `SELECT ${DISCARD_COLS} FROM pair_discards WHERE run_id = ? AND round = ?
    ORDER BY rowid`,
  discardCounts: `SELECT reason, count(*) AS n FROM pair_discards WHERE run_id = ? AND round = ?
    GROUP BY reason ORDER BY reason`,
};

function mapDiscard(r: Raw): PairDiscardRow {
  return { ...(r as unknown as PairDiscardRow), detail: parseJson(r.detail) };
}

export function withPairs<B extends StoreClass>(Base: B) {
  abstract class Pairs extends Base {
    readonly #s = prepareAll(this.db, SQL);

    addPair(p: NewPair): string {
      return this.guard('adding a pair', () =>
        this.ledgerInsert('pairs', this.#s.insertPair, {
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
      return this.guard('reading a pair', () => this.#s.getPair.get(id) as PairRow | undefined);
    }

    pairsForRound(round: number): PairRow[] {
      return this.guard(`listing pairs of round ${round}`, () => {
        return this.#s.pairsForRound.all(this.runId, round) as PairRow[];
      });
    }

    addPairDiscard(d: NewPairDiscard): string {
      return this.guard('adding a pair discard', () =>
        this.ledgerInsert('pair_discards', this.#s.insertDiscard, {
          round: d.round,
          stageIndex: d.stageIndex ?? null,
          promptId: d.promptId,
          reason: d.reason,
          detail: this.json(d.detail, 'detail'),
          inputHash: d.inputHash ?? inputHash(d.round, d.stageIndex ?? null, d.promptId, d.reason),
        }),
      );
    }

    discardsForRound(round: number): PairDiscardRow[] {
      return this.guard(`listing discards of round ${round}`, () =>
        (this.#s.discardsForRound.all(this.runId, round) as Raw[]).map(mapDiscard),
      );
    }

    /** Discards of a round counted by reason. */
    discardCounts(round: number): Record<string, number> {
      return this.guard(`counting discards of round ${round}`, () => {
        const out: Record<string, number> = {};
        const rows = this.#s.discardCounts.all(this.runId, round) as {
          reason: string;
          n: number;
        }[];
        for (const r of rows) out[r.reason] = r.n;
        return out;
      });
    }
  }
  return Pairs;
}
