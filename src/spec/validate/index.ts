// Pipeline file -> validated PipelineSpec, or ONE error listing every problem as
// `file:line:col: what is wrong (expected ...)`.
//
// Reporting everything at once matters more than usual here: a researcher edits the YAML, runs
// `pipeline validate`, and should be able to fix the whole file in one pass. So besides the
// schema, the cross-field checks (stage order, judge names, files, templates) also run on the
// parts of the file that did parse, even when other parts did not.
//
// The jobs live beside this file: problems.ts collects, zod-issues.ts words the schema's issues,
// cross-field.ts and check-files.ts add their own, did-you-mean.ts suggests names.

import { dirname, resolve } from 'node:path';
import { PipelineError } from '../../core/errors.js';
import type { PipelineFile } from '../read-file.js';
import {
  judgeSchema,
  JUDGE_NAME_PATTERN,
  JUDGE_NAME_RULE,
  pipelineSchema,
  type PipelineSpec,
} from '../schema.js';
import { checkFiles, type TemplateChecker } from './check-files.js';
import { checkSecrets } from './secrets.js';
import { checkCrossFields } from './cross-field.js';
import { partsOfRaw, partsOfSpec } from './parsed-parts.js';
import { Problems, type PipelineProblem } from './problems.js';
import { isRecord } from './raw-value.js';
import { reportIssue } from './zod-issues.js';

export { BUILTIN_MODELS, resolvePipelinePath, type TemplateChecker } from './check-files.js';
export { editDistance, suggest } from './did-you-mean.js';
export type { RubricUse, TemplateUse } from './file-refs.js';
export type { PipelineProblem } from './problems.js';
export { formatPath } from './words.js';

export interface ValidateOptions {
  /** Check that every referenced file and model folder exists (default false). */
  checkFiles?: boolean;
  /** Called for each rubric template that exists; its message is reported at the template field. */
  checkTemplate?: TemplateChecker;
  /** Folders besides the pipeline's and the project's that referenced files may lie in. */
  allowPaths?: readonly string[];
}

export interface ValidatedPipeline {
  spec: PipelineSpec;
  /** Absolute folder of the pipeline file: relative paths in `spec` resolve against it. */
  baseDir: string;
}

/** E_PIPELINE_INVALID: the message lists every problem; `problems` has them as data. */
export class PipelineValidationError extends PipelineError {
  readonly problems: readonly PipelineProblem[];

  constructor(filePath: string, problems: PipelineProblem[]) {
    const lines = problems.map((p) => `${filePath}:${p.line}:${p.col}: ${p.message}`);
    super({
      code: 'E_PIPELINE_INVALID',
      message:
        lines.length === 1
          ? lines[0]
          : `${filePath}: ${lines.length} problems\n${lines.join('\n')}`,
      hint: '`pipeline schema` prints every field of a pipeline file with its type, range and default',
    });
    this.problems = problems;
  }
}

/** Validate a parsed pipeline file; throws PipelineValidationError listing every problem. */
export function validatePipeline(
  file: PipelineFile,
  opts: ValidateOptions = {},
): ValidatedPipeline {
  const { spec, baseDir, problems } = checkPipeline(file, opts);
  if (problems.length > 0 || !spec) throw new PipelineValidationError(file.path, problems);
  return { spec, baseDir };
}

/** Like validatePipeline, but returns the problems instead of throwing. */
export function checkPipeline(
  file: PipelineFile,
  opts: ValidateOptions = {},
): { spec?: PipelineSpec; baseDir: string; problems: PipelineProblem[] } {
  const baseDir = dirname(resolve(file.path));
  const out = new Problems(file);
  const raw = file.value;
  const parsed = pipelineSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) for (const issue of parsed.error.issues) reportIssue(out, raw, issue, []);
  // zod skips the value of a record entry whose key is invalid; check it too, so a bad judge
  // name does not hide the mistakes inside that judge. zod's record skips a `__proto__` key
  // altogether (no key issue, no value): without this, that judge would vanish without a word.
  const rawJudges = isRecord(raw) ? raw.judges : undefined;
  if (isRecord(rawJudges))
    for (const [name, j] of Object.entries(rawJudges)) {
      if (JUDGE_NAME_PATTERN.test(name)) continue;
      if (name === '__proto__')
        out.add(
          ['judges', name],
          `invalid judge name '${name}' (expected ${JUDGE_NAME_RULE})`,
          'key',
        );
      const r = judgeSchema.safeParse(j, { reportInput: true });
      if (!r.success)
        for (const issue of r.error.issues) reportIssue(out, raw, issue, ['judges', name]);
    }

  const parts = parsed.success ? partsOfSpec(parsed.data, raw) : partsOfRaw(raw);
  checkCrossFields(out, raw, parts);
  checkSecrets(raw, (path, message) => out.add(path, message));
  if (opts.checkFiles || opts.checkTemplate)
    checkFiles(out, raw, baseDir, opts.checkFiles ?? false, opts.checkTemplate, opts.allowPaths);

  const problems = out.sorted();
  return {
    spec: parsed.success && problems.length === 0 ? parsed.data : undefined,
    baseDir,
    problems,
  };
}
