import { readFileSync } from 'node:fs';
import { isPipelineError } from '../core/errors.js';
import { checkRubricUse, loadRubric, type RubricMode } from '../prompts/rubric.js';
import { readPipelineFile } from '../spec/read-file.js';
import { validatePipeline, type ValidatedPipeline } from '../spec/validate/index.js';

/**
 * validate + the template checks that need the prompts layer (compile, mode, variables), which
 * the spec layer cannot import; the file's text comes back too, to be stored with the run.
 */
export function validateWithTemplates(
  file: string,
  allowPaths?: readonly string[],
): ValidatedPipeline & { yaml: string } {
  const pf = readPipelineFile(file);
  const v = validatePipeline(pf, {
    checkFiles: true,
    allowPaths,
    checkTemplate: (abs, _kind, use) => {
      try {
        checkRubricUse(loadRubric(abs), use.rubricMode as RubricMode);
        return undefined;
      } catch (e) {
        if (isPipelineError(e)) return e.message;
        throw e;
      }
    },
  });
  return { ...v, yaml: readFileSync(file, 'utf8') };
}
