import type { RunStore } from '../../store/run-store.js';
import type { JudgementRow, PairRow } from '../../store/types.js';
import type { PairEvidence } from './draw.js';

/**
 * What the stored judgements say of one pair, for the audit strata. `disagree`: a pointwise
 * judge's k-th sample scored the rejected answer above the chosen one, or a pairwise verdict (in
 * either order) named the rejected answer. `principle`: the principle of a pairwise comparison
 * of the two answers, else the one a revision was written under.
 */
export function pairEvidence(
  store: Pick<RunStore, 'judgementsForCandidate' | 'getCandidate'>,
  pair: PairRow,
): PairEvidence {
  const c = pair.chosenCandidateId;
  const r = pair.rejectedCandidateId;
  const ofC = store.judgementsForCandidate(c);
  const ofR = store.judgementsForCandidate(r);
  const votes: boolean[] = [];
  const sampleKey = (j: JudgementRow) => `${j.judgeId}|${j.mode}|${j.sampleIdx}`;
  const pointR = new Map(
    ofR.filter((j) => j.mode !== 'pairwise' && j.score !== null).map((j) => [sampleKey(j), j]),
  );
  for (const j of ofC) {
    if (j.mode === 'pairwise' || j.score === null) continue;
    const other = pointR.get(sampleKey(j));
    if (other) votes.push(other.score! > j.score);
  }
  let principle: string | null = null;
  for (const j of [...ofC, ...ofR]) {
    if (j.mode !== 'pairwise' || !j.verdict) continue;
    const aIsChosen = j.candidateId === c && j.otherCandidateId === r;
    const aIsRejected = j.candidateId === r && j.otherCandidateId === c;
    if (!aIsChosen && !aIsRejected) continue;
    votes.push(aIsChosen ? j.verdict === 'B' : j.verdict === 'A');
    principle ??= j.principleId;
  }
  if (principle === null) {
    const meta = store.getCandidate(c)?.meta;
    if (typeof meta?.principle === 'string') principle = meta.principle;
  }
  return {
    pairId: pair.id,
    margin:
      pair.chosenScore !== null && pair.rejectedScore !== null
        ? pair.chosenScore - pair.rejectedScore
        : null,
    disagree: votes.length ? votes.some(Boolean) : null,
    principle,
  };
}
