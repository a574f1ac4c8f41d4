// The servers a run's checkpoints were served by (table served_models): written when a served
// policy opens, read by `pipeline trace` beside each checkpoint.

import { prepareAll, type StoreClass } from './store-base.js';

export interface ServedModelRow {
  checkpointId: string;
  baseUrl: string;
  model: string;
  /** The name the checkpoint's adapter was loaded under, or null when the base model answered. */
  adapter: string | null;
  createdAt: string;
}

const SQL = {
  // a resumed run that serves the same checkpoint again finds the row already there
  insert: `INSERT INTO served_models (run_id, checkpoint_id, base_url, model, adapter, created_at)
    VALUES (@runId, @checkpointId, @baseUrl, @model, @adapter, @now) ON CONFLICT DO NOTHING`,
  list: `SELECT checkpoint_id AS checkpointId, base_url AS baseUrl, model,
      NULLIF(adapter, '') AS adapter, created_at AS createdAt
    FROM served_models WHERE run_id = ? AND checkpoint_id = ? ORDER BY created_at`,
};

export function withServedModels<B extends StoreClass>(Base: B) {
  abstract class ServedModels extends Base {
    readonly #s = prepareAll(this.db, SQL);

    recordServedModel(r: Omit<ServedModelRow, 'createdAt'>): void {
      this.guard('recording the served model', () =>
        this.#s.insert.run({ ...r, adapter: r.adapter ?? '', runId: this.runId, now: this.ts() }),
      );
    }

    /** Where a checkpoint of this run was served (none for one run in process). */
    servedModels(checkpointId: string): ServedModelRow[] {
      return this.guard(
        'reading served models',
        () => this.#s.list.all(this.runId, checkpointId) as ServedModelRow[],
      );
    }
  }
  return ServedModels;
}
