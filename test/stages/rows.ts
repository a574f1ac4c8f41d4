import type { CandidateRow, JudgementRow } from '../../src/store/types.js';

// Store rows with only the fields the stages read set; the rest are fixed placeholders.

export function candidateRow(id: string, text = id): CandidateRow {
  return {
    id,
    runId: 'run',
    round: 1,
    stageIndex: 0,
    promptId: 'p1',
    idx: 0,
    text,
    tokenIds: null,
    logprobsSum: null,
    finishReason: 'stop',
    sampling: { temperature: 1, top_p: 1, top_k: 0, max_new_tokens: 8, stop: [] },
    seed: 0,
    checkpointId: null,
    origin: 'sample',
    parentCandidateId: null,
    meta: null,
    inputHash: `hash-${id}`,
    createdAt: '2026-01-01T00:00:00.000Z',
  };
}

let judgementId = 0;

export function judgementRow(
  fields: Pick<JudgementRow, 'judgeId' | 'mode' | 'candidateId'> & Partial<JudgementRow>,
): JudgementRow {
  const id = `j${++judgementId}`;
  return {
    id,
    runId: 'run',
    round: 1,
    stageIndex: 1,
    judgeCheckpointId: null,
    otherCandidateId: null,
    principleId: null,
    rubricHash: null,
    constitutionHash: null,
    renderedPrompt: null,
    rawOutput: null,
    score: null,
    verdict: null,
    parseError: null,
    sampleIdx: 0,
    detail: null,
    inputHash: `hash-${id}`,
    createdAt: '2026-01-01T00:00:00.000Z',
    ...fields,
  };
}
