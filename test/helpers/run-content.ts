// What a run folder holds, with everything that names the attempt rather than the work projected
// out, so an interrupted-and-resumed run can be compared with an uninterrupted one row by row.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface RunContent {
  /** table -> its rows as canonical JSON, sorted. */
  tables: Record<string, string[]>;
  /** file path relative to the run folder -> sha256 of its (normalised) content. */
  files: Record<string, string>;
}

// Columns that say when or by which attempt a row was written, not what it holds. stage_runs'
// attempts and counts describe the last attempt (counts has `reused`), so they differ by design.
const ATTEMPT_COLUMNS = new Set(['run_id', 'created_at', 'started_at', 'finished_at', 'at']);
const ATTEMPT_ONLY: Record<string, string[]> = { stage_runs: ['attempts', 'counts'] };
// The event log grows by one run-start per attempt: it is a record of attempts, not of work.
const ATTEMPT_TABLES = new Set(['events']);
// Measured speed, not a result of the training.
const TIMING_KEYS = ['tokens_per_s'];
const NOT_CONTENT_FILES = /^(run\.sqlite(-wal|-shm|-journal)?|\.lock)$/;

function stripTiming(json: string): string {
  const o = JSON.parse(json) as Record<string, unknown>;
  for (const k of TIMING_KEYS) delete o[k];
  return JSON.stringify(o);
}

/** The run's tables with ids replaced by the content key (input hash) of the row they name. */
function tables(db: Database.Database): Record<string, string[]> {
  const names = (
    db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]
  )
    .map((t) => t.name)
    .filter((n) => !n.startsWith('sqlite_') && !ATTEMPT_TABLES.has(n));
  const key = new Map<string, string>();
  for (const t of names) {
    const cols = (db.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map(
      (c) => c.name,
    );
    if (!cols.includes('id') || !cols.includes('input_hash')) continue;
    for (const r of db.prepare(`SELECT id, input_hash FROM ${t}`).all() as Record<string, string>[])
      key.set(r.id, `${t}:${r.input_hash}`);
  }
  const out: Record<string, string[]> = {};
  for (const t of names) {
    const rows = db.prepare(`SELECT * FROM ${t}`).all() as Record<string, unknown>[];
    out[t] = rows
      .map((row) => {
        const kept: Record<string, unknown> = {};
        for (const [c, v] of Object.entries(row)) {
          if (ATTEMPT_COLUMNS.has(c) || ATTEMPT_ONLY[t]?.includes(c)) continue;
          if (c === 'id' && key.has(v as string)) continue; // its input_hash stays
          if (c === 'metrics' && typeof v === 'string') kept[c] = stripTiming(v);
          // an id nobody holds stays as is: the orphan check reports it
          else kept[c] = c.endsWith('_id') && typeof v === 'string' ? (key.get(v) ?? v) : v;
        }
        return JSON.stringify(kept);
      })
      .sort();
  }
  return out;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

function files(runDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of walk(runDir).sort()) {
    const rel = relative(runDir, p);
    if (NOT_CONTENT_FILES.test(rel)) continue;
    let bytes: Buffer | string = readFileSync(p);
    if (rel.endsWith('train_metrics.jsonl'))
      bytes = bytes.toString('utf8').split('\n').filter(Boolean).map(stripTiming).join('\n');
    out[rel] = createHash('sha256').update(bytes).digest('hex');
  }
  return out;
}

export function runContent(runDir: string): RunContent {
  const db = new Database(join(runDir, 'run.sqlite'), { readonly: true });
  try {
    return { tables: tables(db), files: files(runDir) };
  } finally {
    db.close();
  }
}

// A unit of work is one row: these columns say which unit, whatever the attempt that wrote it.
const UNIT_KEYS: Record<string, string> = {
  prompts: 'round, source, messages, stage_index',
  candidates: 'prompt_id, idx, origin, parent_candidate_id, stage_index',
  judgements:
    'candidate_id, other_candidate_id, judge_id, mode, sample_idx, principle_id, stage_index',
  pairs: 'prompt_id, stage_index',
  pair_discards: 'prompt_id, stage_index',
  checkpoints: 'round, kind',
};

/** What is wrong with the run's rows: orphans (broken references), duplicated units, corruption. */
export function integrityProblems(runDir: string): string[] {
  const db = new Database(join(runDir, 'run.sqlite'), { readonly: true });
  try {
    const problems: string[] = [];
    const ok = db.pragma('integrity_check', { simple: true });
    if (ok !== 'ok') problems.push(`integrity_check: ${String(ok)}`);
    for (const v of db.pragma('foreign_key_check') as Record<string, unknown>[])
      problems.push(`orphan row: ${JSON.stringify(v)}`);
    for (const [t, cols] of Object.entries(UNIT_KEYS)) {
      const dups = db
        .prepare(`SELECT ${cols}, count(*) AS n FROM ${t} GROUP BY ${cols} HAVING n > 1`)
        .all();
      for (const d of dups) problems.push(`duplicate ${t}: ${JSON.stringify(d)}`);
    }
    // every checkpoint row names a folder that exists (a crash must not leave a dangling row)
    for (const c of db.prepare(`SELECT path FROM checkpoints WHERE kind <> 'base'`).all() as {
      path: string;
    }[]) {
      try {
        statSync(join(runDir, c.path));
      } catch {
        problems.push(`checkpoint row without its folder: ${c.path}`);
      }
    }
    return problems;
  } finally {
    db.close();
  }
}
