// The human audit's queue and labels (migration 4): the pairs an audit stage drew, and what
// annotators said of them. Labels are stored as the key pressed on the page, A / B / tie / skip,
// about answers shown in the item's order (`swapped`: the chosen answer was shown as B); readers
// turn them into chosen / rejected with `humanPrefers`.

import { prepareAll, type StoreClass } from '../store-base.js';
import type { StageOutput } from '../run-types.js';

export const AUDIT_LABELS = ['A', 'B', 'tie', 'skip'] as const;
export type AuditLabel = (typeof AUDIT_LABELS)[number];

export function isAuditLabel(v: unknown): v is AuditLabel {
  return typeof v === 'string' && (AUDIT_LABELS as readonly string[]).includes(v);
}

export interface NewAuditItem extends StageOutput {
  pairId: string;
  /** The stratum it was drawn from, e.g. 'margin:low|judges:disagree|principle:p3'. */
  stratum: string;
  /** The chosen answer is shown second (as B). */
  swapped: boolean;
  /** Place in the round's queue (0 first). */
  position: number;
}

export interface AuditItemRow {
  id: string;
  round: number;
  stageIndex: number | null;
  pairId: string;
  stratum: string;
  swapped: boolean;
  position: number;
  /** The latest label any annotator gave (null: not labelled yet). */
  label: AuditLabel | null;
  note: string | null;
  annotator: string | null;
  labelledAt: string | null;
}

export interface AuditLabelRow {
  itemId: string;
  annotator: string;
  label: AuditLabel;
  note: string | null;
  labelledAt: string;
}

export interface NewAuditLabel {
  itemId: string;
  annotator: string;
  label: AuditLabel;
  note?: string | null;
  /** ISO time of the label (an imported CSV keeps the annotator's); default now. */
  labelledAt?: string;
}

/** What the human said of the pair's judged order: the chosen answer, the rejected one, or neither. */
export type HumanPreference = 'chosen' | 'rejected' | 'tie' | 'skip';

export function humanPrefers(label: AuditLabel, swapped: boolean): HumanPreference {
  if (label === 'tie' || label === 'skip') return label;
  const chosenSlot = swapped ? 'B' : 'A';
  return label === chosenSlot ? 'chosen' : 'rejected';
}

// the latest label of an item, whoever gave it (time, then insertion order)
const LATEST = (col: string) => `(SELECT ${col} FROM audit_labels l WHERE l.item_id = i.id
    ORDER BY l.labelled_at DESC, l.rowid DESC LIMIT 1)`;
const ITEM_COLS = `i.id, i.round, i.stage_index AS stageIndex, i.pair_id AS pairId, i.stratum,
  i.swapped, i.position, ${LATEST('label')} AS label, ${LATEST('note')} AS note,
  ${LATEST('annotator')} AS annotator, ${LATEST('labelled_at')} AS labelledAt`;

const SQL = {
  insertItem: `INSERT INTO audit_items (id, run_id, round, stage_index, pair_id, stratum, swapped,
      position, input_hash, created_at)
    VALUES (@id, @runId, @round, @stageIndex, @pairId, @stratum, @swapped, @position, @inputHash,
      @now)
    ON CONFLICT (run_id, input_hash) DO NOTHING`,
  items: `SELECT ${ITEM_COLS} FROM audit_items i WHERE i.run_id = ? ORDER BY i.round, i.position`,
  itemsOfRound: `SELECT ${ITEM_COLS} FROM audit_items i WHERE i.run_id = ? AND i.round = ?
    ORDER BY i.position`,
  item: `SELECT ${ITEM_COLS} FROM audit_items i WHERE i.run_id = ? AND i.id = ?`,
  upsertLabel: `INSERT INTO audit_labels (item_id, annotator, label, note, labelled_at)
    VALUES (@itemId, @annotator, @label, @note, @labelledAt)
    ON CONFLICT (item_id, annotator) DO UPDATE SET label = excluded.label, note = excluded.note,
      labelled_at = excluded.labelled_at`,
  labels: `SELECT l.item_id AS itemId, l.annotator, l.label, l.note, l.labelled_at AS labelledAt
    FROM audit_labels l JOIN audit_items i ON i.id = l.item_id
    WHERE i.run_id = ? ORDER BY i.round, i.position, l.labelled_at, l.rowid`,
};

function mapItem(r: Record<string, unknown>): AuditItemRow {
  return { ...(r as unknown as AuditItemRow), swapped: r.swapped === 1 };
}

export function withAudit<B extends StoreClass>(Base: B) {
  abstract class Audit extends Base {
    readonly #s = prepareAll(this.db, SQL);

    addAuditItem(a: NewAuditItem): string {
      return this.guard('adding an audit item', () =>
        this.ledgerInsert('audit_items', this.#s.insertItem, {
          round: a.round,
          stageIndex: a.stageIndex ?? null,
          pairId: a.pairId,
          stratum: a.stratum,
          swapped: a.swapped ? 1 : 0,
          position: a.position,
          inputHash: a.inputHash,
        }),
      );
    }

    /** The audit queue, all rounds (or one), in queue order, each with its latest label. */
    auditItems(round?: number): AuditItemRow[] {
      return this.guard('listing audit items', () =>
        (round === undefined
          ? this.#s.items.all(this.runId)
          : this.#s.itemsOfRound.all(this.runId, round)
        ).map((r) => mapItem(r as Record<string, unknown>)),
      );
    }

    getAuditItem(id: string): AuditItemRow | undefined {
      return this.guard('reading an audit item', () => {
        const r = this.#s.item.get(this.runId, id) as Record<string, unknown> | undefined;
        return r && mapItem(r);
      });
    }

    /** Stores an annotator's label of an item, replacing their earlier one. */
    setAuditLabel(l: NewAuditLabel): void {
      this.guard('storing an audit label', () => {
        this.#s.upsertLabel.run({
          itemId: l.itemId,
          annotator: l.annotator,
          label: l.label,
          note: l.note ?? null,
          labelledAt: l.labelledAt ?? this.ts(),
        });
      });
    }

    /** Every label of every annotator, in queue order. */
    auditLabels(): AuditLabelRow[] {
      return this.guard(
        'listing audit labels',
        () => this.#s.labels.all(this.runId) as AuditLabelRow[],
      );
    }
  }
  return Audit;
}
