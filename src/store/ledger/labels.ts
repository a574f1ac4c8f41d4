// The single-response labels a pair stage with `strategy: label` wrote: each judged candidate
// desirable or undesirable by thresholds on its combined score (the unpaired rows KTO trains on),
// or dropped with the reason (inside the band, a tie, unscored).

import { prepareAll, type StoreClass } from '../store-base.js';
import type { StageOutput } from '../run-types.js';

export type CandidateLabel = 'desirable' | 'undesirable';
export type LabelDrop = 'band' | 'tie' | 'unscored';

export interface NewCandidateLabel extends StageOutput {
  promptId: string;
  candidateId: string;
  score: number | null;
  /** Exactly one of label and dropped. */
  label: CandidateLabel | null;
  dropped: LabelDrop | null;
  desirableThreshold: number;
  undesirableThreshold: number;
}

export interface CandidateLabelRow extends Required<NewCandidateLabel> {
  id: string;
  runId: string;
  createdAt: string;
}

const COLS = `id, run_id AS runId, round, stage_index AS stageIndex, prompt_id AS promptId,
  candidate_id AS candidateId, score, label, dropped, desirable_threshold AS desirableThreshold,
  undesirable_threshold AS undesirableThreshold, input_hash AS inputHash, created_at AS createdAt`;

const SQL = {
  insert: `INSERT INTO candidate_labels (id, run_id, round, stage_index, prompt_id, candidate_id,
      score, label, dropped, desirable_threshold, undesirable_threshold, input_hash, created_at)
    VALUES (@id, @runId, @round, @stageIndex, @promptId, @candidateId, @score, @label, @dropped,
      @desirableThreshold, @undesirableThreshold, @inputHash, @now)
    ON CONFLICT (run_id, input_hash) DO NOTHING`,
  // labels of candidates made by a checkpoint set aside by `--from-round` are no longer the round's
  forRound: `SELECT ${COLS} FROM candidate_labels WHERE run_id = ? AND round = ?
      AND NOT EXISTS (SELECT 1 FROM candidates c
        JOIN checkpoint_discards d ON d.checkpoint_id = c.checkpoint_id
        WHERE c.id = candidate_labels.candidate_id)
    ORDER BY rowid`,
};

export function withLabels<B extends StoreClass>(Base: B) {
  abstract class Labels extends Base {
    readonly #s = prepareAll(this.db, SQL);

    addCandidateLabel(l: NewCandidateLabel): string {
      return this.guard('adding a candidate label', () =>
        this.ledgerInsert('candidate_labels', this.#s.insert, {
          round: l.round,
          stageIndex: l.stageIndex ?? null,
          promptId: l.promptId,
          candidateId: l.candidateId,
          score: l.score,
          label: l.label,
          dropped: l.dropped,
          desirableThreshold: l.desirableThreshold,
          undesirableThreshold: l.undesirableThreshold,
          inputHash: l.inputHash,
        }),
      );
    }

    /** The round's labels, dropped candidates included (`dropped` says why), in stored order. */
    labelsForRound(round: number): CandidateLabelRow[] {
      return this.guard(
        `listing candidate labels of round ${round}`,
        () => this.#s.forRound.all(this.runId, round) as CandidateLabelRow[],
      );
    }
  }
  return Labels;
}
