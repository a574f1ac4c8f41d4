// Preference pairs in TRL's dataset formats, so a run's data can be trained on elsewhere.
// Conversational rows: the prompt is the stored chat messages and each completion is a
// one-message assistant list, which is what TRL's DPOTrainer / KTOTrainer accept as is.

import { fail } from '../core/errors.js';
import type { RunStore } from '../store/run-store.js';
import type { ChatMessage, PairRow } from '../store/types.js';

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
  /** true: the chosen answer of a pair; false: the rejected one. */
  label: boolean;
  pair_id?: string;
  round?: number;
}

export interface ExportOptions {
  format: ExportFormat;
  /** Only this round's pairs (default: every round). */
  round?: number;
  /** Add pair_id and round to each row; off by default so rows carry exactly TRL's columns. */
  ids?: boolean;
}

function pairsToExport(store: RunStore, round: number | undefined): PairRow[] {
  const rounds = store.listRounds().map((r) => r.round);
  if (round !== undefined) {
    const pairs = store.pairsForRound(round);
    if (pairs.length === 0 && !rounds.includes(round))
      fail(
        'E_REPORT_ROUND',
        `run '${store.runId}' has no round ${round}`,
        rounds.length > 0
          ? `its rounds are ${rounds.join(', ')}`
          : 'the run has no rounds recorded yet',
      );
    return pairs;
  }
  const all = new Set(rounds);
  // Pairs may exist for a round whose row was never written (an interrupted run).
  const extra = store.db
    .prepare('SELECT DISTINCT round FROM pairs WHERE run_id = ?')
    .all(store.runId) as { round: number }[];
  for (const r of extra) all.add(r.round);
  return [...all].sort((a, b) => a - b).flatMap((r) => store.pairsForRound(r));
}

const assistant = (content: string): ChatMessage[] => [{ role: 'assistant', content }];

/**
 * The run's pairs as TRL preference rows (one per pair) or KTO rows (two per pair: chosen
 * labelled true, rejected false), in round order, then in the order the pair stage wrote them.
 */
export function exportRows(
  store: RunStore,
  opts: ExportOptions,
): TrlPreferenceRow[] | KtoExportRow[] {
  const text = (id: string, pair: PairRow): string => {
    const c = store.getCandidate(id);
    if (!c)
      fail(
        'E_REPORT_DATA',
        `pair ${pair.id} of round ${pair.round} references candidate ${id}, which is not stored`,
        'the run database is inconsistent; trace the pair with `pipeline show` and re-run the round',
      );
    return c.text;
  };
  const prompts = new Map<string, ChatMessage[]>();
  const prompt = (pair: PairRow): ChatMessage[] => {
    let m = prompts.get(pair.promptId);
    if (!m) {
      const p = store.getPrompt(pair.promptId);
      if (!p)
        fail(
          'E_REPORT_DATA',
          `pair ${pair.id} references prompt ${pair.promptId}, which is not stored`,
          'the run database is inconsistent; re-run the round',
        );
      m = p.messages;
      prompts.set(pair.promptId, m);
    }
    return m;
  };
  const ids = (pair: PairRow) => (opts.ids ? { pair_id: pair.id, round: pair.round } : {});
  const pairs = pairsToExport(store, opts.round);
  if (opts.format === 'trl')
    return pairs.map((pair) => ({
      prompt: prompt(pair),
      chosen: assistant(text(pair.chosenCandidateId, pair)),
      rejected: assistant(text(pair.rejectedCandidateId, pair)),
      ...(pair.softLabel !== null ? { soft_label: pair.softLabel } : {}),
      ...ids(pair),
    }));
  return pairs.flatMap((pair) => [
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
  ]);
}

/** Rows as JSONL: one JSON object per line, newline-terminated. */
export function toJsonl(rows: readonly unknown[]): string {
  return rows.map((r) => JSON.stringify(r) + '\n').join('');
}
