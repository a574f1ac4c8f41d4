// File checks: every file and model folder the pipeline refers to exists and is the right kind of
// thing, and every rubric template passes the caller's template check (spec/ cannot load
// templates itself: that is the prompts layer's job, so the check is passed in).

import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { didYouMean } from './did-you-mean.js';
import { fileRefs, type FileKind, type FileRef, type TemplateUse } from './file-refs.js';
import type { Problems } from './problems.js';
import { formatPath } from './words.js';
import { allowedRoots, containmentProblem } from './paths.js';

export const BUILTIN_MODELS = ['builtin:sandbox', 'builtin:tiny'] as const;

/**
 * Checks one Handlebars rubric (front matter, compiles, uses only the variables its stage
 * provides). `stageKind` is the stage that renders it, or `self_instruct` for
 * prompts.self_instruct.rubric. Returns an error message, or undefined when the template is fine;
 * a thrown error's message is reported the same way.
 */
export type TemplateChecker = (
  absPath: string,
  stageKind: string,
  use: TemplateUse,
) => string | undefined;

/** Resolve a path written in the pipeline file: relative paths are relative to the file. */
export function resolvePipelinePath(baseDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

/** `checkExists`: report missing files; `checkTemplate`: run it on each template that exists. */
export function checkFiles(
  out: Problems,
  raw: unknown,
  baseDir: string,
  checkExists: boolean,
  checkTemplate: TemplateChecker | undefined,
  allowPaths?: readonly string[],
): void {
  const roots = allowedRoots(baseDir, allowPaths);
  for (const ref of fileRefs(raw)) {
    const { path, value, kind } = ref;
    if (kind === 'model' && value.startsWith('builtin:')) {
      if (checkExists && !(BUILTIN_MODELS as readonly string[]).includes(value))
        out.add(
          path,
          `unknown built-in model '${value}'${didYouMean(value, BUILTIN_MODELS)} ` +
            `(expected ${BUILTIN_MODELS.join(', ')} or a model folder)`,
        );
      continue;
    }
    if (kind === 'model' && value.startsWith('hf:')) {
      if (checkExists) {
        const repo = value.slice(3);
        const name = repo.split('/').pop() ?? repo;
        out.add(
          path,
          `'${value}' is a Hub id, not a local folder (expected a model folder: run ` +
            `\`pipeline pull ${repo}\` and write path: models/${name})`,
        );
      }
      continue;
    }
    const abs = resolvePipelinePath(baseDir, value);
    const problem =
      fileProblem(abs, value, kind) ??
      (kind === 'file' && checkExists ? containmentProblem(abs, value, roots) : undefined);
    if (problem) {
      // Say where we looked: relative paths resolve against the pipeline file, not the cwd,
      // and that surprises people who run `pipeline` from the repository root.
      const looked = isAbsolute(value) ? '' : `; looked for ${abs}`;
      if (checkExists)
        out.add(
          path,
          `${formatPath(path)}: ${problem.what} (expected ${problem.expected}${looked})`,
        );
      continue;
    }
    if (checkTemplate) checkTemplateAt(out, ref, abs, checkTemplate);
  }
}

function checkTemplateAt(out: Problems, ref: FileRef, abs: string, check: TemplateChecker): void {
  if (!ref.template) return;
  let msg: string | undefined;
  try {
    msg = check(abs, ref.template.stageKind, ref.template.use);
  } catch (e) {
    msg = e instanceof Error ? e.message : String(e);
  }
  if (msg) out.add(ref.path, `${formatPath(ref.path)}: template '${ref.value}': ${msg}`);
}

function fileProblem(
  abs: string,
  value: string,
  kind: FileKind,
): { what: string; expected: string } | undefined {
  const folder = kind !== 'file';
  const noun = kind === 'model' ? 'model folder' : kind === 'adapter' ? 'adapter folder' : 'file';
  const expected =
    kind === 'model'
      ? `${BUILTIN_MODELS.join(', ')} or a Hugging Face model folder (config.json, tokenizer.json, *.safetensors)`
      : kind === 'adapter'
        ? 'a PEFT adapter folder (adapter_config.json, adapter_model.safetensors)'
        : 'an existing file';
  let isDir: boolean;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    return { what: `${noun} '${value}' not found`, expected };
  }
  if (!folder && isDir) return { what: `'${value}' is a folder, not a file`, expected };
  if (folder && !isDir) return { what: `'${value}' is a file, not a folder`, expected };
  const marker =
    kind === 'model' ? 'config.json' : kind === 'adapter' ? 'adapter_config.json' : undefined;
  if (marker && !existsSync(join(abs, marker)))
    return { what: `'${value}' is not a ${noun}: it has no ${marker}`, expected };
  return undefined;
}
