// zod issues -> problems in English: one function per issue code, each saying what was written
// and what was expected there, with a did-you-mean where a name looks mistyped.

import type * as z from 'zod';
import { pipelineSchema, stageSchema } from '../schema.js';
import { didYouMean } from './did-you-mean.js';
import { describedAs, expectation } from './expectation.js';
import type { Path, Problems } from './problems.js';
import { hasPath, isRecord, valueAt } from './raw-value.js';
import { describeValue, formatPath, quote, where } from './words.js';
import { defOf, enumValues, resolveUnion, schemaAt, unwrap, type Schema } from './zod-walk.js';

type Issue = z.core.$ZodIssue;
type IssueOf<C extends Issue['code']> = Extract<Issue, { code: C }>;

/** One issue at its place in the raw file: `input` is what was written there (if anything). */
interface At {
  out: Problems;
  raw: unknown;
  path: Path;
  input: unknown;
}

/** Report one zod issue; `base` is where the parsed value sits in the file ([] for the file). */
export function reportIssue(out: Problems, raw: unknown, issue: Issue, base: Path): void {
  const path: Path = [...base, ...(issue.path as Path)];
  const at: At = { out, raw, path, input: hasPath(raw, path) ? valueAt(raw, path) : undefined };
  switch (issue.code) {
    case 'unrecognized_keys':
      return unrecognizedKeys(at, issue);
    case 'invalid_type':
      return invalidType(at);
    case 'too_small':
    case 'too_big':
      return outOfBounds(at, issue);
    case 'invalid_value':
      return invalidValue(at, issue);
    case 'invalid_union':
      return invalidUnion(at, issue);
    case 'invalid_key':
      return invalidKey(at, issue);
    case 'invalid_format':
      return invalidFormat(at, issue);
    default:
      out.add(path, `${formatPath(path)}: ${issue.message}`);
  }
}

const schemaOf = ({ raw, path }: At): Schema | undefined => schemaAt(pipelineSchema, raw, path);

function wrongType(at: At, expected: string): void {
  at.out.add(
    at.path,
    `wrong type for ${formatPath(at.path)}: got ${describeValue(at.input)} (expected ${expected})`,
  );
}

/** The stage kinds whose schema has `key`: "it is a setting of train stages". */
function stageKindsWithKey(key: string): string[] {
  const kinds: string[] = [];
  for (const option of defOf(unwrap(stageSchema)).options as Schema[]) {
    const shape = defOf(unwrap(option)).shape as Record<string, Schema>;
    if (key !== 'kind' && key in shape) kinds.push(...enumValues(defOf(shape.kind)));
  }
  return kinds;
}

function unrecognizedKeys(at: At, issue: IssueOf<'unrecognized_keys'>): void {
  const { out, raw, path } = at;
  const obj = schemaOf(at);
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
}

function invalidType(at: At): void {
  const { out, raw, path } = at;
  if (!hasPath(raw, path) && path.length > 0) {
    const s = schemaOf(at);
    out.add(
      path,
      `missing required key '${String(path[path.length - 1])}' in ${where(raw, path.slice(0, -1))} ` +
        `(expected ${expectation(s)}${describedAs(s)})`,
    );
    return;
  }
  wrongType(at, expectation(schemaOf(at)));
}

function outOfBounds(at: At, issue: IssueOf<'too_small'> | IssueOf<'too_big'>): void {
  const { out, path, input } = at;
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
      `${formatPath(path)} is ${String(input)}, out of range (expected ${expectation(schemaOf(at))})`,
    );
  }
}

function invalidValue(at: At, issue: IssueOf<'invalid_value'>): void {
  const { input } = at;
  const allowed = issue.values.map(String);
  if (typeof input !== 'string' && allowed.every((v) => typeof v === 'string')) {
    wrongType(at, `one of: ${allowed.join(', ')}`);
    return;
  }
  at.out.add(
    at.path,
    `invalid ${formatPath(at.path)} ${quote(input)}${didYouMean(input, allowed)} ` +
      `(expected one of: ${allowed.join(', ')})`,
  );
}

function invalidUnion(at: At, issue: IssueOf<'invalid_union'>): void {
  if (issue.discriminator !== undefined) return unknownDiscriminator(at, issue);
  // Plain union (e.g. `loss: sigmoid` or `loss: [sigmoid, sft]`): report the member whose
  // type fits the value, so the message is about the value and not about every alternative.
  const branches = (issue.errors ?? []).filter(
    (errs) =>
      !errs.some(
        (e) =>
          e.path.length === 0 &&
          (e.code === 'invalid_type' ||
            (e.code === 'invalid_value' && typeof at.input !== typeof e.values[0])),
      ),
  );
  if (branches.length > 0) {
    for (const e of branches[0]) reportIssue(at.out, at.raw, e, at.path);
    return;
  }
  wrongType(at, expectation(schemaOf(at)));
}

/** A discriminated union (stages, judges, rules) whose `kind:` is missing, unknown or not a name. */
function unknownDiscriminator(at: At, issue: IssueOf<'invalid_union'>): void {
  const { out, raw, path } = at;
  const disc = issue.discriminator as string;
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
}

function invalidKey(at: At, issue: IssueOf<'invalid_key'>): void {
  const { path } = at;
  const key = path[path.length - 1];
  const inner = issue.issues[0];
  const rule = inner && !/^Invalid/.test(inner.message) ? inner.message : 'a valid name';
  const noun = path.length === 2 && path[0] === 'judges' ? 'judge name' : 'name';
  at.out.add(path, `invalid ${noun} '${String(key)}' (expected ${rule})`, 'key');
}

function invalidFormat(at: At, issue: IssueOf<'invalid_format'>): void {
  const expected =
    issue.format === 'url'
      ? 'an http:// or https:// URL'
      : /^Invalid/.test(issue.message)
        ? `a string matching ${issue.pattern ?? issue.format}`
        : issue.message;
  at.out.add(at.path, `invalid ${formatPath(at.path)} ${quote(at.input)} (expected ${expected})`);
}
