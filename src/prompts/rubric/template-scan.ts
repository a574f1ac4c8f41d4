// The static check of a rubric's template: which top-level variables it reads (and which of them
// only under an `{{#if name}}` guard), and a refusal, with the file position, of everything the
// rubric format does not allow: inline helpers, unknown block helpers, partials, decorators,
// sub-expressions, block parameters, and paths through Object.prototype members.

import { fail } from '../../core/errors.js';
import type { VariableUse } from './types.js';

export interface Scan {
  uses: VariableUse[];
  /** Variables with at least one use outside an `if name` guard. */
  required: Set<string>;
  /** "line:col" (Handlebars coordinates) -> the path as written, to name it in render errors. */
  pathAt: Map<string, string>;
}

const BLOCK_HELPERS = new Set(['if', 'unless', 'each', 'with', 'numbered']);
/** Helpers whose block body runs with a new context (`this` becomes the item). */
const SCOPING_HELPERS = new Set(['each', 'with', 'numbered']);

// Names every plain object inherits; a path through one of them reads the prototype chain.
const FORBIDDEN_SEGMENTS = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/** A `{{#if x}}` test reads x without needing it; any other use needs it. */
type UseKind = 'value' | 'test';

/**
 * Collect the top-level variables by walking the AST with a stack of contexts: a path resolves at
 * the root when it climbs (`../`) out of every scoping block, or is written `@root.name`.
 * `lineOffset` is the number of file lines above the template (the front matter).
 */
export function scanTemplate(ast: hbs.AST.Program, path: string, lineOffset: number): Scan {
  const scanner = new TemplateScanner(path, lineOffset);
  scanner.walk(ast, 0, new Set());
  return { uses: scanner.uses, required: scanner.required, pathAt: scanner.pathAt };
}

/** One walk; `depth` = how many scoping blocks enclose a node, `guards` = names proven present. */
class TemplateScanner {
  readonly uses: VariableUse[] = [];
  readonly required = new Set<string>();
  readonly pathAt = new Map<string, string>();

  constructor(
    private readonly path: string,
    private readonly lineOffset: number,
  ) {}

  walk(prog: hbs.AST.Program | undefined, depth: number, guards: ReadonlySet<string>): void {
    if (!prog) return;
    for (const node of prog.body) {
      switch (node.type) {
        case 'ContentStatement':
        case 'CommentStatement':
          break;
        case 'MustacheStatement':
          this.mustache(node as hbs.AST.MustacheStatement, depth, guards);
          break;
        case 'BlockStatement':
          this.block(node as hbs.AST.BlockStatement, depth, guards);
          break;
        case 'PartialStatement':
        case 'PartialBlockStatement':
          this.reject(
            node.loc,
            'partials ({{> name}}) are not supported in rubrics',
            'write the text into the rubric itself',
          );
          break;
        case 'DecoratorBlock':
        case 'Decorator':
          this.reject(
            node.loc,
            'decorators ({{* name}}) are not supported in rubrics',
            'remove the decorator',
          );
          break;
        default:
          this.reject(
            node.loc,
            `unsupported template construct ${node.type}`,
            'simplify the template',
          );
      }
    }
  }

  private mustache(m: hbs.AST.MustacheStatement, depth: number, guards: ReadonlySet<string>): void {
    if (m.params.length > 0 || (m.hash && m.hash.pairs.length > 0)) {
      const name =
        m.path.type === 'PathExpression' ? (m.path as hbs.AST.PathExpression).original : '?';
      this.reject(
        m.loc,
        `"{{${name} ...}}" calls a helper; rubrics have no inline helpers`,
        'write {{variable}}; for lists use {{#each list}} or {{#numbered list}}',
      );
    }
    this.useExpr(m.path as hbs.AST.Expression, depth, guards, 'value');
  }

  private block(b: hbs.AST.BlockStatement, depth: number, guards: ReadonlySet<string>): void {
    const helper =
      b.path.type === 'PathExpression' ? (b.path as hbs.AST.PathExpression).original : '';
    if (!BLOCK_HELPERS.has(helper)) {
      this.reject(
        b.loc,
        `"{{#${helper}}}" is not a block helper rubrics can use`,
        'use {{#if x}}, {{#unless x}}, {{#each list}}, {{#numbered list}} or {{#with x}}',
      );
    }
    if (b.params.length !== 1 || (b.hash && b.hash.pairs.length > 0)) {
      this.reject(b.loc, `{{#${helper}}} takes exactly one variable`, `write {{#${helper} name}}`);
    }
    if (b.program?.blockParams?.length) {
      this.reject(
        b.loc,
        `block parameters (as |x|) are not supported`,
        'refer to the item as {{this}} or {{field}}',
      );
    }
    const param = b.params[0];
    const isTest = helper === 'if' || helper === 'unless';
    this.useExpr(param, depth, guards, isTest ? 'test' : 'value');
    const g = guardName(param, depth);
    const withGuard = (s: ReadonlySet<string>): ReadonlySet<string> =>
      g === undefined ? s : new Set([...s, g]);
    if (helper === 'if') {
      this.walk(b.program, depth, withGuard(guards));
      this.walk(b.inverse, depth, guards);
    } else if (helper === 'unless') {
      this.walk(b.program, depth, guards);
      this.walk(b.inverse, depth, withGuard(guards));
    } else {
      this.walk(b.program, SCOPING_HELPERS.has(helper) ? depth + 1 : depth, guards);
      this.walk(b.inverse, depth, guards);
    }
  }

  private useExpr(
    e: hbs.AST.Expression,
    depth: number,
    guards: ReadonlySet<string>,
    kind: UseKind,
  ): void {
    if (e.type === 'PathExpression') this.usePath(e as hbs.AST.PathExpression, depth, guards, kind);
    else if (e.type === 'SubExpression')
      this.reject(
        e.loc,
        'sub-expressions are not supported in rubrics',
        'use a plain {{variable}}',
      );
  }

  private usePath(
    p: hbs.AST.PathExpression,
    depth: number,
    guards: ReadonlySet<string>,
    kind: UseKind,
  ): void {
    this.pathAt.set(`${p.loc.start.line}:${p.loc.start.column}`, p.original);
    for (const part of p.parts) {
      if (FORBIDDEN_SEGMENTS.has(part)) {
        this.reject(
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
        this.reject(p.loc, `"${p.original}" climbs above the top level`, 'remove a "../"');
      name = p.parts[0];
    }
    if (name === undefined) return;
    if (!this.uses.some((u) => u.name === name)) {
      this.uses.push({
        name,
        line: p.loc.start.line + this.lineOffset,
        col: p.loc.start.column + 1,
      });
    }
    // `{{#if x}}` on an absent x is simply false; `{{#if x.y}}` on an absent x throws.
    const isPlainTest = kind === 'test' && p.parts.length === 1;
    if (!isPlainTest && !guards.has(name)) this.required.add(name);
  }

  private reject(loc: hbs.AST.SourceLocation | undefined, what: string, hint: string): never {
    const here = loc
      ? `${this.path}:${loc.start.line + this.lineOffset}:${loc.start.column + 1}`
      : this.path;
    return fail('E_RUBRIC_TEMPLATE', `${here}: ${what}`, hint);
  }
}

/** The root-level name a plain `{{#if name}}` tests, if it is one. */
function guardName(e: hbs.AST.Expression | undefined, depth: number): string | undefined {
  if (e?.type !== 'PathExpression') return undefined;
  const p = e as hbs.AST.PathExpression;
  if (p.data || p.parts.length !== 1 || p.depth !== depth) return undefined;
  return p.parts[0];
}
