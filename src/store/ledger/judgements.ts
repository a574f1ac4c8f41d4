// What the judges said about each candidate: the rendered judge prompt, its raw output, and the
// score or verdict parsed from it (or why parsing failed).

import { parseJson, prepareAll, type Raw, type StoreClass } from '../store-base.js';
import type { StageOutput } from '../run-types.js';

export type JudgeMode = 'generate' | 'logprobs' | 'pairwise' | 'rule';
export type Verdict = 'A' | 'B' | 'tie';

export interface NewJudgement extends StageOutput {
  /** 'self' or the pipeline's judge name. */
  judgeId: string;
  /** The checkpoint that judged, when it is a stored one (a self-judge is the round's policy). */
  judgeCheckpointId?: string | null;
  mode: JudgeMode;
  /** Shown as (A) in pairwise mode. */
  candidateId: string;
  /** Shown as (B); required in pairwise mode only. */
  otherCandidateId?: string | null;
  principleId?: string | null;
  /** The rendered rubric/template text (required except in rule mode). */
  rubricHash?: string | null;
  constitutionHash?: string | null;
  renderedPrompt?: string | null;
  rawOutput?: string | null;
  score?: number | null;
  verdict?: Verdict | null;
  parseError?: string | null;
  /** Which of the K samples (generate mode); default 0. */
  sampleIdx?: number;
  /** E.g. the score-token probabilities of a log-prob judge. */
  detail?: Record<string, unknown> | null;
}

export interface JudgementRow {
  id: string;
  runId: string;
  round: number;
  stageIndex: number | null;
  judgeId: string;
  judgeCheckpointId: string | null;
  mode: JudgeMode;
  candidateId: string;
  otherCandidateId: string | null;
  principleId: string | null;
  rubricHash: string | null;
  constitutionHash: string | null;
  renderedPrompt: string | null;
  rawOutput: string | null;
  score: number | null;
  verdict: Verdict | null;
  parseError: string | null;
  sampleIdx: number;
  detail: Record<string, unknown> | null;
  inputHash: string;
  createdAt: string;
}

const COLS = `id, run_id AS runId, round, stage_index AS stageIndex,
  judge_id AS judgeId, judge_checkpoint_id AS judgeCheckpointId, mode,
  candidate_id AS candidateId, other_candidate_id AS otherCandidateId,
  principle_id AS principleId, rubric_hash AS rubricHash, constitution_hash AS constitutionHash,
  rendered_prompt AS renderedPrompt, raw_output AS rawOutput, score, verdict,
  parse_error AS parseError, sample_idx AS sampleIdx, detail, input_hash AS inputHash,
  created_at AS createdAt`;

const SQL = {
  insert: `INSERT INTO judgements (id, run_id, round, stage_index, judge_id,
      judge_checkpoint_id, mode, candidate_id, other_candidate_id, principle_id, rubric_hash,
      constitution_hash, rendered_prompt, raw_output, score, verdict, parse_error, sample_idx,
      detail, input_hash, created_at)
    VALUES (@id, @runId, @round, @stageIndex, @judgeId, @judgeCheckpointId, @mode, @candidateId,
      @otherCandidateId, @principleId, @rubricHash, @constitutionHash, @renderedPrompt,
      @rawOutput, @score, @verdict, @parseError, @sampleIdx, @detail, @inputHash, @now)
    ON CONFLICT (run_id, input_hash) DO NOTHING`,
  get: `SELECT ${COLS} FROM judgements WHERE id = ?`,
  forCandidate: `SELECT ${COLS} FROM judgements
    WHERE candidate_id = @id OR other_candidate_id = @id
    ORDER BY round, judge_id, mode, principle_id, sample_idx, rowid`,
};

function mapJudgement(r: Raw): JudgementRow {
  return { ...(r as unknown as JudgementRow), detail: parseJson(r.detail) };
}

export function withJudgements<B extends StoreClass>(Base: B) {
  abstract class Judgements extends Base {
    readonly #s = prepareAll(this.db, SQL);

    addJudgement(j: NewJudgement): string {
      return this.guard('adding a judgement', () =>
        this.ledgerInsert('judgements', this.#s.insert, {
          round: j.round,
          stageIndex: j.stageIndex ?? null,
          judgeId: j.judgeId,
          judgeCheckpointId: j.judgeCheckpointId ?? null,
          mode: j.mode,
          candidateId: j.candidateId,
          otherCandidateId: j.otherCandidateId ?? null,
          principleId: j.principleId ?? null,
          rubricHash: j.rubricHash ?? null,
          constitutionHash: j.constitutionHash ?? null,
          renderedPrompt: j.renderedPrompt ?? null,
          rawOutput: j.rawOutput ?? null,
          score: j.score ?? null,
          verdict: j.verdict ?? null,
          parseError: j.parseError ?? null,
          sampleIdx: j.sampleIdx ?? 0,
          detail: this.json(j.detail, 'detail'),
          inputHash: j.inputHash,
        }),
      );
    }

    getJudgement(id: string): JudgementRow | undefined {
      return this.guard('reading a judgement', () => {
        const r = this.#s.get.get(id) as Raw | undefined;
        return r && mapJudgement(r);
      });
    }

    /** Every judgement of the candidate, whether it was shown as (A) or as (B). */
    judgementsForCandidate(candidateId: string): JudgementRow[] {
      return this.guard('listing judgements', () =>
        (this.#s.forCandidate.all({ id: candidateId }) as Raw[]).map(mapJudgement),
      );
    }
  }
  return Judgements;
}
