// What every part of the run store shares: the connection, the selected run, the clock, and the
// rules every statement runs under: failures become PipelineErrors naming the operation, JSON
// columns refuse what JSON cannot hold, and ledger rows get ids derived from (run id, input hash)
// so a resumed stage gets the same ids back. The ledger parts (ledger/*.ts) extend this class.

import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { fail, isPipelineError } from '../core/errors.js';
import { storeError } from './store-errors.js';
import type { LedgerTable, StoredError } from './run-types.js';

/** A row as better-sqlite3 returns it, before a mapper parses its JSON columns. */
export type Raw = Record<string, unknown>;

/** A class a ledger part can extend (TypeScript's mixin pattern requires `any[]` here). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type StoreClass<T = StoreBase> = abstract new (...args: any[]) => T;

export function parseJson<T>(v: unknown): T | null {
  return v === null || v === undefined ? null : (JSON.parse(v as string) as T);
}

/** Prepares every statement of a table group once, when the store opens. */
export function prepareAll<K extends string>(
  db: Database.Database,
  sql: Readonly<Record<K, string>>,
): Record<K, Database.Statement> {
  const out: Partial<Record<K, Database.Statement>> = {};
  for (const k of Object.keys(sql) as K[]) out[k] = db.prepare(sql[k]);
  return out as Record<K, Database.Statement>;
}

/** An error as a JSON column stores it: a PipelineError, an Error, or {code?, message, hint?}. */
export function toStoredError(e: unknown): StoredError | null {
  if (e === undefined || e === null) return null;
  if (isPipelineError(e)) return { code: e.code, message: e.message, hint: e.hint };
  if (e instanceof Error) return { message: e.message };
  if (typeof e === 'object' && typeof (e as StoredError).message === 'string') {
    const { code, message, hint } = e as StoredError;
    return { code, message, hint };
  }
  return { message: String(e) };
}

export const LEDGER_TABLES: readonly LedgerTable[] = [
  'prompts',
  'candidates',
  'judgements',
  'pairs',
  'pair_discards',
  'checkpoints',
  'audit_items',
  'meta_judgements',
  'judge_pairs',
  'candidate_labels',
  'rl_samples',
];

/** Short prefixes make ids in reports and traces self-describing. */
const ID_PREFIX: Record<LedgerTable, string> = {
  prompts: 'p',
  candidates: 'c',
  judgements: 'j',
  pairs: 'pr',
  pair_discards: 'd',
  checkpoints: 'ck',
  audit_items: 'au',
  meta_judgements: 'mj',
  judge_pairs: 'jp',
  candidate_labels: 'lb',
  rl_samples: 'rs',
};

export class StoreBase {
  /** The database file (as given to openStore). */
  readonly path: string;
  readonly readonly: boolean;
  /**
   * The underlying connection, for ad-hoc read queries (reports). Writes through it bypass the
   * idempotency rules of the add* methods.
   */
  readonly db: Database.Database;
  #runId: string | undefined;
  #closed = false;
  readonly #now: () => Date;
  readonly #existing: Record<LedgerTable, Database.Statement>;

  /** Use openStore(). */
  constructor(db: Database.Database, path: string, readonly: boolean, now: () => Date) {
    this.db = db;
    this.path = path;
    this.readonly = readonly;
    this.#now = now;
    const existing: Partial<Record<LedgerTable, Database.Statement>> = {};
    for (const t of LEDGER_TABLES)
      existing[t] = db.prepare(`SELECT id FROM ${t} WHERE run_id = ? AND input_hash = ?`);
    this.#existing = existing as Record<LedgerTable, Database.Statement>;
    const runs = db.prepare('SELECT id FROM runs ORDER BY created_at, id').all() as Raw[];
    // One run per file is the layout, so most callers never need useRun().
    if (runs.length === 1) this.#runId = runs[0].id as string;
  }

  /** The run this store writes to; E_STORE_NO_RUN until createRun/useRun. */
  get runId(): string {
    if (this.#runId === undefined)
      fail(
        'E_STORE_NO_RUN',
        `${this.path}: no run selected`,
        'call createRun() for a new run or useRun(id) for an existing one',
      );
    return this.#runId;
  }

  protected selectRun(id: string): void {
    this.#runId = id;
  }

  /** Runs `fn` in one transaction: everything it wrote is committed together or not at all. */
  transaction<T>(fn: () => T): T {
    return this.guard('a transaction', () => this.tx(fn));
  }

  /** Closes the connection (checkpointing the WAL); later calls fail with E_STORE_CLOSED. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.db.close();
    } catch (e) {
      throw storeError(e, this.path, 'closing');
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The id of the row with this input hash, if it is already stored (resume: skip the work). */
  existingId(table: LedgerTable, hash: string): string | undefined {
    return this.guard(`looking up ${table}`, () => {
      if (!LEDGER_TABLES.includes(table))
        fail('E_STORE_VALUE', `unknown ledger table '${String(table)}'`, LEDGER_TABLES.join(', '));
      const r = this.#existing[table].get(this.runId, hash) as { id: string } | undefined;
      return r?.id;
    });
  }

  // ---- what every statement runs under ---------------------------------------------------------

  /** Runs one store operation: refused after close, failures named after `op`. */
  protected guard<T>(op: string, fn: () => T): T {
    if (this.#closed)
      fail(
        'E_STORE_CLOSED',
        `${this.path}: ${op} after the run database was closed`,
        'this is a bug: a stage kept using the store after the run ended',
      );
    try {
      return fn();
    } catch (e) {
      throw storeError(e, this.path, op);
    }
  }

  protected tx<T>(fn: () => T): T {
    const wrapped = this.db.transaction((): T => {
      const r = fn();
      if (r instanceof Promise)
        fail(
          'E_STORE_ASYNC',
          'a store transaction body returned a promise',
          'do the async work first, then write its results inside a synchronous transaction',
        );
      return r;
    });
    // IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes
    // fails with SQLITE_BUSY at once (no busy wait) when another connection wrote in between.
    return this.readonly ? wrapped.deferred() : wrapped.immediate();
  }

  /** Now, as stored in created_at and friends. */
  protected ts(): string {
    return this.#now().toISOString();
  }

  protected json(value: unknown, field: string): string | null {
    if (value === undefined || value === null) return null;
    try {
      return JSON.stringify(value);
    } catch (e) {
      fail(
        'E_STORE_VALUE',
        `${field} cannot be stored as JSON: ${e instanceof Error ? e.message : String(e)}`,
        'pass plain JSON data (no BigInt, no circular references)',
      );
    }
  }

  /**
   * Inserts a stage output with `INSERT ... ON CONFLICT(run_id, input_hash) DO NOTHING` and
   * returns the stored row's id, whether this call or an earlier attempt wrote it.
   */
  protected ledgerInsert(table: LedgerTable, stmt: Database.Statement, params: Raw): string {
    const hash = params.inputHash;
    if (typeof hash !== 'string' || hash.length === 0)
      fail(
        'E_STORE_VALUE',
        `${table}: inputHash is required`,
        'compute it with inputHash(...) over everything that determines the row',
      );
    const id = this.#id(table, hash);
    const info = stmt.run({ ...params, id, runId: this.runId, now: this.ts() });
    if (info.changes > 0) return id;
    const row = this.#existing[table].get(this.runId, hash) as { id: string } | undefined;
    if (!row)
      fail('E_STORE', `${table}: insert of ${id} neither stored a row nor found one`, 'report it');
    return row.id;
  }

  #id(table: LedgerTable, hash: string): string {
    const h = createHash('sha256').update(`${this.runId}\0${hash}`).digest('hex').slice(0, 20);
    return `${ID_PREFIX[table]}_${h}`;
  }
}
