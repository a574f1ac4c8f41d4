// Rubrics are Handlebars templates with a YAML front-matter block:
//
//   ---
//   answer_format: score-line   # how the judge must answer (see answer-formats.ts)
//   scale: [0, 5]               # score formats only
//   mode: pointwise             # pointwise | pairwise | critique | revision | self-instruct
//   label: Revision             # free-text only: a "<label>:" prefix the model may echo
//   description: ...            # optional, for humans
//   ---
//   template text ...
//
// Templates are compiled strictly: a missing variable is an error, not an empty string, because a
// judge prompt with a silently blank response would still produce (garbage) scores. Output is not
// HTML-escaped (these are prompts, not web pages). Only the block helpers if / unless / each / with
// / numbered exist, there are no partials, and no path may name an Object.prototype member, so a
// rubric cannot reach outside the variables it is given.

import Handlebars from 'handlebars';
import {
  LineCounter,
  parseDocument,
  isMap,
  isScalar,
  type Node as YamlNode,
  type YAMLMap,
} from 'yaml';
import { fail, PipelineError } from '../core/errors.js';
import { excerpt } from '../core/excerpt.js';
import {
  ANSWER_FORMAT_NAMES,
  answerFormat,
  isAnswerFormatName,
  isScoreFormatName,
  type AnswerFormat,
  type AnswerFormatName,
  type Scale,
} from './answer-formats.js';
import { readTextFile, sha256 } from './read-text.js';

export const RUBRIC_MODES = [
  'pointwise',
  'pairwise',
  'critique',
  'revision',
  'self-instruct',
] as const;
export type RubricMode = (typeof RUBRIC_MODES)[number];

/** Which answer formats make sense for each mode; anything else is a configuration mistake. */
const FORMATS_FOR_MODE: Record<RubricMode, readonly AnswerFormatName[]> = {
  pointwise: ['score-line', 'json-score'],
  pairwise: ['ab-choice'],
  critique: ['free-text'],
  revision: ['free-text'],
  'self-instruct': ['instruction-line'],
};

/**
 * The variables a stage provides to a rubric of each mode: the contract between the shipped
 * rubrics and the stages. `constitution` is the list of principles (Constitution.principles),
 * `principle` one Principle, `examples` a list of seed instruction strings.
 */
export const STAGE_VARIABLES: Record<RubricMode, readonly string[]> = {
  pointwise: ['prompt', 'response', 'constitution'],
  pairwise: ['prompt', 'response_a', 'response_b', 'principle', 'constitution'],
  critique: ['prompt', 'response', 'principle'],
  revision: ['prompt', 'response', 'principle', 'critique'],
  'self-instruct': ['examples'],
};

const FRONT_MATTER_KEYS = ['answer_format', 'scale', 'mode', 'label', 'description'] as const;
const MAX_RUBRIC_BYTES = 256 * 1024;

export interface VariableUse {
  name: string;
  /** 1-based position in the rubric file of the first use. */
  line: number;
  col: number;
}

export interface Rubric {
  path: string;
  /** The whole file, front matter included. */
  source: string;
  /** sha256 of the file text: recorded with every rendered judge prompt. */
  hash: string;
  /** The template after the front matter. */
  body: string;
  format: AnswerFormat;
  scale?: Scale;
  mode: RubricMode;
  description?: string;
  /** Top-level variables the template uses, in order of first use. */
  variables: string[];
  /** The subset of `variables` used only under `{{#if name}}` (or `{{#unless name}}...{{else}}`). */
  optionalVariables: string[];
  /** `variables` minus `optionalVariables`: rendering without one of these is an error. */
  requiredVariables: string[];
  /** First use of each variable, for messages that point into the file. */
  uses: VariableUse[];
  /** Render with the given variables; trailing whitespace of the result is dropped. */
  render(vars: Record<string, unknown>): string;
}

// ---- the Handlebars instance ------------------------------------------------------------------

const BLOCK_HELPERS = new Set(['if', 'unless', 'each', 'with', 'numbered']);
/** Helpers whose block body runs with a new context (`this` becomes the item). */
const SCOPING_HELPERS = new Set(['each', 'with', 'numbered']);

type HelperOptions = Handlebars.HelperOptions & { data?: Record<string, unknown> };

const hb = Handlebars.create();
// `lookup` reads a property named at run time, which the static path check below cannot see;
// `log` writes to the console from inside a prompt. Neither is needed by a rubric.
hb.unregisterHelper('lookup');
hb.unregisterHelper('log');
/** Like `each`, over a list only, with a 1-based `@number` for numbered lists of principles. */
hb.registerHelper('numbered', function (this: unknown, list: unknown, options: HelperOptions) {
  if (!Array.isArray(list)) {
    throw new Error(`numbered needs a list, got ${list === null ? 'null' : typeof list}`);
  }
  if (list.length === 0) return options.inverse(this);
  let out = '';
  list.forEach((item, i) => {
    const data = hb.createFrame(options.data ?? {});
    Object.assign(data, {
      index: i,
      number: i + 1,
      first: i === 0,
      last: i === list.length - 1,
    });
    out += options.fn(item, { data });
  });
  return out;
});

const COMPILE_OPTIONS = {
  strict: true,
  noEscape: true,
  knownHelpersOnly: true,
  knownHelpers: { numbered: true },
} as const;

const RUNTIME_OPTIONS: Handlebars.RuntimeOptions = {
  allowProtoPropertiesByDefault: false,
  allowProtoMethodsByDefault: false,
  allowCallsToHelperMissing: false,
};

// ---- loading ----------------------------------------------------------------------------------

export function loadRubric(path: string): Rubric {
  const source = readTextFile(path, {
    code: 'E_RUBRIC_NOT_FOUND',
    what: 'rubric file',
    hint: 'pass a Handlebars rubric, e.g. rubrics/additive-5pt.hbs',
    maxBytes: MAX_RUBRIC_BYTES,
  });
  return parseRubric(source, path);
}

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
      const data = Object.create(DATA_PROTO) as Record<string, unknown>;
      for (const [k, v] of Object.entries(vars)) data[k] = templateData(v, k, rubric, new Set());
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

// The prototype of every object handed to Handlebars: empty, except for the toString that
// Handlebars' own strict-mode message ("x" not defined in <obj>) needs to build its text.
const DATA_PROTO: object = Object.freeze(
  Object.create(null, { toString: { value: () => '[object]', enumerable: false } }),
);

/**
 * Copy a variable into plain data: own enumerable properties only, on objects whose prototype is
 * DATA_PROTO. Strict mode then reports an inherited property as undefined instead of reading it,
 * and no function reaches Handlebars (which would call it as a lambda).
 */
function templateData(value: unknown, where: string, rubric: Rubric, seen: Set<object>): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'function' || typeof value === 'symbol') {
      return fail(
        'E_RUBRIC_RENDER',
        `${rubric.path}: variable "${where}" is a ${typeof value}; rubric variables must be data`,
        'pass strings, numbers, booleans, lists and plain objects',
      );
    }
    return value;
  }
  if (seen.has(value)) {
    return fail(
      'E_RUBRIC_RENDER',
      `${rubric.path}: variable "${where}" refers to itself`,
      'pass plain, acyclic data',
    );
  }
  seen.add(value);
  let out: unknown;
  if (Array.isArray(value)) {
    out = value.map((v, i) => templateData(v, `${where}[${i}]`, rubric, seen));
  } else {
    const obj = Object.create(DATA_PROTO) as Record<string, unknown>;
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) obj[k] = templateData(v, `${where}.${k}`, rubric, seen);
    }
    out = obj;
  }
  seen.delete(value);
  return out;
}

function presentKeys(vars: Record<string, unknown>): string[] {
  return Object.keys(vars).filter((k) => vars[k] !== undefined);
}

/** Required variables of the rubric that `provided` lacks, each with its first use in the file. */
export function missingRubricVariables(rubric: Rubric, provided: readonly string[]): VariableUse[] {
  const have = new Set(provided);
  return rubric.uses.filter((u) => rubric.requiredVariables.includes(u.name) && !have.has(u.name));
}

/**
 * For the pipeline validator: throw E_RUBRIC_VARIABLE when the stage will not provide a variable
 * the rubric needs, before any generation is spent.
 */
export function checkRubricVariables(rubric: Rubric, provided: readonly string[]): void {
  const missing = missingRubricVariables(rubric, provided);
  if (missing.length > 0) throw missingError(rubric, missing, provided);
}

/**
 * For the pipeline validator: the rubric at a stage field must have the mode that field needs
 * (a pairwise rubric cannot score one response), and use only variables that stage provides.
 */
export function checkRubricUse(rubric: Rubric, mode: RubricMode): void {
  if (rubric.mode !== mode) {
    fail(
      'E_RUBRIC_MODE',
      `${rubric.path}:1:1: this rubric is declared "mode: ${rubric.mode}" but is used where a ${mode} rubric is needed`,
      `use a ${mode} rubric here (e.g. ${SHIPPED_EXAMPLE[mode]}), or fix the rubric's mode`,
    );
  }
  checkRubricVariables(rubric, STAGE_VARIABLES[mode]);
}

const SHIPPED_EXAMPLE: Record<RubricMode, string> = {
  pointwise: 'rubrics/additive-5pt.hbs',
  pairwise: 'rubrics/pairwise-principle.hbs',
  critique: 'rubrics/critique.hbs',
  revision: 'rubrics/revision.hbs',
  'self-instruct': 'rubrics/self-instruct.hbs',
};

function missingError(
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

// ---- front matter -----------------------------------------------------------------------------

interface FrontMatter {
  format: AnswerFormat;
  scale?: Scale;
  mode: RubricMode;
  description?: string;
}

const FRONT_MATTER_HINT =
  'start the rubric with a front-matter block, e.g.\n---\nanswer_format: score-line\nscale: [0, 5]\nmode: pointwise\n---';

function splitFrontMatter(
  text: string,
  path: string,
): { yaml: string; yamlFirstLine: number; body: string; bodyFirstLine: number } {
  const lines = text.split('\n');
  if (lines[0]?.trimEnd() !== '---') {
    return fail(
      'E_RUBRIC_FRONT_MATTER',
      `${path}:1:1: a rubric must begin with a "---" front-matter line declaring answer_format and mode`,
      FRONT_MATTER_HINT,
    );
  }
  const close = lines.findIndex((l, i) => i > 0 && l.trimEnd() === '---');
  if (close === -1) {
    return fail(
      'E_RUBRIC_FRONT_MATTER',
      `${path}:1:1: the front matter opened here is never closed with a "---" line`,
      FRONT_MATTER_HINT,
    );
  }
  return {
    yaml: lines.slice(1, close).join('\n'),
    yamlFirstLine: 2,
    body: lines.slice(close + 1).join('\n'),
    bodyFirstLine: close + 2,
  };
}

function readFrontMatter(yaml: string, firstLine: number, path: string): FrontMatter {
  const lc = new LineCounter();
  const doc = parseDocument(yaml, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined): string => {
    const pos = lc.linePos(offset ?? 0);
    return `${path}:${pos.line + firstLine - 1}:${pos.col}`;
  };
  const nodeAt = (n: unknown): string => at((n as YamlNode | null)?.range?.[0]);
  function bad(where: string, what: string, hint: string = FRONT_MATTER_HINT): never {
    return fail('E_RUBRIC_FRONT_MATTER', `${where}: ${what}`, hint);
  }

  const err = doc.errors[0];
  if (err) {
    bad(
      at(err.pos[0]),
      `front matter is not valid YAML: ${excerpt(err.message.split('\n')[0], 160)}`,
      'fix the YAML at that position; the front matter holds "key: value" lines such as "scale: [0, 5]"',
    );
  }
  if (!isMap(doc.contents)) bad(`${path}:${firstLine}:1`, 'front matter must be a YAML mapping');
  const map = doc.contents as YAMLMap;
  const values = doc.toJS({ maxAliasCount: 10 }) as Record<string, unknown>;

  const fields = new Map<string, { value: unknown; where: string }>();
  for (const item of map.items) {
    const key = isScalar(item.key) ? String(item.key.value) : String(item.key);
    if (!(FRONT_MATTER_KEYS as readonly string[]).includes(key)) {
      bad(
        nodeAt(item.key),
        `unknown front-matter key "${excerpt(key)}"`,
        `allowed keys: ${FRONT_MATTER_KEYS.join(', ')}`,
      );
    }
    fields.set(key, { value: values[key], where: nodeAt(item.value ?? item.key) });
  }
  const whole = `${path}:${firstLine}:1`;

  const fmt = fields.get('answer_format');
  if (!fmt) bad(whole, 'front matter has no answer_format');
  const formatName = fmt.value;
  if (typeof formatName !== 'string' || !isAnswerFormatName(formatName)) {
    fail(
      'E_RUBRIC_FORMAT',
      `${fmt.where}: unknown answer_format ${excerpt(String(JSON.stringify(formatName)))}`,
      `use one of: ${ANSWER_FORMAT_NAMES.join(', ')}`,
    );
  }

  const modeField = fields.get('mode');
  if (!modeField)
    bad(whole, 'front matter has no mode', `add "mode: <one of ${RUBRIC_MODES.join(' | ')}>"`);
  const mode = modeField.value;
  if (typeof mode !== 'string' || !(RUBRIC_MODES as readonly string[]).includes(mode)) {
    bad(
      modeField.where,
      `unknown mode ${excerpt(String(JSON.stringify(mode)))}`,
      `use one of: ${RUBRIC_MODES.join(', ')}`,
    );
  }
  const rubricMode = mode as RubricMode;
  const allowed = FORMATS_FOR_MODE[rubricMode];
  if (!allowed.includes(formatName as AnswerFormatName)) {
    bad(
      fmt.where,
      `answer_format "${formatName}" does not fit mode "${rubricMode}"`,
      `a ${rubricMode} rubric uses ${allowed.join(' or ')}`,
    );
  }

  let scale: Scale | undefined;
  const scaleField = fields.get('scale');
  if (isScoreFormatName(formatName as string)) {
    if (!scaleField)
      bad(whole, `answer_format "${formatName}" needs a scale`, 'add e.g. "scale: [0, 5]"');
    const v = scaleField.value as number[];
    if (
      !Array.isArray(v) ||
      v.length !== 2 ||
      !v.every((x) => typeof x === 'number' && Number.isFinite(x)) ||
      !(v[0] < v[1])
    ) {
      bad(
        scaleField.where,
        `scale must be [min, max] with numbers min < max, got ${excerpt(String(JSON.stringify(v)))}`,
        'e.g. "scale: [0, 5]"',
      );
    }
    scale = [v[0], v[1]];
  } else if (scaleField) {
    bad(
      scaleField.where,
      `scale has no meaning for answer_format "${formatName}"`,
      'delete the scale line',
    );
  }

  const labelField = fields.get('label');
  let label: string | undefined;
  if (labelField) {
    if (formatName !== 'free-text')
      bad(
        labelField.where,
        'label is only used with answer_format free-text',
        'delete the label line',
      );
    if (typeof labelField.value !== 'string' || labelField.value.trim() === '')
      bad(labelField.where, 'label must be a non-empty string', 'e.g. "label: Revision"');
    label = (labelField.value as string).trim();
  }

  const descField = fields.get('description');
  if (descField && typeof descField.value !== 'string')
    bad(descField.where, 'description must be a string');

  return {
    format: answerFormat(formatName as string, { scale, label }),
    scale,
    mode: rubricMode,
    description: descField?.value as string | undefined,
  };
}

// ---- the template walk ------------------------------------------------------------------------

interface Scan {
  uses: VariableUse[];
  /** Variables with at least one use outside an `if name` guard. */
  required: Set<string>;
  /** "line:col" (Handlebars coordinates) -> the path as written, to name it in render errors. */
  pathAt: Map<string, string>;
}

// Names every plain object inherits; a path through one of them reads the prototype chain.
const FORBIDDEN_SEGMENTS = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/**
 * Collect the top-level variables by walking the AST with a stack of contexts: a path resolves at
 * the root when it climbs (`../`) out of every scoping block, or is written `@root.name`. Also
 * reject what the rubric format does not allow, with the file position.
 */
function scanTemplate(ast: hbs.AST.Program, path: string, lineOffset: number): Scan {
  const uses: VariableUse[] = [];
  const required = new Set<string>();
  const pathAt = new Map<string, string>();
  const here = (loc: hbs.AST.SourceLocation | undefined): string =>
    loc ? `${path}:${loc.start.line + lineOffset}:${loc.start.column + 1}` : path;
  const reject = (loc: hbs.AST.SourceLocation | undefined, what: string, hint: string): never =>
    fail('E_RUBRIC_TEMPLATE', `${here(loc)}: ${what}`, hint);

  /** depth = how many scoping blocks enclose the current node; guards = names proven present. */
  const usePath = (
    p: hbs.AST.PathExpression,
    depth: number,
    guards: ReadonlySet<string>,
    kind: 'value' | 'test',
  ): void => {
    pathAt.set(`${p.loc.start.line}:${p.loc.start.column}`, p.original);
    for (const part of p.parts) {
      if (FORBIDDEN_SEGMENTS.has(part)) {
        reject(
          p.loc,
          `${p.original === part ? `"${part}"` : `"${p.original}" reaches "${part}", which`} is a built-in property of every object`,
          'rubrics may only read the variables they are given; rename the variable',
        );
      }
    }
    let name: string | undefined;
    if (p.data) {
      if (p.parts[0] === 'root' && p.parts.length > 1) name = p.parts[1];
    } else if (p.depth >= depth && p.parts.length > 0) {
      if (p.depth > depth)
        reject(p.loc, `"${p.original}" climbs above the top level`, 'remove a "../"');
      name = p.parts[0];
    }
    if (name === undefined) return;
    if (!uses.some((u) => u.name === name)) {
      uses.push({ name, line: p.loc.start.line + lineOffset, col: p.loc.start.column + 1 });
    }
    // `{{#if x}}` on an absent x is simply false; `{{#if x.y}}` on an absent x throws.
    const isPlainTest = kind === 'test' && p.parts.length === 1;
    if (!isPlainTest && !guards.has(name)) required.add(name);
  };

  const useExpr = (
    e: hbs.AST.Expression,
    depth: number,
    guards: ReadonlySet<string>,
    kind: 'value' | 'test',
  ): void => {
    if (e.type === 'PathExpression') usePath(e as hbs.AST.PathExpression, depth, guards, kind);
    else if (e.type === 'SubExpression')
      reject(e.loc, 'sub-expressions are not supported in rubrics', 'use a plain {{variable}}');
  };

  /** The root-level name a plain `{{#if name}}` tests, if it is one. */
  const guardName = (e: hbs.AST.Expression | undefined, depth: number): string | undefined => {
    if (e?.type !== 'PathExpression') return undefined;
    const p = e as hbs.AST.PathExpression;
    if (p.data || p.parts.length !== 1 || p.depth !== depth) return undefined;
    return p.parts[0];
  };

  const walk = (
    prog: hbs.AST.Program | undefined,
    depth: number,
    guards: ReadonlySet<string>,
  ): void => {
    if (!prog) return;
    for (const node of prog.body) {
      switch (node.type) {
        case 'ContentStatement':
        case 'CommentStatement':
          break;
        case 'MustacheStatement': {
          const m = node as hbs.AST.MustacheStatement;
          if (m.params.length > 0 || (m.hash && m.hash.pairs.length > 0)) {
            const name =
              m.path.type === 'PathExpression' ? (m.path as hbs.AST.PathExpression).original : '?';
            reject(
              m.loc,
              `"{{${name} ...}}" calls a helper; rubrics have no inline helpers`,
              'write {{variable}}; for lists use {{#each list}} or {{#numbered list}}',
            );
          }
          useExpr(m.path as hbs.AST.Expression, depth, guards, 'value');
          break;
        }
        case 'BlockStatement': {
          const b = node as hbs.AST.BlockStatement;
          const helper =
            b.path.type === 'PathExpression' ? (b.path as hbs.AST.PathExpression).original : '';
          if (!BLOCK_HELPERS.has(helper)) {
            reject(
              b.loc,
              `"{{#${helper}}}" is not a block helper rubrics can use`,
              'use {{#if x}}, {{#unless x}}, {{#each list}}, {{#numbered list}} or {{#with x}}',
            );
          }
          if (b.params.length !== 1 || (b.hash && b.hash.pairs.length > 0)) {
            reject(b.loc, `{{#${helper}}} takes exactly one variable`, `write {{#${helper} name}}`);
          }
          if (b.program?.blockParams?.length) {
            reject(
              b.loc,
              `block parameters (as |x|) are not supported`,
              'refer to the item as {{this}} or {{field}}',
            );
          }
          const param = b.params[0];
          const isTest = helper === 'if' || helper === 'unless';
          useExpr(param, depth, guards, isTest ? 'test' : 'value');
          const g = guardName(param, depth);
          const withGuard = (s: ReadonlySet<string>): ReadonlySet<string> =>
            g === undefined ? s : new Set([...s, g]);
          if (helper === 'if') {
            walk(b.program, depth, withGuard(guards));
            walk(b.inverse, depth, guards);
          } else if (helper === 'unless') {
            walk(b.program, depth, guards);
            walk(b.inverse, depth, withGuard(guards));
          } else {
            walk(b.program, SCOPING_HELPERS.has(helper) ? depth + 1 : depth, guards);
            walk(b.inverse, depth, guards);
          }
          break;
        }
        case 'PartialStatement':
        case 'PartialBlockStatement':
          reject(
            node.loc,
            'partials ({{> name}}) are not supported in rubrics',
            'write the text into the rubric itself',
          );
          break;
        case 'DecoratorBlock':
        case 'Decorator':
          reject(
            node.loc,
            'decorators ({{* name}}) are not supported in rubrics',
            'remove the decorator',
          );
          break;
        default:
          reject(node.loc, `unsupported template construct ${node.type}`, 'simplify the template');
      }
    }
  };
  walk(ast, 0, new Set());
  return { uses, required, pathAt };
}

// ---- errors from Handlebars -------------------------------------------------------------------

interface HandlebarsException {
  message: string;
  lineNumber?: number;
  column?: number;
}

function templateError(e: unknown, path: string, lineOffset: number, body: string): PipelineError {
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
    // At end of file the parser can only say "got EOF"; the mistake is where the unclosed
    // tag or block was opened, so point there instead.
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

/** The last "{{" never closed, else the innermost {{#block}} never closed (0-based column). */
function findUnclosed(body: string): { line: number; col: number; what: string } | undefined {
  const position = (offset: number) => {
    const before = body.slice(0, offset).split('\n');
    return { line: before.length, col: before[before.length - 1].length };
  };
  const comments = /\{\{!--[\s\S]*?--\}\}|\{\{!--/g;
  for (const m of body.matchAll(comments)) {
    if (m[0] === '{{!--')
      return { ...position(m.index), what: '"{{!--" comment is never closed with "--}}"' };
  }
  // Blank out comments (which may contain braces) without moving any character.
  const text = body.replace(/\{\{!--[\s\S]*?--\}\}|\{\{![\s\S]*?\}\}/g, (c) =>
    c.replace(/[^\n]/g, ' '),
  );
  const lastOpen = text.lastIndexOf('{{');
  if (lastOpen !== -1 && text.indexOf('}}', lastOpen) === -1) {
    const tag = text.slice(lastOpen).split('\n')[0].trim();
    return { ...position(lastOpen), what: `"${tag}" is never closed with "}}"` };
  }
  const stack: { name: string; offset: number }[] = [];
  for (const m of text.matchAll(/\{\{~?\s*([#^/])\s*([^\s}~]+)/g)) {
    if (m[1] === '/') {
      if (stack.at(-1)?.name === m[2]) stack.pop();
    } else stack.push({ name: m[2], offset: m.index });
  }
  const top = stack.at(-1);
  if (!top) return undefined;
  return {
    ...position(top.offset),
    what: `{{#${top.name}}} is never closed with {{/${top.name}}}`,
  };
}

function renderError(
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
