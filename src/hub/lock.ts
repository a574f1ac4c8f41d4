// One pull per folder at a time: `.pull.lock` holds the pid of the pull writing the folder.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fail } from '../core/errors.js';

export const LOCK_FILE = '.pull.lock';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One pull per folder at a time; a lock left by a dead process is taken over. */
export async function lockDir(outDir: string): Promise<() => Promise<void>> {
  const p = join(outDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    // Write the pid beside the lock, then link it into place: the lock never exists half-written.
    const tmp = `${p}.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      await writeFile(tmp, String(process.pid));
      await link(tmp, p);
      return () => rm(p, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(p, 'utf8').trim());
      // Our own pid means another pull in this process: a lock is always released in `finally`.
      if (Number.isInteger(pid) && pid > 0 && (pid === process.pid || processAlive(pid)))
        fail(
          'E_PULL_LOCKED',
          `${outDir} is being written by another pull (process ${pid})`,
          `wait for it to finish, or pull into another --out folder; if no pull is running, delete ${p}`,
        );
      await rm(p, { force: true });
    } finally {
      await rm(tmp, { force: true });
    }
  }
  return fail('E_PULL_LOCKED', `cannot lock ${outDir}`, `delete ${p} and try again`);
}
