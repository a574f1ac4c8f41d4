// What an annotator sees of each audit item: the prompt, the two answers in the item's seeded
// order (A / B), and the judge's side (its verdicts, scores, principle and reasoning) for whoever
// wants to check it after labelling. Plain data: the page puts every string in as text.

import { humanPrefers, type AuditItemRow, type AuditLabel } from '../store/ledger/audit.js';
import type { RunStore } from '../store/run-store.js';
import type { JudgementRow } from '../store/types.js';

export interface JudgeNote {
  judge: string;
  mode: string;
  /** Which answer the judgement is about ('A', 'B', or 'A vs B' for a comparison). */
  about: string;
  score: number | null;
  verdict: string | null;
  principle: string | null;
  text: string;
}

export interface AuditViewItem {
  id: string;
  round: number;
  position: number;
  pairId: string;
  stratum: string;
  prompt: { role: string; content: string }[];
  answerA: string;
  answerB: string;
  /** The slot of the answer the judge chose (the page reveals it only with the judge's notes). */
  judgeChose: 'A' | 'B';
  principle: string | null;
  critique: string | null;
  judges: JudgeNote[];
  label: AuditLabel | null;
  note: string | null;
  annotator: string | null;
  labelledAt: string | null;
  /** The label read against the judge: 'chosen' = the human agrees with the judge. */
  humanPrefers: string | null;
}

/** One sample per judge and mode is enough to see its reasoning; K samples would repeat it. */
function judgeNotes(rows: readonly JudgementRow[], slot: Map<string, 'A' | 'B'>): JudgeNote[] {
  const seen = new Set<string>();
  const out: JudgeNote[] = [];
  for (const j of rows) {
    const about =
      j.mode === 'pairwise'
        ? `${slot.get(j.candidateId)} vs ${slot.get(j.otherCandidateId ?? '')}`
        : slot.get(j.candidateId)!;
    const key = `${j.judgeId}|${j.mode}|${about}`;
    if (seen.has(key) || about.includes('undefined')) continue;
    seen.add(key);
    out.push({
      judge: j.judgeId,
      mode: j.mode,
      about,
      score: j.score,
      verdict: j.verdict,
      principle: j.principleId,
      text: j.rawOutput ?? '',
    });
  }
  return out.sort((a, b) => (a.judge + a.about < b.judge + b.about ? -1 : 1));
}

export function auditViewItem(store: RunStore, item: AuditItemRow): AuditViewItem {
  const pair = store.getPair(item.pairId)!;
  const chosen = store.getCandidate(pair.chosenCandidateId)!;
  const rejected = store.getCandidate(pair.rejectedCandidateId)!;
  const [a, b] = item.swapped ? [rejected, chosen] : [chosen, rejected];
  const slot = new Map<string, 'A' | 'B'>([
    [a.id, 'A'],
    [b.id, 'B'],
  ]);
  const rows = [...store.judgementsForCandidate(a.id), ...store.judgementsForCandidate(b.id)];
  const judges = judgeNotes(rows, slot);
  const meta = chosen.meta ?? {};
  return {
    id: item.id,
    round: item.round,
    position: item.position,
    pairId: item.pairId,
    stratum: item.stratum,
    prompt: store.getPrompt(pair.promptId)!.messages.map((m) => ({
      role: m.role,
      content: m.content,
    })),
    answerA: a.text,
    answerB: b.text,
    judgeChose: item.swapped ? 'B' : 'A',
    principle:
      judges.find((j) => j.principle)?.principle ??
      (typeof meta.principle === 'string' ? meta.principle : null),
    critique: typeof meta.critique === 'string' ? meta.critique : null,
    judges,
    label: item.label,
    note: item.note,
    annotator: item.annotator,
    labelledAt: item.labelledAt,
    humanPrefers: item.label ? humanPrefers(item.label, item.swapped) : null,
  };
}

/** The queue of one round, or of every round. */
export function auditView(store: RunStore, round?: number): AuditViewItem[] {
  return store.auditItems(round).map((i) => auditViewItem(store, i));
}
