// The three ways a rubric fails after its front matter is read, as PipelineErrors that point into
// the rubric file: the template does not compile, a required variable is not provided, or the
// render itself fails. Handlebars counts lines in the template; `lineOffset` (the lines of front
// matter above it) turns them into file lines.

import { PipelineError } from '../../core/errors.js';
import { findUnclosed } from './find-unclosed.js';
import { hb } from './sandbox.js';
import type { Rubric, VariableUse } from './types.js';

interface HandlebarsException {
  message: string;
  lineNumber?: number;
  column?: number;
}

/** E_RUBRIC_VARIABLE: required variables missing, at the first use of the first of them. */
export function missingError(
  rubric: Rubric,
  missing: VariableUse[],
  provided: readonly string[],
): PipelineError {
  const first = missing[0];
  const names = missing.map((m) => `"${m.name}"`).join(', ');
  return new PipelineError({
    code: 'E_RUBRIC_VARIABLE',
    message:
      `${rubric.path}:${first.line}:${first.col}: the rubric uses ${names} but ` +
      `${missing.length === 1 ? 'it is' : 'they are'} not provided ` +
      `(provided: ${provided.length ? provided.join(', ') : 'nothing'})`,
    hint:
      `this ${rubric.mode} rubric needs: ${rubric.requiredVariables.join(', ')}` +
      (rubric.optionalVariables.length
        ? ` (optional: ${rubric.optionalVariables.join(', ')})`
        : '') +
      `; provide them, or wrap optional parts in {{#if name}}...{{/if}}`,
  });
}

/** E_RUBRIC_TEMPLATE from a Handlebars parse or compile error (a PipelineError passes through). */
export function templateError(
  e: unknown,
  path: string,
  lineOffset: number,
  body: string,
): PipelineError {
  if (e instanceof PipelineError) return e;
  const err = e as HandlebarsException;
  const first = String(err.message ?? e).split('\n')[0];
  let line = err.lineNumber;
  let col = err.column;
  let what = first.replace(/ - \d+:\d+$/, '');
  // Parse errors carry no position; the shared lexer still holds the token it failed on.
  const loc = (
    hb as unknown as {
      Parser?: { lexer?: { yylloc?: { first_line: number; first_column: number } } };
    }
  ).Parser?.lexer?.yylloc;
  if (/^(Parse|Lexical) error/.test(first)) {
    const detail = String(err.message)
      .split('\n')
      .find((l) => l.startsWith('Expecting'));
    what = `syntax error${detail ? `: ${detail}` : ''}`;
    if (loc) {
      line = loc.first_line;
      col = loc.first_column;
    } else {
      line = Number(/line (\d+)/.exec(first)?.[1] ?? 1);
    }
    // At end of file the parser can only say "got EOF"; point where the unclosed thing opened.
    const atEnd = /got 'EOF'/.test(String(err.message)) || first.startsWith('Lexical');
    const open = atEnd ? findUnclosed(body) : undefined;
    if (open) ({ line, col, what } = open);
  }
  const pos = line !== undefined ? `:${line + lineOffset}:${(col ?? 0) + 1}` : '';
  return new PipelineError(
    {
      code: 'E_RUBRIC_TEMPLATE',
      message: `${path}${pos}: the template does not compile: ${what}`,
      hint: 'check that every {{ has its }}, and every {{#block}} its {{/block}}',
    },
    { cause: e },
  );
}

/**
 * A render-time error: E_RUBRIC_VARIABLE for strict mode's "not defined" (naming the path as
 * written, from `pathAt`), E_RUBRIC_RENDER for anything else.
 */
export function renderError(
  e: unknown,
  rubric: Rubric,
  lineOffset: number,
  pathAt: Map<string, string>,
): PipelineError {
  const err = e as HandlebarsException;
  const msg = String(err.message ?? e);
  const pos =
    err.lineNumber !== undefined ? `:${err.lineNumber + lineOffset}:${(err.column ?? 0) + 1}` : '';
  const strict = /^"([^"]+)" not defined in/.exec(msg);
  if (strict) {
    const written =
      err.lineNumber !== undefined ? pathAt.get(`${err.lineNumber}:${err.column}`) : undefined;
    return new PipelineError(
      {
        code: 'E_RUBRIC_VARIABLE',
        message: `${rubric.path}${pos}: "${strict[1]}"${written && written !== strict[1] ? ` (in {{${written}}})` : ''} is not defined in the variables given to the rubric`,
        hint: `pass a value for it, or guard that part with {{#if ...}}; this rubric uses: ${rubric.variables.join(', ')}`,
      },
      { cause: e },
    );
  }
  return new PipelineError(
    {
      code: 'E_RUBRIC_RENDER',
      message: `${rubric.path}${pos}: rendering failed: ${msg.split('\n')[0]}`,
      hint: 'check the shape of the variables (lists for each/numbered, objects for a.b paths)',
    },
    { cause: e },
  );
}
