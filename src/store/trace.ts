// The provenance trace of a preference pair: everything it came from, in one object.

import { fail } from '../core/errors.js';
import type { CandidateRow } from './ledger/candidates.js';
import type { JudgementRow } from './ledger/judgements.js';
import type { PairRow } from './ledger/pairs.js';
import type { PromptRow } from './ledger/prompts.js';
import type { CheckpointRow } from './ledger/training.js';
import type { RoundRow, RunRow, TextRow } from './run-types.js';

export interface CandidateTrace {
  candidate: CandidateRow;
  /** The checkpoint that generated it. */
  checkpoint: CheckpointRow | null;
  /** Every judgement of it, as (A) or as (B); pairwise ones appear under both candidates. */
  judgements: JudgementRow[];
  /** For a revision: the original candidate it revised, traced the same way. */
  revisedFrom: CandidateTrace | null;
}

/** Everything a preference pair came from, in one object. */
export interface PairTrace {
  pair: PairRow;
  run: RunRow;
  round: RoundRow | null;
  prompt: PromptRow;
  chosen: CandidateTrace;
  rejected: CandidateTrace;
  /** Rubric and constitution texts the judgements above reference, by hash. */
  texts: Record<string, TextRow>;
  /** Every checkpoint referenced above (generators, judges, the round's policy and reference) and their ancestors, by id. */
  checkpoints: Record<string, CheckpointRow>;
}

/** The reads a trace needs; the RunStore provides them inside one read transaction. */
export interface TraceSource {
  readonly path: string;
  getPair(id: string): PairRow | undefined;
  /** The pair's run, whichever run the store has selected (E_STORE_NOT_FOUND when missing). */
  runOf(runId: string): RunRow;
  roundOf(runId: string, round: number): RoundRow | undefined;
  getPrompt(id: string): PromptRow | undefined;
  getCandidate(id: string): CandidateRow | undefined;
  judgementsForCandidate(candidateId: string): JudgementRow[];
  getCheckpoint(id: string): CheckpointRow | undefined;
  getText(hash: string): TextRow | undefined;
}

/**
 * Walks from a pair back to everything it came from: the run and its pipeline text, the round
 * (policy and reference checkpoints), the prompt's messages, both candidates with the
 * checkpoint that generated them, each candidate's judgements (rendered prompt, raw output,
 * rubric/constitution hashes) with the texts themselves, and for revisions the original
 * candidate. Foreign keys guarantee the rows a stored pair points at exist.
 */
export function tracePair(src: TraceSource, pairId: string): PairTrace {
  const pair = src.getPair(pairId);
  if (!pair)
    fail(
      'E_STORE_NOT_FOUND',
      `${src.path}: no pair '${pairId}'`,
      'pair ids are listed by pairsForRound() and in exported preference data',
    );
  const run = src.runOf(pair.runId);
  const round = src.roundOf(pair.runId, pair.round) ?? null;
  const prompt = src.getPrompt(pair.promptId)!;
  const checkpoints: Record<string, CheckpointRow> = {};
  const texts: Record<string, TextRow> = {};

  // Adds a checkpoint and its lineage up to the base model; stopping at the first one already
  // collected also stops a (malformed) parent cycle.
  const addCheckpoint = (id: string | null): CheckpointRow | null => {
    if (id === null) return null;
    const first = checkpoints[id] ?? src.getCheckpoint(id) ?? null;
    let cur: CheckpointRow | undefined = first ?? undefined;
    while (cur && !(cur.id in checkpoints)) {
      checkpoints[cur.id] = cur;
      cur = cur.parentId === null ? undefined : src.getCheckpoint(cur.parentId);
    }
    return first;
  };
  const addText = (hash: string | null): void => {
    if (hash === null || hash in texts) return;
    const t = src.getText(hash);
    if (t) texts[hash] = t;
  };
  const trace = (id: string, seen: Set<string>): CandidateTrace => {
    const candidate = src.getCandidate(id)!;
    seen.add(id);
    const judgements = src.judgementsForCandidate(id);
    for (const j of judgements) {
      addText(j.rubricHash);
      addText(j.constitutionHash);
      addCheckpoint(j.judgeCheckpointId);
    }
    const parent = candidate.parentCandidateId;
    return {
      candidate,
      checkpoint: addCheckpoint(candidate.checkpointId),
      judgements,
      revisedFrom: parent !== null && !seen.has(parent) ? trace(parent, seen) : null,
    };
  };

  const chosen = trace(pair.chosenCandidateId, new Set());
  const rejected = trace(pair.rejectedCandidateId, new Set());
  if (round) {
    addCheckpoint(round.policyCheckpointId);
    addCheckpoint(round.referenceCheckpointId);
  }
  return { pair, run, round, prompt, chosen, rejected, texts, checkpoints };
}
