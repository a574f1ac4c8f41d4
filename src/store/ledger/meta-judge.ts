// Meta-Rewarding's rows (migration-meta-judge.ts): the meta-judge's battles between two
// judgements of one answer (one row per order shown), and the judge-role pairs chosen from them.

import { parseJson, prepareAll, type Raw, type StoreClass } from '../store-base.js';
import type { StageOutput } from '../run-types.js';

export interface NewMetaJudgement extends StageOutput {
  judgeId: string;
  judgeCheckpointId?: string | null;
  candidateId: string;
  /** Shown as (A). */
  judgementAId: string;
  /** Shown as (B). */
  judgementBId: string;
  rubricHash: string;
  renderedPrompt: string;
  /** P(A) over the two verdict letters. */
  pA: number;
  verdict: 'A' | 'B';
  detail?: Record<string, unknown> | null;
}

export interface MetaJudgementRow extends Omit<NewMetaJudgement, 'detail'> {
  id: string;
  runId: string;
  stageIndex: number | null;
  judgeCheckpointId: string | null;
  detail: Record<string, unknown> | null;
  createdAt: string;
}

export type JudgePairDrop = 'length' | 'max_pairs';

export interface NewJudgePair extends StageOutput {
  candidateId: string;
  chosenJudgementId: string;
  rejectedJudgementId: string;
  chosenElo: number;
  rejectedElo: number;
  /** The rendered judge prompt both judgements answer: the training row's prompt. */
  promptText: string;
  /** Battles (orders counted apart) behind the Elo scores. */
  battles: number;
  /** Why the pair is kept out of training; null when it is trained on. */
  dropped?: JudgePairDrop | null;
  detail?: Record<string, unknown> | null;
}

export interface JudgePairRow extends Omit<NewJudgePair, 'dropped' | 'detail'> {
  id: string;
  runId: string;
  stageIndex: number | null;
  dropped: JudgePairDrop | null;
  detail: Record<string, unknown> | null;
  createdAt: string;
}

const MJ_COLS = `id, run_id AS runId, round, stage_index AS stageIndex, judge_id AS judgeId,
  judge_checkpoint_id AS judgeCheckpointId, candidate_id AS candidateId,
  judgement_a_id AS judgementAId, judgement_b_id AS judgementBId, rubric_hash AS rubricHash,
  rendered_prompt AS renderedPrompt, p_a AS pA, verdict, detail, input_hash AS inputHash,
  created_at AS createdAt`;
const JP_COLS = `id, run_id AS runId, round, stage_index AS stageIndex,
  candidate_id AS candidateId, chosen_judgement_id AS chosenJudgementId,
  rejected_judgement_id AS rejectedJudgementId, chosen_elo AS chosenElo,
  rejected_elo AS rejectedElo, prompt_text AS promptText, battles, dropped, detail,
  input_hash AS inputHash, created_at AS createdAt`;
// rows built on a checkpoint set aside by `--from-round` are kept but no longer the round's
const NOT_DISCARDED = (table: string) => `NOT EXISTS (SELECT 1 FROM candidates c
        JOIN checkpoint_discards d ON d.checkpoint_id = c.checkpoint_id
        WHERE c.id = ${table}.candidate_id)`;

const SQL = {
  insertMeta: `INSERT INTO meta_judgements (id, run_id, round, stage_index, judge_id,
      judge_checkpoint_id, candidate_id, judgement_a_id, judgement_b_id, rubric_hash,
      rendered_prompt, p_a, verdict, detail, input_hash, created_at)
    VALUES (@id, @runId, @round, @stageIndex, @judgeId, @judgeCheckpointId, @candidateId,
      @judgementAId, @judgementBId, @rubricHash, @renderedPrompt, @pA, @verdict, @detail,
      @inputHash, @now)
    ON CONFLICT (run_id, input_hash) DO NOTHING`,
  getMeta: `SELECT ${MJ_COLS} FROM meta_judgements WHERE id = ?`,
  metaForRound: `SELECT ${MJ_COLS} FROM meta_judgements WHERE run_id = ? AND round = ?
      AND ${NOT_DISCARDED('meta_judgements')} ORDER BY rowid`,
  insertPair: `INSERT INTO judge_pairs (id, run_id, round, stage_index, candidate_id,
      chosen_judgement_id, rejected_judgement_id, chosen_elo, rejected_elo, prompt_text, battles,
      dropped, detail, input_hash, created_at)
    VALUES (@id, @runId, @round, @stageIndex, @candidateId, @chosenJudgementId,
      @rejectedJudgementId, @chosenElo, @rejectedElo, @promptText, @battles, @dropped, @detail,
      @inputHash, @now)
    ON CONFLICT (run_id, input_hash) DO NOTHING`,
  pairsForRound: `SELECT ${JP_COLS} FROM judge_pairs WHERE run_id = ? AND round = ?
      AND ${NOT_DISCARDED('judge_pairs')} ORDER BY rowid`,
};

const mapMeta = (r: Raw): MetaJudgementRow => ({
  ...(r as unknown as MetaJudgementRow),
  detail: parseJson(r.detail),
});
const mapPair = (r: Raw): JudgePairRow => ({
  ...(r as unknown as JudgePairRow),
  detail: parseJson(r.detail),
});

export function withMetaJudge<B extends StoreClass>(Base: B) {
  abstract class MetaJudge extends Base {
    readonly #s = prepareAll(this.db, SQL);

    addMetaJudgement(m: NewMetaJudgement): string {
      return this.guard('adding a meta-judgement', () =>
        this.ledgerInsert('meta_judgements', this.#s.insertMeta, {
          round: m.round,
          stageIndex: m.stageIndex ?? null,
          judgeId: m.judgeId,
          judgeCheckpointId: m.judgeCheckpointId ?? null,
          candidateId: m.candidateId,
          judgementAId: m.judgementAId,
          judgementBId: m.judgementBId,
          rubricHash: m.rubricHash,
          renderedPrompt: m.renderedPrompt,
          pA: m.pA,
          verdict: m.verdict,
          detail: this.json(m.detail, 'detail'),
          inputHash: m.inputHash,
        }),
      );
    }

    getMetaJudgement(id: string): MetaJudgementRow | undefined {
      return this.guard('reading a meta-judgement', () => {
        const r = this.#s.getMeta.get(id) as Raw | undefined;
        return r && mapMeta(r);
      });
    }

    /** The round's meta-judge battles, one row per order, in the order they were stored. */
    metaJudgementsForRound(round: number): MetaJudgementRow[] {
      return this.guard(`listing meta-judgements of round ${round}`, () =>
        (this.#s.metaForRound.all(this.runId, round) as Raw[]).map(mapMeta),
      );
    }

    addJudgePair(p: NewJudgePair): string {
      return this.guard('adding a judge pair', () =>
        this.ledgerInsert('judge_pairs', this.#s.insertPair, {
          round: p.round,
          stageIndex: p.stageIndex ?? null,
          candidateId: p.candidateId,
          chosenJudgementId: p.chosenJudgementId,
          rejectedJudgementId: p.rejectedJudgementId,
          chosenElo: p.chosenElo,
          rejectedElo: p.rejectedElo,
          promptText: p.promptText,
          battles: p.battles,
          dropped: p.dropped ?? null,
          detail: this.json(p.detail, 'detail'),
          inputHash: p.inputHash,
        }),
      );
    }

    /** The round's judge-role pairs, dropped ones included (`dropped` says why). */
    judgePairsForRound(round: number): JudgePairRow[] {
      return this.guard(`listing judge pairs of round ${round}`, () =>
        (this.#s.pairsForRound.all(this.runId, round) as Raw[]).map(mapPair),
      );
    }
  }
  return MetaJudge;
}
