// The checks a run makes before any work, in one function that `pipeline validate` and
// `pipeline run` both call (run calls it before it creates anything on disk): the schema and
// cross-field checks, the referenced files (existence, containment), every rubric template
// (compile, front matter, mode, variables, partials, prototype access), the contents of every
// prompt file, phrase list and constitution, the API keys of server judges, and the token
// lengths of the prompts against the model's positions. So a pipeline that validates does not
// fail at start, and one that fails, fails with the same message under both commands.

import { readFileSync } from 'node:fs';
import { isPipelineError } from '../../core/errors.js';
import { checkModelWeightFiles } from '../../engine/index.js';
import { createOpenAIClient } from '../../judges/openai-judge.js';
import { checkRubricUse, loadRubric, type RubricMode } from '../../prompts/rubric.js';
import { readPipelineFile } from '../../spec/read-file.js';
import type { PipelineSpec } from '../../spec/schema.js';
import { fileRefs } from '../../spec/validate/file-refs.js';
import {
  checkPipeline,
  PipelineValidationError,
  resolvePipelinePath,
  type PipelineProblem,
  type ValidatedPipeline,
} from '../../spec/validate/index.js';
import { Problems } from '../../spec/validate/problems.js';
import { formatPath } from '../../spec/validate/words.js';
import { TRL_DEFAULTS } from '../../spec/schema.js';
import { checkTrlPython } from '../../stages/train-trl/trl-python.js';
import { contentProblem } from './contents.js';
import { lengthProblems } from './lengths.js';

export interface Preflight extends ValidatedPipeline {
  /** The pipeline file's text, stored with the run. */
  yaml: string;
}

/** Every check `run` makes before any work; throws PipelineValidationError listing them all. */
export function preflight(file: string, allowPaths?: readonly string[]): Preflight {
  const pf = readPipelineFile(file);
  const checked = checkPipeline(pf, { checkFiles: true, allowPaths, checkTemplate });
  const out = new Problems(pf);
  // Only files the path checks passed are read: a file outside the allowed folders stays unread.
  const flagged = new Set(checked.problems.map((p) => key(p.path)));
  for (const ref of fileRefs(pf.value)) {
    if (flagged.has(key(ref.path))) continue;
    const msg = contentProblem(ref, resolvePipelinePath(checked.baseDir, ref.value));
    if (msg) out.add(ref.path, `${formatPath(ref.path)}: ${msg}`);
  }
  if (checked.spec) {
    judgeKeyProblems(checked.spec, out);
    // Lengths need the prompts and the model, so only a pipeline that is otherwise sound.
    if (checked.problems.length === 0 && out.sorted().length === 0)
      try {
        lengthProblems(checked.spec, checked.baseDir, out);
      } catch (e) {
        // the model's config or tokenizer does not load: the run would stop on it too
        if (!isPipelineError(e)) throw e;
        out.add(['model', 'path'], `model.path: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
      }
    if (checked.problems.length === 0 && out.sorted().length === 0)
      weightProblems(checked.spec, checked.baseDir, out);
    trlPythonProblems(checked.spec, checked.baseDir, out);
  }
  const problems = merge(checked.problems, out.sorted());
  if (problems.length > 0 || !checked.spec) throw new PipelineValidationError(pf.path, problems);
  return { spec: checked.spec, baseDir: checked.baseDir, yaml: readFileSync(file, 'utf8') };
}

/** The prompts layer's rubric checks, which the spec layer cannot import. */
function checkTemplate(
  abs: string,
  _kind: string,
  use: { rubricMode: string },
): string | undefined {
  try {
    checkRubricUse(loadRubric(abs), use.rubricMode as RubricMode);
    return undefined;
  } catch (e) {
    if (isPipelineError(e)) return e.message;
    throw e;
  }
}

/** Every local model's weight headers: a damaged checkpoint stops here, before a run exists. */
function weightProblems(spec: PipelineSpec, baseDir: string, out: Problems): void {
  const models: [(string | number)[], string][] = [[['model', 'path'], spec.model.path]];
  for (const [name, j] of Object.entries(spec.judges))
    if (j.kind === 'model') models.push([['judges', name, 'path'], j.path]);
  for (const [at, ref] of models)
    try {
      checkModelWeightFiles(ref.startsWith('builtin:') ? ref : resolvePipelinePath(baseDir, ref));
    } catch (e) {
      if (!isPipelineError(e)) throw e;
      out.add(at, `${formatPath(at)}: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
    }
}

/**
 * A train stage with backend: trl whose Python cannot run or lacks TRL would fail the first round
 * after generating and judging: say so before the run exists (one probe per distinct python).
 */
function trlPythonProblems(spec: PipelineSpec, baseDir: string, out: Problems): void {
  const seen = new Map<string, string | undefined>();
  spec.stages.forEach((s, i) => {
    if (s.kind !== 'train' || s.backend !== 'trl') return;
    const python = (s.trl ?? TRL_DEFAULTS).python;
    if (!seen.has(python))
      try {
        checkTrlPython(python, baseDir);
        seen.set(python, undefined);
      } catch (e) {
        if (!isPipelineError(e)) throw e;
        seen.set(python, `${e.message}${e.hint ? ` (${e.hint})` : ''}`);
      }
    const problem = seen.get(python);
    const at = s.trl ? ['stages', i, 'trl', 'python'] : ['stages', i, 'backend'];
    if (problem) out.add(at, `${formatPath(at)}: ${problem}`);
  });
}

/** A server judge whose api_key_env is unset fails the run at start; say so now. */
function judgeKeyProblems(spec: PipelineSpec, out: Problems): void {
  for (const [name, j] of Object.entries(spec.judges)) {
    if (j.kind !== 'openai') continue;
    try {
      createOpenAIClient(name, j);
    } catch (e) {
      if (!isPipelineError(e)) throw e;
      const at = ['judges', name, e.code === 'E_JUDGE_API_KEY' ? 'api_key_env' : 'base_url'];
      out.add(at, `${formatPath(at)}: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
    }
  }
}

const key = (path: readonly PropertyKey[]): string => JSON.stringify(path);

function merge(a: PipelineProblem[], b: PipelineProblem[]): PipelineProblem[] {
  return [...a, ...b].sort((x, y) => x.line - y.line || x.col - y.col);
}
