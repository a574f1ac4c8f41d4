import { LineCounter, parseDocument } from 'yaml';
import { fail, PipelineError } from '../core/errors.js';
import { readUtf8File } from '../core/read-file.js';
import { excerpt } from '../core/excerpt.js';

/** Pipeline files are small; anything larger is a mistake (or an attack), not a pipeline. */
export const MAX_PIPELINE_FILE_BYTES = 1024 * 1024;
/** Cap on alias expansion so a "billion laughs" YAML cannot blow up memory. */
export const MAX_ALIAS_COUNT = 100;

export interface PipelineFile {
  path: string;
  /** The parsed YAML value (plain JS objects). */
  value: unknown;
  /** Maps a character offset to 1-based line/column, for `file:line:col` messages. */
  lineCounter: LineCounter;
  document: ReturnType<typeof parseDocument>;
}

/** Read and parse a pipeline YAML file; every problem is a PipelineError pointing at file:line:col. */
export function readPipelineFile(path: string): PipelineFile {
  const text = readUtf8File(path, {
    notFound: () =>
      fail(
        'E_PIPELINE_NOT_FOUND',
        `pipeline file not found: ${path}`,
        'pass the path of a pipeline YAML file, e.g. pipelines/self-reward.yaml',
      ),
    maxBytes: MAX_PIPELINE_FILE_BYTES,
    tooLarge: (size) =>
      fail(
        'E_PIPELINE_TOO_LARGE',
        `${path}: file is ${size} bytes, more than the ${MAX_PIPELINE_FILE_BYTES}-byte limit for a pipeline file`,
        'keep prompts and data in separate files and reference them from the pipeline',
      ),
  });
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const first = document.errors[0];
  if (first) {
    const pos = lineCounter.linePos(first.pos[0]);
    throw new PipelineError({
      code: 'E_PIPELINE_YAML',
      message: `${path}:${pos.line}:${pos.col}: ${excerpt(first.message.split('\n')[0], 160)}`,
      hint: 'fix the YAML syntax at that position',
    });
  }
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    throw new PipelineError({
      code: 'E_PIPELINE_YAML',
      message: `${path}: ${(e as Error).message}`,
      hint: `YAML aliases may expand at most ${MAX_ALIAS_COUNT} times; write the values out instead`,
    });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PipelineError({
      code: 'E_PIPELINE_SHAPE',
      message: `${path}:1:1: a pipeline file must be a YAML mapping (name:, model:, stages:, ...)`,
      hint: 'see pipelines/self-reward.yaml for an example',
    });
  }
  return { path, value, lineCounter, document };
}
