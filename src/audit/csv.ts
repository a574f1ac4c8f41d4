// The audit queue as CSV, for annotators working in a spreadsheet or elsewhere: export writes one
// row per item (prompt and answers in the item's A / B order, the latest label if any); import
// reads the label, note and annotator columns back, matched by item_id. RFC 4180 quoting, by the
// csv-parse / csv-stringify packages.

import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { PipelineError } from '../core/errors.js';
import { isAuditLabel, type AuditLabel } from '../store/ledger/audit.js';
import type { RunStore } from '../store/run-store.js';
import { refreshHumanMetrics } from './agreement.js';
import { auditView } from './queue-view.js';

export const CSV_COLUMNS = [
  'item_id',
  'round',
  'position',
  'pair_id',
  'stratum',
  'prompt',
  'answer_a',
  'answer_b',
  'label',
  'note',
  'annotator',
  'labelled_at',
] as const;

export function exportAuditCsv(store: RunStore, round?: number): string {
  const rows = auditView(store, round).map((i) => [
    i.id,
    i.round,
    i.position + 1,
    i.pairId,
    i.stratum,
    i.prompt.map((m) => (i.prompt.length > 1 ? `${m.role}: ${m.content}` : m.content)).join('\n'),
    i.answerA,
    i.answerB,
    i.label ?? '',
    i.note ?? '',
    i.annotator ?? '',
    i.labelledAt ?? '',
  ]);
  return stringify([[...CSV_COLUMNS], ...rows]);
}

export interface ImportResult {
  labelled: number;
  /** Rows with an empty label column (not labelled yet). */
  blank: number;
  rounds: number[];
}

/**
 * Stores the labels of a CSV made by exportAuditCsv (any column order; extra columns ignored).
 * All or nothing: a bad row (unknown item, label not A/B/tie/skip, no annotator) fails the whole
 * import, naming its line, before anything is stored.
 */
export function importAuditCsv(
  store: RunStore,
  text: string,
  file: string,
  defaultAnnotator?: string,
): ImportResult {
  let records: Record<string, string>[];
  try {
    records = parse(text, { columns: true, skip_empty_lines: true, bom: true, trim: false });
  } catch (e) {
    throw new PipelineError({
      code: 'E_AUDIT_CSV',
      message: `${file}: not a readable CSV: ${e instanceof Error ? e.message : String(e)}`,
      hint: 'write it with `pipeline audit <run-id> --export <file>` and keep its header row',
    });
  }
  const bad = (line: number, what: string) =>
    new PipelineError({
      code: 'E_AUDIT_CSV',
      message: `${file}:${line}: ${what}`,
      hint: `labels are A, B, tie or skip; item ids come from \`pipeline audit <run-id> --export\``,
    });
  if (records.length && !('item_id' in records[0] && 'label' in records[0]))
    throw bad(1, 'the header has no item_id or no label column');
  const labels: {
    itemId: string;
    label: AuditLabel;
    note: string | null;
    annotator: string;
    round: number;
    at?: string;
  }[] = [];
  let blank = 0;
  records.forEach((r, k) => {
    const line = k + 2; // the header is line 1
    const label = (r.label ?? '').trim();
    if (!label) return void blank++;
    const item = store.getAuditItem((r.item_id ?? '').trim());
    if (!item) throw bad(line, `no audit item '${r.item_id}' in this run`);
    const norm =
      label.toLowerCase() === 'a' || label.toLowerCase() === 'b'
        ? label.toUpperCase()
        : label.toLowerCase();
    if (!isAuditLabel(norm)) throw bad(line, `label '${label}' is not one of A, B, tie, skip`);
    const annotator = (r.annotator ?? '').trim() || defaultAnnotator;
    if (!annotator) throw bad(line, 'no annotator (fill the annotator column or pass --annotator)');
    const at = (r.labelled_at ?? '').trim();
    labels.push({
      itemId: item.id,
      label: norm,
      note: (r.note ?? '') || null,
      annotator,
      round: item.round,
      ...(at && !Number.isNaN(Date.parse(at)) ? { at: new Date(at).toISOString() } : {}),
    });
  });
  store.transaction(() => {
    for (const l of labels)
      store.setAuditLabel({
        itemId: l.itemId,
        label: l.label,
        note: l.note,
        annotator: l.annotator,
        labelledAt: l.at,
      });
  });
  const rounds = [...new Set(labels.map((l) => l.round))].sort((a, b) => a - b);
  for (const r of rounds) refreshHumanMetrics(store, r);
  return { labelled: labels.length, blank, rounds };
}
