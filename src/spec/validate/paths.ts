// Which files a pipeline file may make a run read.
//
// A pipeline file is shared like code, and what a run reads goes into prompts that may be sent
// to a judge server. So the files it names (prompts, rubrics, constitutions, phrase lists) must
// lie inside the pipeline file's folder tree or the current project folder; any other folder is
// allowed only by the person running it (`--allow-path <dir>`), never by the file. Symlinks are
// resolved first (realpath), so a link inside the project cannot point outside it.
// Model and adapter folders are not checked: they hold weights the engine loads, and no byte of
// them is rendered into a prompt; users keep them wherever the disk is large.

import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** The folders referenced files may resolve into, each as its real path. */
export function allowedRoots(
  baseDir: string,
  allowPaths: readonly string[] = [],
  cwd: string = process.cwd(),
): string[] {
  const roots = [baseDir, cwd, ...allowPaths.map((p) => resolve(cwd, p))].map(realOrSelf);
  return [...new Set(roots)];
}

/**
 * Undefined when `abs` (an existing file) resolves inside one of `roots`; otherwise what is
 * wrong, for the problem list.
 */
export function containmentProblem(
  abs: string,
  value: string,
  roots: readonly string[],
): { what: string; expected: string } | undefined {
  const real = realOrSelf(abs);
  if (roots.some((root) => isInside(real, root))) return undefined;
  const shown = real === abs ? '' : ` (it resolves to ${real})`;
  return {
    what: `'${value}' is outside the pipeline's folder and the project folder${shown}`,
    expected: `a file under ${roots.join(' or ')}, or \`--allow-path <dir>\` naming a folder that holds it`,
  };
}

function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

function realOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}
