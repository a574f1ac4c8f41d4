// Loading a rubric: read the file, check the front matter, scan and compile the template at load
// time (so a broken rubric fails before any generation is spent), and close the compiled template
// into a render function that checks its variables first.

import { sha256, textFileLoader } from '../read-text.js';
import { missingRubricVariables } from './checks.js';
import { missingError, renderError, templateError } from './errors.js';
import { readFrontMatter, splitFrontMatter } from './front-matter.js';
import { COMPILE_OPTIONS, hb, RUNTIME_OPTIONS, templateVariables } from './sandbox.js';
import { scanTemplate } from './template-scan.js';
import type { Rubric } from './types.js';

const MAX_RUBRIC_BYTES = 256 * 1024;

export const loadRubric: (path: string) => Rubric = textFileLoader(
  {
    code: 'E_RUBRIC_NOT_FOUND',
    what: 'rubric file',
    hint: 'pass a Handlebars rubric, e.g. rubrics/additive-5pt.hbs',
    maxBytes: MAX_RUBRIC_BYTES,
  },
  parseRubric,
);

/** Same as loadRubric, from text already in memory (`path` is used in messages only). */
export function parseRubric(source: string, path: string): Rubric {
  const text = source.replace(/\r\n?/g, '\n');
  const fm = splitFrontMatter(text, path);
  const meta = readFrontMatter(fm.yaml, fm.yamlFirstLine, path);
  const body = fm.body;
  const lineOffset = fm.bodyFirstLine - 1;

  let ast: hbs.AST.Program;
  try {
    ast = hb.parse(body);
  } catch (e) {
    throw templateError(e, path, lineOffset, body);
  }
  const scan = scanTemplate(ast, path, lineOffset);
  try {
    // compile() is lazy; precompile runs the same compiler now, so its errors surface at load.
    hb.precompile(body, COMPILE_OPTIONS);
  } catch (e) {
    throw templateError(e, path, lineOffset, body);
  }
  const template = hb.compile(body, COMPILE_OPTIONS);

  const variables = scan.uses.map((u) => u.name);
  const optionalVariables = variables.filter((v) => !scan.required.has(v));
  const requiredVariables = variables.filter((v) => scan.required.has(v));

  const rubric: Rubric = {
    path,
    source,
    hash: sha256(source),
    body,
    format: meta.format,
    scale: meta.scale,
    mode: meta.mode,
    description: meta.description,
    variables,
    optionalVariables,
    requiredVariables,
    uses: scan.uses,
    render(vars) {
      const missing = missingRubricVariables(rubric, presentKeys(vars));
      if (missing.length > 0) throw missingError(rubric, missing, presentKeys(vars));
      const data = templateVariables(vars, rubric.path);
      let out: string;
      try {
        out = template(data, RUNTIME_OPTIONS);
      } catch (e) {
        throw renderError(e, rubric, lineOffset, scan.pathAt);
      }
      return out.trimEnd();
    },
  };
  return rubric;
}

function presentKeys(vars: Record<string, unknown>): string[] {
  return Object.keys(vars).filter((k) => vars[k] !== undefined);
}
