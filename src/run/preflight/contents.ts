// The contents of the files a pipeline names, read and parsed the way the run reads them: a prompt
// file with a bad row or no rows, an empty phrase list or a broken constitution is found by
// `pipeline validate` and before `pipeline run` creates anything, not rounds into a run.

import { isPipelineError } from '../../core/errors.js';
import { loadConstitution } from '../../prompts/constitution.js';
import { loadPhraseList } from '../../prompts/phrase-list.js';
import { loadPromptSet } from '../../prompts/prompt-set.js';
import type { FileRef } from '../../spec/validate/file-refs.js';

type Loader = (abs: string) => unknown;

/** Which loader reads the file at a pipeline field; undefined for rubrics and model folders. */
export function contentLoader(ref: FileRef): Loader | undefined {
  if (ref.kind !== 'file' || ref.template) return undefined;
  const path = ref.path;
  const field = path[path.length - 1];
  if (path[0] === 'prompts' && field === 'file') return loadPromptSet;
  if (path[0] === 'judges' && path[2] === 'rules' && field === 'file') return loadPhraseList;
  if (path[0] !== 'stages') return undefined;
  if (field === 'probes') return loadPromptSet;
  if (field === 'refusal_phrases' || field === 'boilerplate_phrases') return loadPhraseList;
  if (field === 'constitution') return loadConstitution;
  return undefined;
}

/**
 * Reads the file with the run's own loader; returns the loader's message and hint (which already
 * name the file and line), or undefined when it loads.
 */
export function contentProblem(ref: FileRef, abs: string): string | undefined {
  const load = contentLoader(ref);
  if (!load) return undefined;
  try {
    load(abs);
    return undefined;
  } catch (e) {
    if (!isPipelineError(e)) throw e;
    return e.hint ? `${e.message} (${e.hint})` : e.message;
  }
}
