// Every file a run reads is pinned (issue 13). At a run's start each file the pipeline names —
// prompts, rubrics, constitutions, phrase lists, rule files, and the config/tokenizer files of
// every model and adapter folder — is hashed and stored; a resume compares, and refuses before
// any work when one changed, unless `--accept-changed <file>` says to go on (recorded who/when).
// Today's failure it prevents: an edited prompt file mixed 4 old and 4 new prompts into round 1.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PipelineError } from '../core/errors.js';
import { MODEL_SIDE_FILES } from '../core/model-files.js';
import type { PipelineSpec } from '../spec/schema.js';
import { fileRefs } from '../spec/validate/file-refs.js';
import type { Path } from '../spec/validate/problems.js';
import type { RunStore } from '../store/run-store.js';
import { who } from './who.js';

/** The files of a model or adapter folder that decide what it computes, short of the weights. */
const FOLDER_FILES = [
  ...MODEL_SIDE_FILES,
  'vocab.json',
  'merges.txt',
  'adapter_config.json',
  'adapter_model.safetensors',
];

export interface InputFile {
  path: string;
  ref: string;
  contentHash: string;
}

function keyOf(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('');
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** The files the pipeline reads now, with their hashes (a file named twice is listed once). */
export function currentInputs(spec: PipelineSpec, baseDir: string): InputFile[] {
  const out = new Map<string, InputFile>();
  const add = (path: string, ref: string) => {
    if (!out.has(path)) out.set(path, { path, ref, contentHash: sha256(path) });
  };
  // the parsed spec keeps the raw file's shape where files are named, so the one list of
  // references (file-refs.ts) serves here too
  for (const r of fileRefs(spec)) {
    if (r.value.includes(':') && !isAbsolute(r.value)) continue; // builtin:, hf: — no local file
    const abs = resolve(baseDir, r.value);
    if (!existsSync(abs)) continue;
    if (r.kind === 'file' || !statSync(abs).isDirectory()) add(abs, keyOf(r.path));
    else
      for (const f of FOLDER_FILES)
        if (existsSync(join(abs, f))) add(join(abs, f), `${keyOf(r.path)}: ${f}`);
  }
  return [...out.values()].sort((a, b) => a.path.localeCompare(b.path));
}

function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

const short = (h: string) => h.slice(0, 12);

/** Does an `--accept-changed` value name this pinned file (or a folder holding it)? */
function names(arg: string, path: string, baseDir: string): boolean {
  return [resolve(arg), resolve(baseDir, arg)].some((a) => a === path || path.startsWith(a + sep));
}

export interface PinOptions {
  runId: string;
  file: string;
  baseDir: string;
  /** Files (or folders) named by `--accept-changed`. */
  accept?: readonly string[];
}

/**
 * A new run pins its inputs; a resume checks them against the pins. Throws E_RESUME_INPUT_CHANGED
 * (nothing written) when a changed file is not accepted, E_USAGE when an accepted path is not
 * one of the run's inputs.
 */
export function checkInputs(store: RunStore, now: InputFile[], o: PinOptions): void {
  const accept = o.accept ?? [];
  const pinned = new Map(store.pinnedInputs().map((p) => [p.path, p]));
  for (const a of accept)
    if (![...pinned.keys(), ...now.map((f) => f.path)].some((p) => names(a, p, o.baseDir)))
      throw new PipelineError({
        code: 'E_USAGE',
        exitCode: 2, // a usage error, as the CLI's own
        message: `--accept-changed ${a}: not a file run ${o.runId} reads`,
        hint: `its inputs: ${[...pinned.keys()].map(shown).join(', ') || '(none pinned)'}`,
      });
  const changed = now.filter((f) => {
    const p = pinned.get(f.path);
    return p !== undefined && p.contentHash !== f.contentHash;
  });
  const refused = changed.filter((f) => !accept.some((a) => names(a, f.path, o.baseDir)));
  if (refused.length) {
    const lines = refused.map(
      (f) =>
        `  ${shown(f.path)} (${f.ref}): ${short(pinned.get(f.path)!.contentHash)} -> ${short(f.contentHash)}`,
    );
    const flags = refused.map((f) => `--accept-changed ${shown(f.path)}`).join(' ');
    throw new PipelineError({
      code: 'E_RESUME_INPUT_CHANGED',
      message: `${refused.length === 1 ? 'a file' : `${refused.length} files`} run ${o.runId} read changed since it started; resuming would mix two versions:\n${lines.join('\n')}`,
      hint:
        `restore the file${refused.length === 1 ? '' : 's'} as ${refused.length === 1 ? 'it was' : 'they were'}, start a new run (\`pipeline run ${o.file}\`), ` +
        `or go on with the new version (recorded in the run): \`pipeline run ${o.file} --resume ${o.runId} ${flags}\``,
    });
  }
  const by = who();
  for (const f of changed)
    store.acceptChangedInput({
      path: f.path,
      oldHash: pinned.get(f.path)!.contentHash,
      newHash: f.contentHash,
      by,
    });
  store.pinInputs(now);
}
