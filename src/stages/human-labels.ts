import { humanPrefers } from '../store/ledger/audit.js';
import type { RunStore } from '../store/run-store.js';
import type { PairRow } from '../store/types.js';

/**
 * `train: { human_labels: override }`: the round's pairs as the annotators judged them. An
 * audited pair the human preferred the other way trains swapped; a tie is dropped (nothing to
 * prefer); a kept pair carries soft label 1 (a person's verdict, not a judge's estimate). Pairs
 * without a label, or labelled skip, train as the judge made them. The stored pairs are never
 * edited: the judge's verdict stays in the ledger beside the human's.
 */
export function overrideByHumans(
  store: Pick<RunStore, 'auditItems'>,
  round: number,
  pairs: readonly PairRow[],
): {
  pairs: PairRow[];
  counts: { human_kept: number; human_swapped: number; human_dropped: number };
} {
  const verdict = new Map(
    store
      .auditItems(round)
      .filter((i) => i.label !== null && i.label !== 'skip')
      .map((i) => [i.pairId, humanPrefers(i.label!, i.swapped)]),
  );
  const counts = { human_kept: 0, human_swapped: 0, human_dropped: 0 };
  const out: PairRow[] = [];
  for (const p of pairs) {
    const v = verdict.get(p.id);
    if (v === undefined) out.push(p);
    else if (v === 'tie') counts.human_dropped++;
    else if (v === 'chosen') {
      counts.human_kept++;
      out.push({ ...p, softLabel: 1 });
    } else {
      counts.human_swapped++;
      out.push({
        ...p,
        chosenCandidateId: p.rejectedCandidateId,
        rejectedCandidateId: p.chosenCandidateId,
        chosenScore: p.rejectedScore,
        rejectedScore: p.chosenScore,
        softLabel: 1,
      });
    }
  }
  return { pairs: out, counts };
}
