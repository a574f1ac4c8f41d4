// The runs folder (--root) is checked before anything is created in it.
//
// Node's recursive mkdir cannot be trusted with an odd root: under /proc/1 a mkdir fails with
// ENOENT although the parent exists, and mkdirSync({ recursive: true }) answers ENOENT by
// creating the parent (EEXIST: fine) and trying the child again, forever, at full CPU. So the
// missing folders are created one at a time, each failure reported, and before that a probe
// folder shows that the deepest existing folder really takes writes: access(W_OK) says yes to
// root on a read-only mount, and /sys answers W_OK yet refuses every mkdir.

import { accessSync, constants, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PipelineError } from '../core/errors.js';

const HINT =
  'pass a folder you can write with --root (default: runs in the current folder); ' +
  'finished runs on read-only media can still be read with `pipeline runs/show/drift --root`';

/** Ensure `root` (absolute) is a folder this process can create run folders in; creates it. */
export function checkRoot(root: string): void {
  const missing: string[] = [];
  let dir = root;
  for (;;) {
    const kind = entryKind(dir);
    if (kind === 'dir') break;
    if (kind === 'other') throw rootError(root, `${dir} is a file, not a folder`, 'ENOTDIR');
    const parent = dirname(dir);
    if (parent === dir) throw rootError(root, 'no existing folder above it', 'ENOENT');
    missing.unshift(dir);
    dir = parent;
  }
  probeWrite(root, dir);
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      if (errCode(e) !== 'EEXIST') throw rootError(root, `cannot create ${d}`, errCode(e), e);
    }
  }
}

function entryKind(path: string): 'dir' | 'other' | 'missing' {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'other';
  } catch (e) {
    // ENOTDIR: a file above it; the walk up finds and names that file
    if (errCode(e) === 'ENOENT' || errCode(e) === 'ENOTDIR') return 'missing';
    throw rootError(path, `cannot look at ${path}`, errCode(e), e);
  }
}

/** Create and remove a folder in `dir`: the only test a read-only mount or /proc cannot fool. */
function probeWrite(root: string, dir: string): void {
  const probe = join(dir, `.rlaif-write-probe-${process.pid}`);
  try {
    accessSync(dir, constants.W_OK);
    mkdirSync(probe);
  } catch (e) {
    throw rootError(root, `${dir} does not take writes`, errCode(e), e);
  }
  rmdirSync(probe);
}

function rootError(root: string, why: string, code: string, cause?: unknown): PipelineError {
  const readOnly = code === 'EROFS' || code === 'EACCES' || code === 'EPERM';
  return new PipelineError(
    {
      code: 'E_RUN_ROOT',
      message: `--root ${root}: ${why} (${readOnly ? `${code}: read-only or not writable` : code})`,
      hint: HINT,
    },
    cause === undefined ? undefined : { cause },
  );
}

function errCode(e: unknown): string {
  return (e as { code?: string }).code ?? 'unknown error';
}
