// The run's event log: the lifecycle events the runner emitted (run, round and stage starts and
// ends, pair counts, eval metrics, gates, warnings), kept in the `events` table so `pipeline show`
// can tell what happened after the terminal that watched the run is gone.
//
// The store sits below src/events.ts, so it takes events by their shape (LoggableEvent), not by
// the PipelineEvent type: type, round and stage get columns, the emission time is `at`, and the
// remaining fields are the JSON payload.

import { parseJson, prepareAll, type Raw, type StoreClass } from './store-base.js';

export interface NewEvent {
  type: string;
  round?: number | null;
  stageIndex?: number | null;
  data?: unknown;
}

export interface EventRow {
  id: number;
  runId: string;
  round: number | null;
  stageIndex: number | null;
  at: string;
  type: string;
  data: unknown;
}

/** A run event by its shape: any PipelineEvent fits. */
export interface LoggableEvent {
  type: string;
  /** ISO time the event was emitted; stored as `at`. */
  time: string;
  round?: number;
  /** The stage's index in the pipeline file. */
  stage?: number;
  /** The run's id: implied by the store, so not repeated in the payload. */
  runId?: string;
  /** Every other field of the event is its payload (the `data` column). */
}

export interface EventQuery {
  /** Only events of these types (default: all). */
  types?: readonly string[];
  /** Only the newest `last` of them (default: all). */
  last?: number;
}

const COLS = `id, run_id AS runId, round, stage_index AS stageIndex, at, type, data`;

const SQL = {
  insert: `INSERT INTO events (run_id, round, stage_index, at, type, data)
    VALUES (@runId, @round, @stageIndex, @at, @type, @data)`,
  since: `SELECT ${COLS} FROM events WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?`,
  // LIMIT -1 is SQLite's "no limit"; the inner query takes the newest, the outer one restores
  // the order they happened in.
  list: `SELECT * FROM (
      SELECT ${COLS} FROM events
      WHERE run_id = @runId
        AND (@types IS NULL OR type IN (SELECT value FROM json_each(@types)))
      ORDER BY id DESC LIMIT @limit
    ) ORDER BY id`,
  count: `SELECT count(*) AS n FROM events WHERE run_id = ?`,
};

function mapEvent(r: Raw): EventRow {
  return { ...(r as unknown as EventRow), data: parseJson(r.data) };
}

export function withEventLog<B extends StoreClass>(Base: B) {
  abstract class EventLog extends Base {
    readonly #s = prepareAll(this.db, SQL);

    addEvent(e: NewEvent): number {
      return this.guard(`logging event ${e.type}`, () => this.#insert(e, this.ts()));
    }

    /** Logs a run event (a PipelineEvent) at the time it was emitted; returns its id. */
    appendEvent<E extends LoggableEvent>(e: E): number {
      return this.guard(`logging event ${e.type}`, () => {
        const { type, time, round, stage, runId: _runId, ...payload } = e;
        const data = Object.keys(payload).length > 0 ? payload : null;
        return this.#insert({ type, round, stageIndex: stage, data }, time);
      });
    }

    /** Events with id > afterId, oldest first (tail a running run with the last id seen). */
    eventsSince(afterId = 0, limit = 1000): EventRow[] {
      return this.guard('reading events', () =>
        (this.#s.since.all(this.runId, afterId, limit) as Raw[]).map(mapEvent),
      );
    }

    /** The run's events, oldest first, optionally of some types only and only the newest few. */
    listEvents(query: EventQuery = {}): EventRow[] {
      return this.guard('listing events', () => {
        const rows = this.#s.list.all({
          runId: this.runId,
          types: query.types ? JSON.stringify(query.types) : null,
          limit: query.last ?? -1,
        }) as Raw[];
        return rows.map(mapEvent);
      });
    }

    /** How many events the run logged. */
    countEvents(): number {
      return this.guard('counting events', () => {
        return (this.#s.count.get(this.runId) as { n: number }).n;
      });
    }

    #insert(e: NewEvent, at: string): number {
      const info = this.#s.insert.run({
        runId: this.runId,
        round: e.round ?? null,
        stageIndex: e.stageIndex ?? null,
        type: e.type,
        data: this.json(e.data, 'data'),
        at,
      });
      return Number(info.lastInsertRowid);
    }
  }
  return EventLog;
}
