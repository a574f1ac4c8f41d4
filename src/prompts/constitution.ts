// Constitutions are markdown files researchers edit by hand:
//
//   # Optional title, then optional prose (ignored by the pipeline)
//   ## <id>: <title>
//   The principle, one or more paragraphs.
//   critique: optional instruction for the CAI critique step of this principle
//   revision: optional instruction for the CAI revision step of this principle
//
// The id is the principle's identity in the database (per-principle violation rates, sampled
// principles in pairwise judging), so it is strict: lower case, digits, '-', '_', '.'. Wording may
// change freely under a stable id; the constitution's hash records which wording a run used.

import { fail } from '../core/errors.js';
import { excerpt } from '../core/excerpt.js';
import { sha256, textFileLoader } from './read-text.js';

export interface Principle {
  id: string;
  title: string;
  text: string;
  critique?: string;
  revision?: string;
  /** 1-based line of the principle's heading, for messages that point back at the file. */
  line: number;
}

export interface Constitution {
  path: string;
  /** sha256 of the file text: the constitution version recorded with every judgement. */
  hash: string;
  title?: string;
  principles: Principle[];
}

export const PRINCIPLE_ID = /^[a-z0-9]+(?:[-_.][a-z0-9]+)*$/;
const MAX_CONSTITUTION_BYTES = 1024 * 1024;
const FORMAT_HINT =
  'each principle starts with a heading "## <id>: <title>" (e.g. "## hhh-01-honesty: Be honest"), ' +
  'followed by its text and optional "critique:" / "revision:" lines';

export const loadConstitution: (path: string) => Constitution = textFileLoader(
  {
    code: 'E_CONSTITUTION_NOT_FOUND',
    what: 'constitution file',
    hint: 'pass a markdown constitution, e.g. constitutions/helpful-harmless.md',
    maxBytes: MAX_CONSTITUTION_BYTES,
  },
  parseConstitution,
);

interface Draft {
  id: string;
  title: string;
  line: number;
  /** `verbatim` lines (code fences) keep their line breaks when paragraphs are unwrapped. */
  body: { text: string; verbatim: boolean }[];
  fields: Partial<Record<FieldName, { lines: string[]; line: number }>>;
}
type FieldName = 'critique' | 'revision';

export function parseConstitution(text: string, path: string): Constitution {
  const lines = blankComments(text.replace(/\r\n?/g, '\n')).split('\n');
  const scan = new PrincipleScanner(path);
  lines.forEach((raw, i) => scan.line(raw.trimEnd(), i + 1));
  if (scan.drafts.length === 0) {
    return fail('E_CONSTITUTION_EMPTY', `${path}: no principles found`, FORMAT_HINT);
  }
  const principles = scan.drafts.map((d) => finishPrinciple(d, path));
  return { path, hash: sha256(text), title: scan.title, principles };
}

/** Reads the file line by line into drafts: each principle's heading, body lines and fields. */
class PrincipleScanner {
  title: string | undefined;
  readonly drafts: Draft[] = [];
  private readonly seen = new Map<string, number>();
  private current: Draft | undefined;
  // A field keeps collecting lines until a blank line, so a long critique instruction can wrap.
  private openField: { lines: string[] } | undefined;
  private fence: string | undefined;

  constructor(private readonly path: string) {}

  /** One line, trailing spaces already trimmed; `lineNo` is 1-based. */
  line(line: string, lineNo: number): void {
    const where = `${this.path}:${lineNo}`;
    if (this.fenced(line)) return;
    if (/^##(?!#)/.test(line)) {
      this.current = startPrinciple(line, lineNo, where, this.seen);
      this.drafts.push(this.current);
      this.openField = undefined;
      return;
    }
    if (/^#(?!#)/.test(line)) return this.setTitle(line, where);
    const current = this.current;
    if (current === undefined) return; // prose before the first principle describes the file

    const field = /^(critique|revision)\s*:\s*(.*)$/i.exec(line);
    if (field) {
      const name = field[1].toLowerCase() as FieldName;
      return this.startField(current, name, field[2].trim(), lineNo, where);
    }
    if (line.trim() === '') {
      this.openField = undefined;
      current.body.push({ text: '', verbatim: false });
      return;
    }
    if (this.openField) this.openField.lines.push(line.trim());
    else current.body.push({ text: line, verbatim: false });
  }

  /** Inside a fenced code block nothing is structure, so an example "## x" stays text. */
  private fenced(line: string): boolean {
    const fenceMark = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (this.fence === undefined && fenceMark === undefined) return false;
    if (this.fence === undefined) this.fence = fenceMark;
    else if (
      fenceMark !== undefined &&
      fenceMark[0] === this.fence[0] &&
      fenceMark.length >= this.fence.length
    )
      this.fence = undefined;
    this.openField = undefined;
    this.current?.body.push({ text: line, verbatim: true });
    return true;
  }

  private setTitle(line: string, where: string): void {
    if (this.current !== undefined || this.title !== undefined) {
      fail(
        'E_CONSTITUTION_HEADING',
        `${where}: a level-1 heading "${excerpt(line)}" is only allowed once, before the first principle`,
        `use "## <id>: <title>" for principles and "###" for sub-headings inside one`,
      );
    }
    this.title =
      line
        .replace(/^#\s*/, '')
        .replace(/\s+#+\s*$/, '')
        .trim() || undefined;
  }

  private startField(
    current: Draft,
    name: FieldName,
    first: string,
    lineNo: number,
    where: string,
  ): void {
    const previous = current.fields[name];
    if (previous) {
      fail(
        'E_CONSTITUTION_FIELD',
        `${where}: principle "${current.id}" has a second "${name}:" line (the first is at line ${previous.line})`,
        `keep one "${name}:" per principle; a long one may continue on the following lines`,
      );
    }
    const entry = { lines: [first], line: lineNo };
    current.fields[name] = entry;
    this.openField = entry;
  }
}

/** A draft as a Principle: its body unwrapped, its fields joined; empty text is an error. */
function finishPrinciple(d: Draft, path: string): Principle {
  const body = unwrap(d.body);
  if (body === '') {
    return fail(
      'E_CONSTITUTION_EMPTY_PRINCIPLE',
      `${path}:${d.line}: principle "${d.id}" has no text`,
      'write the principle in one or more lines under its heading',
    );
  }
  const p: Principle = { id: d.id, title: d.title, text: body, line: d.line };
  for (const name of ['critique', 'revision'] as const) {
    const f = d.fields[name];
    if (!f) continue;
    const value = f.lines.join(' ').trim();
    if (value === '') {
      return fail(
        'E_CONSTITUTION_FIELD',
        `${path}:${f.line}: "${name}:" of principle "${d.id}" is empty`,
        `write the ${name} instruction after "${name}:" or delete the line`,
      );
    }
    p[name] = value;
  }
  return p;
}

function startPrinciple(
  line: string,
  lineNo: number,
  where: string,
  seen: Map<string, number>,
): Draft {
  const heading = line
    .replace(/^##\s*/, '')
    .replace(/\s+#+\s*$/, '')
    .trim();
  const m = /^([^\s:]+)\s*:\s*(.*)$/.exec(heading);
  if (!/^##\s/.test(line) || !m || m[2].trim() === '') {
    return fail(
      'E_CONSTITUTION_HEADING',
      `${where}: malformed principle heading "${excerpt(line)}"`,
      FORMAT_HINT,
    );
  }
  const id = m[1];
  if (!PRINCIPLE_ID.test(id)) {
    return fail(
      'E_CONSTITUTION_HEADING',
      `${where}: principle id "${excerpt(id)}" is not allowed`,
      'ids use lower-case letters, digits and single "-", "_" or "." between them, e.g. hhh-01-honesty',
    );
  }
  const first = seen.get(id);
  if (first !== undefined) {
    return fail(
      'E_CONSTITUTION_DUPLICATE_ID',
      `${where}: principle id "${excerpt(id)}" is already used at line ${first}`,
      'every principle needs its own id; renumber or rename one of them',
    );
  }
  seen.set(id, lineNo);
  return { id, title: m[2].trim(), line: lineNo, body: [], fields: {} };
}

// Markdown treats a single line break inside a paragraph as a space, and so does the judge prompt:
// hard-wrapped principles render as flowing sentences. List items, quotes, tables, indented code
// and fenced blocks keep their line breaks.
const KEEPS_BREAK = /^\s*(?:[-*+]\s|\d+[.)]\s|>|\||\s{4})/;

function unwrap(lines: { text: string; verbatim: boolean }[]): string {
  let out = '';
  let prev: { text: string; verbatim: boolean } | undefined;
  for (const l of lines) {
    if (l.text === '' && !l.verbatim) {
      if (out !== '' && !out.endsWith('\n\n')) out += out.endsWith('\n') ? '\n' : '\n\n';
      prev = undefined;
      continue;
    }
    const joinWithSpace =
      prev !== undefined &&
      !prev.verbatim &&
      !l.verbatim &&
      !KEEPS_BREAK.test(l.text) &&
      !/ {2}$|\\$/.test(prev.text);
    if (prev === undefined) out += l.text;
    else out += joinWithSpace ? ' ' + l.text.trimStart() : '\n' + l.text;
    prev = l;
  }
  return out.trim();
}

/** Replace HTML comments with blanks of the same line count, so commented-out principles vanish but line numbers stay true. */
function blankComments(text: string): string {
  return text.replace(/<!--[\s\S]*?-->/g, (c) => c.replace(/[^\n]/g, ''));
}

/** Draw one principle uniformly (CAI samples a principle per comparison). */
export function samplePrinciple(c: Constitution, rng: { nextFloat(): number }): Principle {
  const n = c.principles.length;
  if (n === 0) {
    return fail('E_CONSTITUTION_EMPTY', `${c.path}: no principles to sample from`, FORMAT_HINT);
  }
  const i = Math.min(n - 1, Math.floor(rng.nextFloat() * n));
  return c.principles[i];
}
