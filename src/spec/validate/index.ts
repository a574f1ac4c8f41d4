// Pipeline file -> validated PipelineSpec, or ONE error listing every problem as
// `file:line:col: what is wrong (expected ...)`.
//
// Reporting everything at once matters more than usual here: a researcher edits the YAML, runs
// `pipeline validate`, and should be able to fix the whole file in one pass. So besides the
// schema, the cross-field checks (stage order, judge names, files, templates) also run on the
// parts of the file that did parse, even when other parts did not.

import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type * as z from 'zod';
import { PipelineError } from '../../core/errors.js';
import type { PipelineFile } from '../read-file.js';
import {
  judgeSchema,
  JUDGE_NAME_PATTERN,
  pipelineSchema,
  SELF_JUDGE,
  stageSchema,
  STAGE_KINDS,
  type JudgeSpec,
  type PipelineSpec,
  type StageKind,
  type StageSpec,
} from '../schema.js';
import { locate } from '../yaml-locate.js';
import { checkSecrets } from './secrets.js';
import { allowedRoots, containmentProblem } from './paths.js';

export const BUILTIN_MODELS = ['builtin:tiny'] as const;

/** What a rubric is used for, in the words of a rubric's `mode:` front matter. */
export type RubricUse = 'pointwise' | 'pairwise' | 'critique' | 'revision' | 'self-instruct';

/** Where a template is used: the stage field that names it and the rubric mode it needs there. */
export interface TemplateUse {
  /** The YAML field, e.g. `rubric`, `critique_rubric`, `revision_rubric`. */
  field: string;
  /** judge (generate/logprobs) and evaluate: pointwise; judge (pairwise): pairwise; critique:
   *  critique or revision; prompts.self_instruct: self-instruct. */
  rubricMode: RubricUse;
}

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

export interface PipelineProblem {
  /** Path into the YAML value, e.g. ['stages', 2, 'temperature']. */
  path: (string | number)[];
  line: number;
  col: number;
  /** What is wrong, without the location. */
  message: string;
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

/** Resolve a path written in the pipeline file: relative paths are relative to the file. */
export function resolvePipelinePath(baseDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
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
  // name does not hide the mistakes inside that judge.
  const rawJudges = isRecord(raw) ? raw.judges : undefined;
  if (isRecord(rawJudges))
    for (const [name, j] of Object.entries(rawJudges)) {
      if (JUDGE_NAME_PATTERN.test(name)) continue;
      const r = judgeSchema.safeParse(j, { reportInput: true });
      if (!r.success)
        for (const issue of r.error.issues) reportIssue(out, raw, issue, ['judges', name]);
    }

  const parts = parsed.success ? fromSpec(parsed.data, raw) : partialParts(raw);
  checkStageOrder(out, parts);
  checkJudgeNames(out, raw, parts);
  checkStageSettings(out, parts);
  checkJudgeSettings(out, parts);
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

// ---------------------------------------------------------------------------------------------
// collecting problems

type Path = (string | number)[];

class Problems {
  private readonly list: PipelineProblem[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly file: PipelineFile) {}

  add(path: Path, message: string, at: 'value' | 'key' = 'value'): void {
    const { line, col } = locate(this.file, path, { at });
    const id = `${line}:${col}:${message}`;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.list.push({ path, line, col, message });
  }

  sorted(): PipelineProblem[] {
    return [...this.list].sort((a, b) => a.line - b.line || a.col - b.col);
  }
}

// ---------------------------------------------------------------------------------------------
// did you mean

/** Optimal-string-alignment distance: Levenshtein plus adjacent transpositions ("jugde"). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => [
    i,
    ...new Array<number>(n).fill(0),
  ]);
  for (let j = 0; j <= n; j++) d[0][j] = j;
  for (let i = 1; i <= m; i++)
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[m][n];
}

/** The closest candidate to `word`, if it is close enough to be a plausible typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  // Short words get less slack: with 2 edits "lr" would "match" half the vocabulary.
  const limit = w.length <= 4 ? 1 : w.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = editDistance(w, c.toLowerCase());
    if (dist < bestD) {
      best = c;
      bestD = dist;
    }
  }
  return bestD <= limit ? best : undefined;
}

function didYouMean(word: unknown, candidates: readonly string[]): string {
  if (typeof word !== 'string') return '';
  const s = suggest(word, candidates);
  return s ? ` (did you mean '${s}'?)` : '';
}

// ---------------------------------------------------------------------------------------------
// describing paths, values and schemas in words

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const seg of path) {
    if (Array.isArray(v) && typeof seg === 'number') v = v[seg];
    else if (isRecord(v)) v = v[String(seg)];
    else return undefined;
  }
  return v;
}

function hasPath(root: unknown, path: readonly PropertyKey[]): boolean {
  if (path.length === 0) return true;
  const parent = valueAt(root, path.slice(0, -1));
  const last = path[path.length - 1];
  if (Array.isArray(parent)) return typeof last === 'number' && last < parent.length;
  return isRecord(parent) && Object.prototype.hasOwnProperty.call(parent, String(last));
}

/** `stages[2].temperature` */
export function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const seg of path) {
    if (typeof seg === 'number') s += `[${seg}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(String(seg))) s += s ? `.${String(seg)}` : String(seg);
    else s += `[${JSON.stringify(String(seg))}]`;
  }
  return s || 'the pipeline file';
}

/** A mapping named for people: "the judge stage at stages[2]", "judge 'anchor'". */
function where(root: unknown, path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'the top level';
  if (path.length === 2 && path[0] === 'stages' && typeof path[1] === 'number') {
    const kind = valueAt(root, [...path, 'kind']);
    return typeof kind === 'string' && (STAGE_KINDS as readonly string[]).includes(kind)
      ? `the ${kind} stage at ${formatPath(path)}`
      : formatPath(path);
  }
  if (path.length === 2 && path[0] === 'judges') return `judge '${String(path[1])}'`;
  return formatPath(path);
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (typeof v === 'string') {
    const s = v.length > 40 ? `${v.slice(0, 37)}...` : v;
    return `the string '${s}'`;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  if (Array.isArray(v)) return 'a list';
  if (isRecord(v)) return 'a mapping';
  return typeof v;
}

function quote(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

type Schema = z.core.$ZodType;
interface Def {
  type: string;
  [k: string]: unknown;
}
const defOf = (s: Schema): Def => s._zod.def as unknown as Def;

const WRAPPERS = new Set([
  'optional',
  'default',
  'prefault',
  'nullable',
  'readonly',
  'catch',
  'nonoptional',
]);

function unwrap(s: Schema): Schema {
  let cur = s;
  for (let i = 0; i < 20; i++) {
    const d = defOf(cur);
    if (WRAPPERS.has(d.type)) cur = d.innerType as Schema;
    else if (d.type === 'pipe') cur = d.in as Schema;
    else break;
  }
  return cur;
}

function jsType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v;
}

function schemaAccepts(s: Schema, v: unknown): boolean {
  const d = defOf(unwrap(s));
  switch (jsType(v)) {
    case 'array':
      return d.type === 'array';
    case 'string':
      return d.type === 'string' || d.type === 'enum' || d.type === 'literal';
    case 'number':
      return d.type === 'number';
    case 'boolean':
      return d.type === 'boolean';
    case 'object':
      return d.type === 'object' || d.type === 'record' || d.type === 'union';
    default:
      return false;
  }
}

/** Pick the union member that applies to `v` (by discriminator, else by JS type). */
function resolveUnion(s: Schema, v: unknown): Schema {
  let cur = unwrap(s);
  for (let i = 0; i < 5; i++) {
    const d = defOf(cur);
    if (d.type !== 'union') return cur;
    const options = d.options as Schema[];
    let next: Schema | undefined;
    if (typeof d.discriminator === 'string') {
      const tag = isRecord(v) ? v[d.discriminator] : undefined;
      next = options.find((o) => {
        const od = defOf(unwrap(o));
        if (od.type !== 'object') return false;
        const lit = (od.shape as Record<string, Schema>)[d.discriminator as string];
        return lit !== undefined && ((defOf(lit).values as unknown[]) ?? []).includes(tag);
      });
    } else next = options.find((o) => schemaAccepts(o, v));
    if (!next) return cur;
    cur = unwrap(next);
  }
  return cur;
}

/** The schema that validates the value at `path`, or undefined when the path leaves the schema. */
function schemaAt(
  root: Schema,
  rawRoot: unknown,
  path: readonly PropertyKey[],
): Schema | undefined {
  let s: Schema | undefined = root;
  let v = rawRoot;
  for (const seg of path) {
    const cur = resolveUnion(s, v);
    const d = defOf(cur);
    if (d.type === 'object') s = (d.shape as Record<string, Schema>)[String(seg)];
    else if (d.type === 'array') s = d.element as Schema;
    else if (d.type === 'record') s = d.valueType as Schema;
    else return undefined;
    if (!s) return undefined;
    v =
      Array.isArray(v) && typeof seg === 'number'
        ? v[seg]
        : isRecord(v)
          ? v[String(seg)]
          : undefined;
  }
  return s;
}

function numberRange(d: Def): string {
  const isInt = typeof d.format === 'string' && /int/.test(d.format);
  const noun = isInt ? 'an integer' : 'a number';
  let lo: { value: number; inclusive: boolean } | undefined;
  let hi: { value: number; inclusive: boolean } | undefined;
  for (const c of (d.checks as Schema[] | undefined) ?? []) {
    const cd = defOf(c) as unknown as { check: string; value: number; inclusive: boolean };
    if (cd.check === 'greater_than') lo = cd;
    else if (cd.check === 'less_than') hi = cd;
  }
  if (lo && hi && lo.inclusive && hi.inclusive) return `${noun} from ${lo.value} to ${hi.value}`;
  const parts: string[] = [];
  if (lo) parts.push(`${lo.inclusive ? '>=' : '>'} ${lo.value}`);
  if (hi) parts.push(`${hi.inclusive ? '<=' : '<'} ${hi.value}`);
  return parts.length ? `${noun} ${parts.join(' and ')}` : noun;
}

function enumValues(d: Def): string[] {
  if (d.type === 'enum') return Object.values(d.entries as Record<string, string>).map(String);
  if (d.type === 'literal') return (d.values as unknown[]).map(String);
  return [];
}

function listOf(s: Schema): string {
  const d = defOf(unwrap(s));
  switch (d.type) {
    case 'string':
      return 'strings';
    case 'number':
      return numberRange(d).replace(/^an? (integer|number)/, '$1s');
    case 'enum':
      return `names (${enumValues(d).join(', ')})`;
    default:
      return 'mappings';
  }
}

/** "a number > 0 and <= 1", "one of: generate, logprobs", ... */
function expectation(s: Schema | undefined): string {
  if (!s) return 'a valid value';
  const u = unwrap(s);
  const d = defOf(u);
  switch (d.type) {
    case 'number':
      return numberRange(d);
    case 'string':
      if (d.format === 'url') return 'an http:// or https:// URL';
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'enum':
    case 'literal':
      return `one of: ${enumValues(d).join(', ')}`;
    case 'array': {
      const min = minItems(d);
      return `a list of ${listOf(d.element as Schema)}${min > 0 ? ` (at least ${min})` : ''}`;
    }
    case 'object':
      return 'a mapping (key: value lines or { key: value })';
    case 'record':
      return 'a mapping of names to settings';
    case 'union': {
      if (typeof d.discriminator === 'string') {
        const kinds = (d.options as Schema[]).flatMap((o) => {
          const od = defOf(unwrap(o));
          const lit = (od.shape as Record<string, Schema> | undefined)?.[d.discriminator as string];
          return lit ? enumValues(defOf(lit)) : [];
        });
        return `a mapping with ${d.discriminator}: one of ${kinds.join(', ')}`;
      }
      const opts = (d.options as Schema[]).map((o) => defOf(unwrap(o)));
      if (
        opts.length === 2 &&
        opts[0].type === 'enum' &&
        opts[1].type === 'array' &&
        defOf(unwrap(opts[1].element as Schema)).type === 'enum'
      )
        return `one of: ${enumValues(opts[0]).join(', ')}, or a list of them`;
      return (d.options as Schema[]).map((o) => expectation(o)).join(', or ');
    }
    default:
      return 'a valid value';
  }
}

function minItems(d: Def): number {
  for (const c of (d.checks as Schema[] | undefined) ?? []) {
    const cd = defOf(c) as unknown as { check: string; minimum?: number };
    if (cd.check === 'min_length' && typeof cd.minimum === 'number') return cd.minimum;
  }
  return 0;
}

function describedAs(s: Schema | undefined): string {
  const text = s ? (s as z.ZodType).description : undefined;
  return text ? `: ${text.replace(/\.$/, '')}` : '';
}

function stageKindsWithKey(key: string): string[] {
  const kinds: string[] = [];
  for (const option of defOf(unwrap(stageSchema)).options as Schema[]) {
    const shape = defOf(unwrap(option)).shape as Record<string, Schema>;
    if (key !== 'kind' && key in shape) kinds.push(...enumValues(defOf(shape.kind)));
  }
  return kinds;
}

// ---------------------------------------------------------------------------------------------
// zod issues -> problems

type Issue = z.core.$ZodIssue;

function reportIssue(out: Problems, raw: unknown, issue: Issue, base: Path): void {
  const path: Path = [...base, ...(issue.path as Path)];
  const schema = (): Schema | undefined => schemaAt(pipelineSchema, raw, path);
  const input = hasPath(raw, path) ? valueAt(raw, path) : undefined;

  switch (issue.code) {
    case 'unrecognized_keys': {
      const obj = schemaAt(pipelineSchema, raw, path);
      const od = obj ? defOf(resolveUnion(obj, valueAt(raw, path))) : undefined;
      const known = od?.type === 'object' ? Object.keys(od.shape as object) : [];
      const isStage = path.length === 2 && path[0] === 'stages';
      for (const key of issue.keys) {
        const hint = didYouMean(key, known);
        // A setting written on the wrong stage (`beta` on a pair stage) is a common slip.
        const owners = isStage && !hint ? stageKindsWithKey(key) : [];
        const belongs = owners.length ? `it is a setting of ${owners.join(' and ')} stages; ` : '';
        out.add(
          [...path, key],
          `unknown key '${key}' in ${where(raw, path)}` +
            (hint || (known.length ? ` (${belongs}expected one of: ${known.join(', ')})` : '')),
          'key',
        );
      }
      return;
    }
    case 'invalid_type': {
      if (!hasPath(raw, path) && path.length > 0) {
        const s = schema();
        out.add(
          path,
          `missing required key '${String(path[path.length - 1])}' in ${where(raw, path.slice(0, -1))} ` +
            `(expected ${expectation(s)}${describedAs(s)})`,
        );
        return;
      }
      out.add(
        path,
        `wrong type for ${formatPath(path)}: got ${describeValue(input)} (expected ${expectation(schema())})`,
      );
      return;
    }
    case 'too_small':
    case 'too_big': {
      if (issue.origin === 'array') {
        const n = Array.isArray(input) ? input.length : 0;
        const bound =
          issue.code === 'too_small' ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
        out.add(path, `${formatPath(path)} has ${n} item${n === 1 ? '' : 's'} (expected ${bound})`);
      } else if (issue.origin === 'string') {
        out.add(
          path,
          issue.code === 'too_small' && input === ''
            ? `${formatPath(path)} is empty (expected a non-empty string)`
            : `${formatPath(path)} has the wrong length (expected ${issue.message})`,
        );
      } else {
        out.add(
          path,
          `${formatPath(path)} is ${String(input)}, out of range (expected ${expectation(schema())})`,
        );
      }
      return;
    }
    case 'invalid_value': {
      const allowed = issue.values.map(String);
      if (typeof input !== 'string' && allowed.every((v) => typeof v === 'string')) {
        out.add(
          path,
          `wrong type for ${formatPath(path)}: got ${describeValue(input)} (expected one of: ${allowed.join(', ')})`,
        );
        return;
      }
      out.add(
        path,
        `invalid ${formatPath(path)} ${quote(input)}${didYouMean(input, allowed)} ` +
          `(expected one of: ${allowed.join(', ')})`,
      );
      return;
    }
    case 'invalid_union': {
      if (issue.discriminator !== undefined) {
        const disc = issue.discriminator;
        const objPath = path[path.length - 1] === disc ? path.slice(0, -1) : path;
        const obj = valueAt(raw, objPath);
        const allowed = ('options' in issue ? (issue.options ?? []) : []).map(String);
        const expected = `(expected one of: ${allowed.join(', ')})`;
        if (!isRecord(obj)) {
          out.add(
            objPath,
            `wrong type for ${formatPath(objPath)}: got ${describeValue(obj)} (expected a mapping with ${disc}: ...)`,
          );
        } else if (!(disc in obj)) {
          out.add(
            [...objPath, disc],
            `missing required key '${disc}' in ${formatPath(objPath)} ${expected}`,
          );
        } else {
          const tag = obj[disc];
          out.add(
            [...objPath, disc],
            typeof tag === 'string'
              ? `unknown ${disc} '${tag}' in ${formatPath(objPath)}${didYouMean(tag, allowed)} ${expected}`
              : `wrong type for ${formatPath([...objPath, disc])}: got ${describeValue(tag)} ${expected}`,
          );
        }
        return;
      }
      // Plain union (e.g. `loss: sigmoid` or `loss: [sigmoid, sft]`): report the member whose
      // type fits the value, so the message is about the value and not about every alternative.
      const branches = (issue.errors ?? []).filter(
        (errs) =>
          !errs.some(
            (e) =>
              e.path.length === 0 &&
              (e.code === 'invalid_type' ||
                (e.code === 'invalid_value' && typeof input !== typeof e.values[0])),
          ),
      );
      if (branches.length > 0) {
        for (const e of branches[0]) reportIssue(out, raw, e, path);
        return;
      }
      out.add(
        path,
        `wrong type for ${formatPath(path)}: got ${describeValue(input)} (expected ${expectation(schema())})`,
      );
      return;
    }
    case 'invalid_key': {
      const key = path[path.length - 1];
      const inner = issue.issues[0];
      const rule = inner && !/^Invalid/.test(inner.message) ? inner.message : 'a valid name';
      const noun = path.length === 2 && path[0] === 'judges' ? 'judge name' : 'name';
      out.add(path, `invalid ${noun} '${String(key)}' (expected ${rule})`, 'key');
      return;
    }
    case 'invalid_format': {
      const expected =
        issue.format === 'url'
          ? 'an http:// or https:// URL'
          : /^Invalid/.test(issue.message)
            ? `a string matching ${issue.pattern ?? issue.format}`
            : issue.message;
      out.add(path, `invalid ${formatPath(path)} ${quote(input)} (expected ${expected})`);
      return;
    }
    default:
      out.add(path, `${formatPath(path)}: ${issue.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// the parts of the file that parsed, for the cross-field checks

interface StageView {
  index: number;
  /** Known even when the rest of the stage is invalid, so order checks still run. */
  kind?: StageKind;
  /** The parsed stage, when it is valid. */
  spec?: StageSpec;
  raw: unknown;
}

interface Parts {
  /** Every judge name written (valid or not) -> its parsed definition, when valid. */
  judges: Map<string, JudgeSpec | undefined>;
  stages: StageView[];
}

function stageKindOf(raw: unknown): StageKind | undefined {
  const k = isRecord(raw) ? raw.kind : undefined;
  return typeof k === 'string' && (STAGE_KINDS as readonly string[]).includes(k)
    ? (k as StageKind)
    : undefined;
}

function rawStages(raw: unknown): unknown[] {
  const s = isRecord(raw) ? raw.stages : undefined;
  return Array.isArray(s) ? s : [];
}

function fromSpec(spec: PipelineSpec, raw: unknown): Parts {
  const r = rawStages(raw);
  return {
    judges: new Map(Object.entries(spec.judges)),
    stages: spec.stages.map((s, index) => ({ index, kind: s.kind, spec: s, raw: r[index] })),
  };
}

function partialParts(raw: unknown): Parts {
  const top = isRecord(raw) ? raw : {};
  const judges = new Map<string, JudgeSpec | undefined>();
  if (isRecord(top.judges))
    for (const [name, j] of Object.entries(top.judges))
      judges.set(name, judgeSchema.safeParse(j).data);
  return {
    judges,
    stages: rawStages(raw).map((r, index) => ({
      index,
      kind: stageKindOf(r),
      spec: stageSchema.safeParse(r).data,
      raw: r,
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// cross-field checks

function checkStageOrder(out: Problems, parts: Parts): void {
  const seen = new Set<StageKind>();
  let trains = 0;
  for (const st of parts.stages) {
    if (!st.kind) continue;
    const at: Path = ['stages', st.index, 'kind'];
    switch (st.kind) {
      case 'critique':
        if (!seen.has('generate'))
          out.add(
            at,
            'a critique stage needs answers to critique (expected a generate stage before it)',
          );
        break;
      case 'judge':
        if (!seen.has('generate') && !seen.has('critique'))
          out.add(
            at,
            'a judge stage needs candidates to rate (expected a generate or critique stage before it)',
          );
        break;
      case 'pair':
        if (!seen.has('judge'))
          out.add(at, 'a pair stage needs scored candidates (expected a judge stage before it)');
        else checkEnoughCandidates(out, parts, st.index);
        break;
      case 'train':
        trains++;
        if (trains > 1)
          out.add(
            at,
            'a second train stage in one round (expected at most one train stage per round)',
          );
        else if (!seen.has('pair'))
          out.add(at, 'a train stage needs preference pairs (expected a pair stage before it)');
        break;
      case 'generate':
      case 'evaluate':
        break;
    }
    seen.add(st.kind);
  }
}

/** A pair needs two answers to one prompt: N >= 2 candidates, or a critique adding a revision. */
function checkEnoughCandidates(out: Problems, parts: Parts, pairIndex: number): void {
  const before = parts.stages.slice(0, pairIndex);
  if (before.some((s) => s.kind === 'critique')) return;
  const gens = before.filter((s) => s.kind === 'generate');
  // An invalid generate stage is already reported; guessing its count would only add noise.
  if (gens.length === 0 || gens.some((g) => !g.spec)) return;
  const total = gens.reduce((n, g) => n + (g.spec?.kind === 'generate' ? g.spec.candidates : 0), 0);
  if (total >= 2) return;
  const last = gens[gens.length - 1];
  out.add(
    ['stages', last.index, 'candidates'],
    `a pair stage needs two answers per prompt but generate makes ${total} ` +
      '(expected candidates >= 2, or a critique stage whose revision adds one)',
  );
}

function checkJudgeNames(out: Problems, raw: unknown, parts: Parts): void {
  const defined = [...parts.judges.keys()].filter((n) => n !== SELF_JUDGE);
  if (parts.judges.has(SELF_JUDGE))
    out.add(
      ['judges', SELF_JUDGE],
      `'${SELF_JUDGE}' is the built-in name of the current policy (expected another name for this judge)`,
      'key',
    );
  const check = (name: unknown, path: Path): void => {
    if (typeof name !== 'string' || name === SELF_JUDGE || defined.includes(name)) return;
    const list = defined.length
      ? `one of the judges defined under judges: ${defined.join(', ')}`
      : 'a judge defined under judges: (none are)';
    out.add(
      path,
      `unknown judge '${name}'${didYouMean(name, [SELF_JUDGE, ...defined])} (expected '${SELF_JUDGE}' or ${list})`,
    );
  };
  // Read the names from the raw stages so a stage with an unrelated error still gets checked.
  rawStages(raw).forEach((st, i) => {
    const kind = stageKindOf(st);
    if (!isRecord(st) || (kind !== 'judge' && kind !== 'evaluate')) return;
    check(st.judge, ['stages', i, 'judge']);
    if (kind === 'judge' && Array.isArray(st.judges))
      st.judges.forEach((name, j) => check(name, ['stages', i, 'judges', j]));
  });
}

function checkStageSettings(out: Problems, parts: Parts): void {
  const judgeRubric = parts.stages.some((s) => s.spec?.kind === 'judge');
  for (const st of parts.stages) {
    const s = st.spec;
    const at = (...p: Path): Path => ['stages', st.index, ...p];
    if (s?.kind === 'train') {
      const dup = s.loss.find((l, i) => s.loss.indexOf(l) !== i);
      if (dup)
        out.add(at('loss'), `loss '${dup}' is listed twice (expected each loss at most once)`);
      if (s.loss_weights && s.loss_weights.length !== s.loss.length)
        out.add(
          at('loss_weights'),
          `loss_weights has ${s.loss_weights.length} weight${s.loss_weights.length === 1 ? '' : 's'} ` +
            `for ${s.loss.length} loss${s.loss.length === 1 ? '' : 'es'} (expected one weight per entry of loss)`,
        );
      if (s.full && isRecord(st.raw) && 'lora' in st.raw)
        out.add(
          at('lora'),
          'lora settings given with full: true, which trains every weight without an adapter ' +
            '(expected either full: true or lora settings, not both)',
          'key',
        );
    } else if (s?.kind === 'judge' && s.mode === 'logprobs') {
      // Log-prob judging continues a prefilled "Score: " reply, which chat-completions servers
      // cannot do portably (see judges/openai-judge.ts).
      const server = s.judges.find((name) => parts.judges.get(name)?.kind === 'openai');
      if (server)
        out.add(
          at('mode'),
          `mode logprobs cannot be used with judge '${server}' (kind openai): a chat-completions ` +
            'server cannot continue a prefilled "Score: " reply ' +
            '(expected mode: generate or pairwise, or a local model judge for logprobs)',
        );
    } else if (s?.kind === 'evaluate') {
      const j = parts.judges.get(s.judge);
      if (!s.rubric && !judgeRubric && j?.kind !== 'rule')
        out.add(
          ['stages', st.index],
          `the evaluate stage at stages[${st.index}] has no rubric for judge '${s.judge}' ` +
            '(expected rubric: <file>, or a judge stage whose rubric it reuses)',
        );
    }
  }
}

function checkJudgeSettings(out: Problems, parts: Parts): void {
  for (const [name, j] of parts.judges) {
    if (j?.kind !== 'rule') continue;
    j.rules.forEach((r, k) => {
      const at = (...p: Path): Path => ['judges', name, 'rules', k, ...p];
      if (r.kind === 'regex') {
        try {
          new RegExp(r.pattern, r.flags);
        } catch (e) {
          const why = (e as Error).message.replace(
            /^Invalid regular expression: \/.*\/[a-z]*: /,
            '',
          );
          out.add(
            at('pattern'),
            `invalid regular expression '${r.pattern}': ${why} (expected a JavaScript regular expression)`,
          );
        }
      } else if (r.kind === 'length') {
        if (r.min === undefined && r.max === undefined)
          out.add(
            ['judges', name, 'rules', k],
            'a length rule without min or max checks nothing (expected min, max or both)',
          );
        else if (r.min !== undefined && r.max !== undefined && r.min > r.max)
          out.add(at('max'), `max ${r.max} is below min ${r.min} (expected max >= min)`);
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// files and templates

type FileKind = 'file' | 'model' | 'adapter';

function checkFiles(
  out: Problems,
  raw: unknown,
  baseDir: string,
  checkExists: boolean,
  checkTemplate: TemplateChecker | undefined,
  allowPaths?: readonly string[],
): void {
  const roots = allowedRoots(baseDir, allowPaths);
  const check = (
    path: Path,
    value: string | undefined,
    kind: FileKind,
    template?: FileRef['template'],
  ): void => {
    if (value === undefined) return;
    if (kind === 'model' && value.startsWith('builtin:')) {
      if (checkExists && !(BUILTIN_MODELS as readonly string[]).includes(value))
        out.add(
          path,
          `unknown built-in model '${value}'${didYouMean(value, BUILTIN_MODELS)} ` +
            `(expected ${BUILTIN_MODELS.join(', ')} or a model folder)`,
        );
      return;
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
      return;
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
      return;
    }
    if (template && checkTemplate) {
      let msg: string | undefined;
      try {
        msg = checkTemplate(abs, template.stageKind, template.use);
      } catch (e) {
        msg = e instanceof Error ? e.message : String(e);
      }
      if (msg) out.add(path, `${formatPath(path)}: template '${value}': ${msg}`);
    }
  };

  for (const ref of fileRefs(raw)) check(ref.path, ref.value, ref.kind, ref.template);
}

interface FileRef {
  path: Path;
  value: string;
  kind: FileKind;
  template?: { stageKind: string; use: TemplateUse };
}

/**
 * Every file the pipeline refers to, read from the raw YAML value rather than the parsed spec:
 * a stage with an unrelated mistake (a typo in another key) still gets its files checked.
 */
function fileRefs(raw: unknown): FileRef[] {
  const refs: FileRef[] = [];
  const add = (path: Path, kind: FileKind, template?: FileRef['template']): void => {
    const v = valueAt(raw, path);
    if (typeof v === 'string' && v !== '') refs.push({ path, value: v, kind, template });
  };
  add(['model', 'path'], 'model');
  add(['model', 'adapter'], 'adapter');
  add(['prompts', 'file'], 'file');
  add(['prompts', 'self_instruct', 'rubric'], 'file', {
    stageKind: 'self_instruct',
    use: { field: 'rubric', rubricMode: 'self-instruct' },
  });
  const judges = isRecord(raw) ? raw.judges : undefined;
  if (isRecord(judges))
    for (const [name, j] of Object.entries(judges)) {
      if (!isRecord(j)) continue;
      if (j.kind === 'model') {
        add(['judges', name, 'path'], 'model');
        add(['judges', name, 'adapter'], 'adapter');
      } else if (j.kind === 'rule' && Array.isArray(j.rules)) {
        j.rules.forEach((r, k) => {
          if (isRecord(r) && r.kind === 'banned_phrases')
            add(['judges', name, 'rules', k, 'file'], 'file');
        });
      }
    }
  rawStages(raw).forEach((st, i) => {
    const kind = stageKindOf(st);
    const at = (field: string): Path => ['stages', i, field];
    const tpl = (field: string, rubricMode: RubricUse) =>
      kind ? { stageKind: kind, use: { field, rubricMode } } : undefined;
    const judgeMode = isRecord(st) ? st.mode : undefined;
    switch (kind) {
      case 'critique':
        add(at('constitution'), 'file');
        add(at('critique_rubric'), 'file', tpl('critique_rubric', 'critique'));
        add(at('revision_rubric'), 'file', tpl('revision_rubric', 'revision'));
        break;
      case 'judge':
        add(
          at('rubric'),
          'file',
          tpl('rubric', judgeMode === 'pairwise' ? 'pairwise' : 'pointwise'),
        );
        add(at('constitution'), 'file');
        break;
      case 'evaluate':
        add(at('probes'), 'file');
        add(at('rubric'), 'file', tpl('rubric', 'pointwise'));
        add(at('refusal_phrases'), 'file');
        add(at('boilerplate_phrases'), 'file');
        break;
      default:
        break;
    }
  });
  return refs;
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
