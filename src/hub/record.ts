// `.pull.json`: what was pulled into a folder, from where, and the hash of each file on disk. It is
// written after every finished file (through a temporary file and a rename, so it is never
// half-written) and lets the next pull skip what is already there.

import { existsSync, readFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fail } from '../core/errors.js';

export const PULL_RECORD_FILE = '.pull.json';

/** What `.pull.json` holds. */
export interface PullRecord {
  repo: string;
  revision: string;
  commit?: string;
  hubUrl: string;
  /** ISO date of the last update. */
  date: string;
  /** false while a pull is in progress or was interrupted. */
  complete: boolean;
  /** Files on disk with the hash the hub listed for them. */
  files: Record<string, { size: number; sha256?: string; gitOid?: string }>;
}

/** The record of an earlier pull into `outDir`, if any; an unreadable one is an error. */
export function readRecord(outDir: string): PullRecord | undefined {
  const p = join(outDir, PULL_RECORD_FILE);
  if (!existsSync(p)) return undefined;
  try {
    const r = JSON.parse(readFileSync(p, 'utf8')) as PullRecord;
    if (typeof r.repo === 'string' && r.files && typeof r.files === 'object') return r;
  } catch {
    // fall through
  }
  return fail(
    'E_PULL_RECORD',
    `${p}: unreadable pull record`,
    `delete ${p} (the files are re-checked by size and hash on the next pull) or pull into another --out folder`,
  );
}

export async function writeRecord(outDir: string, record: PullRecord): Promise<void> {
  const p = join(outDir, PULL_RECORD_FILE);
  const tmp = `${p}.${process.pid}.tmp`;
  await writeFile(
    tmp,
    JSON.stringify({ ...record, date: new Date().toISOString() }, null, 2) + '\n',
  );
  await rename(tmp, p);
}

/** Read `.pull.json` of a folder, if a pull made it. */
export async function readPullRecord(outDir: string): Promise<PullRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(outDir, PULL_RECORD_FILE), 'utf8')) as PullRecord;
  } catch {
    return undefined;
  }
}
