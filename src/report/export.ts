// Preference pairs in TRL's dataset formats, so a run's data can be trained on elsewhere.
// Conversational rows: the prompt is the stored chat messages and each completion is a
// one-message assistant list, which is what TRL's DPOTrainer / KTOTrainer accept as is.

import { fail } from '../core/errors.js';
import type { RunStore } from '../store/run-store.js';
import type { CandidateLabelRow, ChatMessage, PairRow } from '../store/types.js';

export type ExportFormat = 'trl' | 'kto';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['trl', 'kto'];

export interface TrlPreferenceRow {
  prompt: ChatMessage[];
  chosen: ChatMessage[];
  rejected: ChatMessage[];
  /** The pair's soft label P(chosen ≻ rejected), when its pair stage kept one: a column beside
   *  TRL's that this project's trainer reads with `soft_labels: true`. */
  soft_label?: number;
  /** Only with `ids`: where the row came from (`pipeline show`, RunStore.tracePair). */
  pair_id?: string;
  round?: number;
}

export interface KtoExportRow {
  prompt: ChatMessage[];
  completion: ChatMessage[];
  /** true: the chosen answer of a pair, or a desirable candidate (a label stage); false: the
   *  rejected one, or an undesirable candidate. */
  label: boolean;
  pair_id?: string;
  /** Only with `ids`: the candidate_labels row a label stage's row came from. */
  label_id?: string;
  round?: number;
}

export interface ExportOptions {
  format: ExportFormat;
  /** Only this round's pairs (default: every round). */
  round?: number;
  /** Add pair_id and round to each row; off by default so rows carry exactly TRL's columns. */
  ids?: boolean;
}

/** The rounds to export: one (checked to exist), or every round with a row, in order. */
function roundsToExport(store: RunStore, round: number | undefined): number[] {
  const rounds = store.listRounds().map((r) => r.round);
  if (round !== undefined) {
    const stored = store.pairsForRound(round).length > 0 || store.labelsForRound(round).length > 0;
    if (!stored && !rounds.includes(round))
      fail(
        'E_REPORT_ROUND',
        `run '${store.runId}' has no round ${round}`,
        rounds.length > 0
          ? `its rounds are ${rounds.join(', ')}`
          : 'the run has no rounds recorded yet',
      );
    return [round];
  }
  const all = new Set(rounds);
  // Pairs and labels may exist for a round whose row was never written (an interrupted run).
  for (const table of ['pairs', 'candidate_labels']) {
    const extra = store.db
      .prepare(`SELECT DISTINCT round FROM ${table} WHERE run_id = ?`)
      .all(store.runId) as { round: number }[];
    for (const r of extra) all.add(r.round);
  }
  return [...all].sort((a, b) => a - b);
}

const assistant = (content: string): ChatMessage[] => [{ role: 'assistant', content }];

/** A stored pair or candidate label: what an exported row is read from. */
type Source = PairRow | CandidateLabelRow;
const what = (s: Source): string => ('candidateId' in s ? 'label' : 'pair');

/**
 * The run's pairs as TRL preference rows (one per pair) or KTO rows (two per pair: chosen
 * labelled true, rejected false, then a label stage's labelled candidates), in round order, then
 * in the order the stages wrote them.
 */
export function exportRows(
  store: RunStore,
  opts: ExportOptions,
): TrlPreferenceRow[] | KtoExportRow[] {
  const text = (id: string, pair: Source): string => {
    const c = store.getCandidate(id);
    if (!c)
      fail(
        'E_REPORT_DATA',
        `${what(pair)} ${pair.id} of round ${pair.round} references candidate ${id}, which is not stored`,
        'the run database is inconsistent; trace the pair with `pipeline show` and re-run the round',
      );
    return c.text;
  };
  const prompts = new Map<string, ChatMessage[]>();
  const prompt = (pair: Source): ChatMessage[] => {
    let m = prompts.get(pair.promptId);
    if (!m) {
      const p = store.getPrompt(pair.promptId);
      if (!p)
        fail(
          'E_REPORT_DATA',
          `${what(pair)} ${pair.id} references prompt ${pair.promptId}, which is not stored`,
          'the run database is inconsistent; re-run the round',
        );
      m = p.messages;
      prompts.set(pair.promptId, m);
    }
    return m;
  };
  const ids = (pair: PairRow) => (opts.ids ? { pair_id: pair.id, round: pair.round } : {});
  const rounds = roundsToExport(store, opts.round);
  if (opts.format === 'trl')
    return rounds
      .flatMap((r) => store.pairsForRound(r))
      .map((pair) => ({
        prompt: prompt(pair),
        chosen: assistant(text(pair.chosenCandidateId, pair)),
        rejected: assistant(text(pair.rejectedCandidateId, pair)),
        ...(pair.softLabel !== null ? { soft_label: pair.softLabel } : {}),
        ...ids(pair),
      }));
  return rounds.flatMap((r): KtoExportRow[] => [
    ...store.pairsForRound(r).flatMap((pair) => [
      {
        prompt: prompt(pair),
        completion: assistant(text(pair.chosenCandidateId, pair)),
        label: true,
        ...ids(pair),
      },
      {
        prompt: prompt(pair),
        completion: assistant(text(pair.rejectedCandidateId, pair)),
        label: false,
        ...ids(pair),
      },
    ]),
    // a label stage's desirable/undesirable candidates, as the KTO train stage reads them
    ...store
      .labelsForRound(r)
      .filter((l) => l.label !== null)
      .map((l) => ({
        prompt: prompt(l),
        completion: assistant(text(l.candidateId, l)),
        label: l.label === 'desirable',
        ...(opts.ids ? { label_id: l.id, round: l.round } : {}),
      })),
  ]);
}

/** Rows as JSONL: one JSON object per line, newline-terminated. */
export function toJsonl(rows: readonly unknown[]): string {
  return rows.map((r) => JSON.stringify(r) + '\n').join('');
}
