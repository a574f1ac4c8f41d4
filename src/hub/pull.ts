// Download the files of a Hugging Face model repository that the engine reads (config, tokenizer,
// chat template, safetensors weights) into a plain folder, through `@huggingface/hub`.
//
// How it talks to the hub (all through the library, with our `fetch` wrapped to see statuses):
//   1. modelInfo(..., additionalFields: ['sha'])  GET  /api/models/{repo}/revision/{rev}
//      pins the revision (branch, tag or commit) to a commit sha;
//   2. listFiles(revision: sha)                    GET  /api/models/{repo}/tree/{sha}  (paged)
//      gives name, size and hash of every top-level file;
//   3. downloadFile(revision: sha, xet: false)     GET  /{repo}/resolve/{sha}/{path}  (Range probe,
//      then the whole file or the missing tail; the hub redirects large files to its CDN).
//
// Guarantees: a file appears under its final name only once it is complete and its hash matches
// the listing (sha256 for LFS/xet files, git blob sha1 for the others); an interrupted file stays
// as `<name>.incomplete` and the next pull continues it; files already present are skipped.
// `.pull.json` records what was pulled, from where, and the hash of each file on disk.

import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { link, mkdir, open, readFile, rename, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ListFileEntry } from '@huggingface/hub';
import { PipelineError, fail, isPipelineError } from '../core/errors.js';

export const DEFAULT_HUB_URL = 'https://huggingface.co';
export const PULL_RECORD_FILE = '.pull.json';
const LOCK_FILE = '.pull.lock';
const PARTIAL_SUFFIX = '.incomplete';

/** Files besides the weights that the engine reads from a model folder. */
export const PULL_SIDE_FILES: readonly string[] = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
];
export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

export interface PullProgress {
  /** File name inside the repository (and the output folder). */
  file: string;
  /** Bytes of this file on disk so far (a resumed file starts at its partial size). */
  bytes: number;
  /** Size of the file, when known. */
  totalBytes?: number;
  /** 0-based position of this file in the pull, and how many files the pull has. */
  fileIndex: number;
  fileCount: number;
  /** `downloading`: more bytes arrived; `done`: the file is complete under its final name;
   *  `skipped`: it was already present with the right size and hash. */
  phase: 'downloading' | 'done' | 'skipped';
  /** Bytes a `downloading`/`done` file resumed from (0 when it started from scratch). */
  resumedFrom?: number;
}

export interface PullOptions {
  /** `owner/name` or `name` (an optional `hf:` prefix is accepted). */
  repo: string;
  /** Branch, tag or commit; default `main`. */
  revision?: string;
  /** Hub base URL; default https://huggingface.co. */
  hubUrl?: string;
  /** Folder to write the model into (created if needed). */
  outDir: string;
  /** Hugging Face token (`hf_...`) for gated or private repositories. */
  accessToken?: string;
  onProgress?: (e: PullProgress) => void;
  /** Custom fetch (proxies, tests). */
  fetch?: typeof fetch;
}

export interface PullResult {
  outDir: string;
  /** Every model file now in `outDir` (downloaded or already there), in pull order. */
  files: string[];
  /** Bytes downloaded by this call. */
  bytes: number;
  /** Size of all `files` together. */
  totalBytes: number;
  /** Files fetched by this call / files that were already present. */
  downloaded: string[];
  skipped: string[];
  repo: string;
  revision: string;
  /** Commit sha the revision resolved to, when the hub reported it. */
  commit?: string;
  hubUrl: string;
  /** Things the engine may miss (e.g. no tokenizer.json). */
  warnings: string[];
}

/** What `.pull.json` holds. */
export interface PullRecord {
  repo: string;
  revision: string;
  commit?: string;
  hubUrl: string;
  /** ISO date of the last update. */
  date: string;
  /** false while a pull is in progress or was interrupted. */
  complete: boolean;
  /** Files on disk with the hash the hub listed for them. */
  files: Record<string, { size: number; sha256?: string; gitOid?: string }>;
}

interface WantedFile {
  path: string;
  size: number;
  /** sha256 of the content (LFS / xet files). */
  sha256?: string;
  /** git blob sha1 (regular git files). */
  gitOid?: string;
}

type HubModule = typeof import('@huggingface/hub');

// HF's own rule (huggingface_hub validate_repo_id): word chars, '-', '.', at most 96, no '--'/'..'.
const REPO_PART = /^[A-Za-z0-9](?:[\w.-]{0,94}[A-Za-z0-9_])?$/;
const REPO_TYPE_PREFIXES = ['datasets', 'spaces', 'models', 'model', 'buckets', 'kernels'];

/** Check a repo id and split it; throws E_PULL_REPO_ID. */
export function parseRepoId(input: string): { id: string; owner?: string; name: string } {
  const raw = input.trim().replace(/^hf:/, '');
  const bad = (why: string): never => {
    throw new PipelineError({
      code: 'E_PULL_REPO_ID',
      message: `invalid repository id '${input}': ${why}`,
      hint: 'give a Hugging Face model id as owner/name or name, e.g. HuggingFaceTB/SmolLM2-135M-Instruct',
      exitCode: 2,
    });
  };
  if (raw === '') bad('it is empty');
  if (/^https?:\/\//i.test(raw)) bad('that is a URL, not a repository id');
  const parts = raw.split('/');
  if (parts.length > 2) bad('expected at most one "/" (owner/name)');
  if (parts.length === 2 && REPO_TYPE_PREFIXES.includes(parts[0]))
    bad(`'${parts[0]}/' repositories are not models; pull only downloads model repositories`);
  for (const p of parts) {
    if (!REPO_PART.test(p))
      bad(`'${p}' must be 1-96 letters, digits, '-', '_' or '.', starting with a letter or digit`);
    if (p.includes('--') || p.includes('..')) bad(`'${p}' must not contain '--' or '..'`);
  }
  if (raw.endsWith('.git')) bad("it must not end with '.git'");
  return parts.length === 2
    ? { id: raw, owner: parts[0], name: parts[1] }
    : { id: raw, name: parts[0] };
}

/** Default output folder of a pull: `models/<name part of the repo id>`. */
export function defaultPullDir(repo: string): string {
  return join('models', parseRepoId(repo).name);
}

/** Normalise and check a hub base URL (http or https, no trailing slash). */
export function normalizeHubUrl(url: string | undefined): string {
  const u = (url ?? DEFAULT_HUB_URL).trim();
  let parsed: URL;
  try {
    parsed = new URL(u);
  } catch {
    throw new PipelineError({
      code: 'E_PULL_HUB_URL',
      message: `invalid hub URL '${u}'`,
      hint: `give an http(s) URL such as ${DEFAULT_HUB_URL} or a mirror's address`,
      exitCode: 2,
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new PipelineError({
      code: 'E_PULL_HUB_URL',
      message: `invalid hub URL '${u}': expected http:// or https://`,
      hint: `give an http(s) URL such as ${DEFAULT_HUB_URL}`,
      exitCode: 2,
    });
  return u.replace(/\/+$/, '');
}

/** Which files of a repository listing to download (top-level files only). */
export function selectPullFiles(
  listing: readonly { path: string }[],
  indexShards?: readonly string[],
): { side: string[]; index?: string; weights: string[] } {
  const names = new Set(listing.map((f) => f.path));
  const side = PULL_SIDE_FILES.filter((f) => names.has(f));
  const all = [...names].filter((n) => /^[^/]+\.safetensors$/.test(n)).sort();
  if (names.has(SAFETENSORS_INDEX)) {
    return { side, index: SAFETENSORS_INDEX, weights: indexShards ? [...indexShards] : [] };
  }
  // Without an index the weights are one file; a lone model.safetensors wins over extra exports
  // (e.g. Mistral's consolidated.safetensors).
  const weights = names.has('model.safetensors') ? ['model.safetensors'] : all;
  return { side, weights };
}

class FetchState {
  lastHttp?: { status: number; errorCode?: string; errorMessage?: string; url: string };
  lastNetwork?: unknown;
}

function wrapFetch(base: typeof fetch, state: FetchState): typeof fetch {
  return async (input, init) => {
    try {
      const res = await base(input, init);
      if (!res.ok)
        state.lastHttp = {
          status: res.status,
          errorCode: res.headers.get('x-error-code') ?? undefined,
          errorMessage: res.headers.get('x-error-message') ?? undefined,
          url: res.url || String(input instanceof Request ? input.url : input),
        };
      return res;
    } catch (e) {
      state.lastNetwork = e;
      throw e;
    }
  };
}

interface ErrContext {
  repo: string;
  revision: string;
  hubUrl: string;
  hasToken: boolean;
  file?: string;
}

function networkCause(e: unknown): string {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur; i++) {
    const c = cur as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof c.code === 'string') return c.code;
    if (!c.cause) return typeof c.message === 'string' ? c.message : String(cur);
    cur = c.cause;
  }
  return String(e);
}

function httpError(
  status: number,
  errorCode: string | undefined,
  detail: string | undefined,
  ctx: ErrContext,
  cause: unknown,
): PipelineError {
  const where = ctx.file ? `${ctx.repo}/${ctx.file}` : ctx.repo;
  const page = `${ctx.hubUrl}/${ctx.repo}`;
  const tokenHint = ctx.hasToken
    ? `check that the token is valid and has read access; for a gated model accept its conditions on ${page} with the same account`
    : `set HF_TOKEN to a Hugging Face token with read access (or pass --token-env NAME); for a gated model first accept its conditions on ${page}`;
  const info = (code: string, message: string, hint: string): PipelineError =>
    new PipelineError({ code, message, hint }, { cause });
  if (errorCode === 'RevisionNotFound' || (status === 404 && /revision|rev id/i.test(detail ?? '')))
    return info(
      'E_PULL_REVISION_NOT_FOUND',
      `revision '${ctx.revision}' not found in ${ctx.repo} on ${ctx.hubUrl}`,
      `check the branch, tag or commit on ${page}/tree/main, or leave out --revision to get main`,
    );
  if (errorCode === 'EntryNotFound')
    return info(
      'E_PULL_FILE_NOT_FOUND',
      `${where}: file not found at revision '${ctx.revision}'`,
      'the repository changed while pulling; run the pull again',
    );
  if (errorCode === 'RepoNotFound' || (status === 404 && !ctx.file))
    return info(
      'E_PULL_NOT_FOUND',
      `model repository '${ctx.repo}' not found on ${ctx.hubUrl}` +
        (status === 401 ? ' (or it is private and needs a token)' : ''),
      `check the id (owner/name, as on ${ctx.hubUrl}/models)` +
        (ctx.hasToken ? '' : '; a private repository also needs HF_TOKEN'),
    );
  if (status === 401 || status === 403 || errorCode === 'GatedRepo')
    return info(
      'E_PULL_AUTH',
      `${where}: the hub refused access (HTTP ${status}` +
        (errorCode === 'GatedRepo' ? ', gated model' : '') +
        (ctx.hasToken ? '' : '; no token was given') +
        `)${detail ? `: ${detail}` : ''}`,
      tokenHint,
    );
  if (status === 404)
    return info(
      'E_PULL_FILE_NOT_FOUND',
      `${where}: not found (HTTP 404) at revision '${ctx.revision}'`,
      'the repository changed while pulling; run the pull again',
    );
  if (status === 429)
    return info(
      'E_PULL_RATE_LIMITED',
      `${where}: the hub is rate-limiting requests (HTTP 429)`,
      'wait a few minutes and run the pull again (finished files are kept); a token raises the limit',
    );
  return info(
    'E_PULL_HTTP',
    `${where}: the hub answered HTTP ${status}${detail ? `: ${detail}` : ''}`,
    'try again later (finished and partial files are kept and resumed), or use --hub-url for a mirror',
  );
}

/** Turn anything thrown while talking to the hub into a PipelineError. */
function toPullError(e: unknown, hub: HubModule, state: FetchState, ctx: ErrContext): never {
  if (isPipelineError(e)) throw e;
  if (e instanceof hub.HubApiError) {
    const last = state.lastHttp;
    const same = last && last.status === e.statusCode;
    const detail = (e.data as { error?: unknown } | undefined)?.error;
    throw httpError(
      e.statusCode,
      same ? last.errorCode : undefined,
      typeof detail === 'string' ? detail : same ? last.errorMessage : undefined,
      ctx,
      e,
    );
  }
  // WebBlob.stream() aborts with the error's message (a string): use what the fetch wrapper saw.
  if (typeof e === 'string' && state.lastHttp && e.includes(String(state.lastHttp.status)))
    throw httpError(state.lastHttp.status, state.lastHttp.errorCode, undefined, ctx, e);
  if (state.lastNetwork !== undefined || (e instanceof TypeError && e.message === 'fetch failed'))
    throw new PipelineError(
      {
        code: 'E_PULL_NETWORK',
        message:
          `cannot reach the hub at ${ctx.hubUrl}` +
          (ctx.file ? ` while downloading ${ctx.file}` : '') +
          `: ${networkCause(state.lastNetwork ?? e)}`,
        hint:
          'check the network connection, or point --hub-url (or HF_ENDPOINT) at a reachable hub or ' +
          'mirror; offline, copy a downloaded model folder into models/ and use it by path' +
          (ctx.file ? '; run the pull again to resume' : ''),
      },
      { cause: e },
    );
  if (e instanceof hub.InvalidApiResponseFormatError)
    throw new PipelineError(
      {
        code: 'E_PULL_BAD_RESPONSE',
        message: `${ctx.hubUrl} does not answer like a Hugging Face hub${ctx.file ? ` (${ctx.file})` : ''}: ${e.message}`,
        hint: 'check --hub-url: it must be the hub (or a mirror) base URL, e.g. https://huggingface.co',
      },
      { cause: e },
    );
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOSPC')
    throw new PipelineError(
      {
        code: 'E_PULL_DISK_FULL',
        message: `no space left on the device while writing ${ctx.file ?? 'the model'}`,
        hint: 'free some disk space or pull into another folder with --out; the partial file is resumed next time',
      },
      { cause: e },
    );
  if (typeof e === 'string' || (e instanceof TypeError && /terminated|aborted/i.test(e.message)))
    throw new PipelineError(
      {
        code: 'E_PULL_INTERRUPTED',
        message: `download of ${ctx.file ?? ctx.repo} was interrupted: ${typeof e === 'string' ? e : networkCause(e)}`,
        hint: 'run the same pull again: it resumes from the partial file',
      },
      { cause: e },
    );
  throw e;
}

function readRecord(outDir: string): PullRecord | undefined {
  const p = join(outDir, PULL_RECORD_FILE);
  if (!existsSync(p)) return undefined;
  try {
    const r = JSON.parse(readFileSync(p, 'utf8')) as PullRecord;
    if (typeof r.repo === 'string' && r.files && typeof r.files === 'object') return r;
  } catch {
    // fall through
  }
  return fail(
    'E_PULL_RECORD',
    `${p}: unreadable pull record`,
    `delete ${p} (the files are re-checked by size and hash on the next pull) or pull into another --out folder`,
  );
}

async function writeRecord(outDir: string, record: PullRecord): Promise<void> {
  const p = join(outDir, PULL_RECORD_FILE);
  const tmp = `${p}.${process.pid}.tmp`;
  await writeFile(
    tmp,
    JSON.stringify({ ...record, date: new Date().toISOString() }, null, 2) + '\n',
  );
  await rename(tmp, p);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One pull per folder at a time; a lock left by a dead process is taken over. */
async function lockDir(outDir: string): Promise<() => Promise<void>> {
  const p = join(outDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    // Write the pid beside the lock, then link it into place: the lock never exists half-written.
    const tmp = `${p}.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      await writeFile(tmp, String(process.pid));
      await link(tmp, p);
      return () => rm(p, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(p, 'utf8').trim());
      // Our own pid means another pull in this process: a lock is always released in `finally`.
      if (Number.isInteger(pid) && pid > 0 && (pid === process.pid || processAlive(pid)))
        fail(
          'E_PULL_LOCKED',
          `${outDir} is being written by another pull (process ${pid})`,
          `wait for it to finish, or pull into another --out folder; if no pull is running, delete ${p}`,
        );
      await rm(p, { force: true });
    } finally {
      await rm(tmp, { force: true });
    }
  }
  return fail('E_PULL_LOCKED', `cannot lock ${outDir}`, `delete ${p} and try again`);
}

function newHasher(f: WantedFile): Hash | undefined {
  if (f.sha256) return createHash('sha256');
  if (f.gitOid) {
    const h = createHash('sha1');
    h.update(`blob ${f.size}\0`);
    return h;
  }
  return undefined;
}

function expectedHash(f: WantedFile): string | undefined {
  return f.sha256 ?? f.gitOid;
}

async function hashFile(path: string, h: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
}

/** True when `path` holds the wanted file (size, and hash where it is cheap or recorded). */
async function alreadyPresent(
  path: string,
  f: WantedFile,
  recorded: PullRecord['files'][string] | undefined,
): Promise<boolean> {
  let st;
  try {
    st = statSync(path);
  } catch {
    return false;
  }
  if (!st.isFile() || st.size !== f.size) return false;
  if (recorded) {
    if (f.sha256 && recorded.sha256 && recorded.sha256 !== f.sha256) return false;
    if (f.gitOid && recorded.gitOid && recorded.gitOid !== f.gitOid) return false;
  }
  // Regular git files are small (configs, tokenizers): check their hash; weights are trusted by
  // size and the recorded hash, since re-hashing gigabytes on every pull is slow.
  if (!f.sha256 && f.gitOid) {
    const h = newHasher(f)!;
    await hashFile(path, h);
    return h.digest('hex') === f.gitOid;
  }
  return true;
}

function toWanted(e: ListFileEntry): WantedFile {
  return {
    path: e.path,
    size: e.lfs?.size ?? e.size,
    sha256: e.lfs?.oid,
    gitOid: e.lfs ? undefined : e.oid,
  };
}

/**
 * Download the engine's files of a Hugging Face model repository into `opts.outDir`.
 * Errors are PipelineErrors with codes E_PULL_* (see the hints for the fix).
 */
export async function pullModel(opts: PullOptions): Promise<PullResult> {
  const repo = parseRepoId(opts.repo).id;
  const revision = opts.revision?.trim() || 'main';
  const hubUrl = normalizeHubUrl(opts.hubUrl);
  const accessToken = opts.accessToken?.trim() || undefined;
  if (accessToken && !accessToken.startsWith('hf_'))
    fail(
      'E_PULL_TOKEN',
      'the access token does not look like a Hugging Face token (they start with "hf_")',
      'create a read token at https://huggingface.co/settings/tokens and put it in HF_TOKEN',
    );
  const outDir = opts.outDir;

  const hub: HubModule = await import('@huggingface/hub');
  const state = new FetchState();
  const fetchImpl = wrapFetch(opts.fetch ?? globalThis.fetch, state);
  const repoDesignation = { type: 'model' as const, name: repo };
  const common = { repo: repoDesignation, hubUrl, accessToken, fetch: fetchImpl };
  const ctx: ErrContext = { repo, revision, hubUrl, hasToken: !!accessToken };

  // The output folder must be new, empty, or one that an earlier pull of the same repo made.
  const previous = existsSync(outDir) ? readRecord(outDir) : undefined;
  if (existsSync(outDir)) {
    if (!statSync(outDir).isDirectory())
      fail('E_PULL_OUT_DIR', `${outDir} exists and is not a folder`, 'choose another --out path');
    if (previous && previous.repo !== repo)
      fail(
        'E_PULL_OUT_DIR',
        `${outDir} already holds a pull of ${previous.repo}, not ${repo}`,
        'choose another folder with --out',
      );
    if (!previous && readdirSync(outDir).some((n) => n !== LOCK_FILE))
      fail(
        'E_PULL_OUT_DIR',
        `${outDir} is not empty and was not made by \`pipeline pull\``,
        'choose another folder with --out, or empty this one; pull never overwrites files it did not write',
      );
  }

  // 1. Resolve the revision to a commit, 2. list the top-level files at that commit.
  let commit: string | undefined;
  let listing: WantedFile[];
  try {
    const info = await hub.modelInfo({
      ...common,
      name: repo,
      revision,
      additionalFields: ['sha'],
    });
    commit = typeof info.sha === 'string' && info.sha ? info.sha : undefined;
    listing = [];
    for await (const e of hub.listFiles({
      ...common,
      revision: commit ?? encodeURIComponent(revision),
    }))
      if (e.type === 'file') listing.push(toWanted(e));
  } catch (e) {
    toPullError(e, hub, state, ctx);
  }
  const pinned = commit ?? revision;
  const byName = new Map(listing.map((f) => [f.path, f]));

  // 3. Choose the files; check that the engine can use the repository before downloading.
  let plan = selectPullFiles(listing);
  if (!byName.has('config.json'))
    fail(
      'E_PULL_NOT_A_MODEL',
      `${repo}@${revision} has no config.json` +
        (byName.has('adapter_config.json') ? ': it is a PEFT adapter, not a full model' : ''),
      byName.has('adapter_config.json')
        ? 'pull the base model named in its adapter_config.json, and load the adapter separately'
        : 'pick a Hugging Face transformers model repository (one with config.json and *.safetensors)',
    );
  if (!plan.index && plan.weights.length === 0) {
    const other = listing
      .map((f) => f.path)
      .filter((n) => /\.(bin|pt|pth|ckpt|gguf|onnx|h5|msgpack)$/i.test(n));
    fail(
      'E_PULL_NO_SAFETENSORS',
      `${repo}@${revision} has no .safetensors weights` +
        (other.length
          ? ` (only ${other.slice(0, 4).join(', ')}${other.length > 4 ? ', ...' : ''})`
          : ''),
      'the engine reads only safetensors: pick a repository that has them (many have a ' +
        '"refs/pr/N" revision with a safetensors conversion: try --revision), or convert the ' +
        'weights with transformers save_pretrained(..., safe_serialization=True)',
    );
  }

  await mkdir(outDir, { recursive: true });
  const unlock = await lockDir(outDir);
  const record: PullRecord = {
    repo,
    revision,
    commit,
    hubUrl,
    date: new Date().toISOString(),
    complete: false,
    files: { ...(previous?.files ?? {}) },
  };
  const result: PullResult = {
    outDir,
    files: [],
    bytes: 0,
    totalBytes: 0,
    downloaded: [],
    skipped: [],
    repo,
    revision,
    commit,
    hubUrl,
    warnings: [],
  };
  try {
    await writeRecord(outDir, record);

    const fetchOne = async (f: WantedFile, fileIndex: number, fileCount: number): Promise<void> => {
      ctx.file = f.path;
      const final = join(outDir, f.path);
      const report = (e: Omit<PullProgress, 'file' | 'fileIndex' | 'fileCount' | 'totalBytes'>) =>
        opts.onProgress?.({ file: f.path, totalBytes: f.size, fileIndex, fileCount, ...e });
      if (await alreadyPresent(final, f, record.files[f.path])) {
        result.skipped.push(f.path);
        report({ bytes: f.size, phase: 'skipped' });
      } else {
        result.bytes += await downloadTo(hub, common, pinned, f, final, report, state, ctx);
        result.downloaded.push(f.path);
      }
      result.files.push(f.path);
      result.totalBytes += f.size;
      record.files[f.path] = { size: f.size, sha256: f.sha256, gitOid: f.gitOid };
      await writeRecord(outDir, record);
      ctx.file = undefined;
    };

    // The index first (it names the shards), then the small files, then the weights.
    let i = 0;
    if (plan.index) {
      const index = byName.get(plan.index)!;
      await checkDiskSpace(outDir, [index]);
      await fetchOne(index, i++, 1 + plan.side.length + estimateShardCount(listing));
      const shards = readIndexShards(join(outDir, plan.index), repo);
      const missing = shards.filter((s) => !byName.has(s));
      if (missing.length)
        fail(
          'E_PULL_BAD_INDEX',
          `${repo}@${revision}: ${plan.index} names shards the repository does not have: ` +
            missing.slice(0, 3).join(', '),
          'the repository is broken at this revision; try another --revision or tell its owners',
        );
      plan = selectPullFiles(listing, shards);
    }
    const rest = [...plan.side, ...plan.weights].map((n) => byName.get(n)!);
    await checkDiskSpace(outDir, rest);
    const count = i + rest.length;
    for (const f of rest) await fetchOne(f, i++, count);

    if (!byName.has('tokenizer.json'))
      result.warnings.push(
        `${repo} has no tokenizer.json (only ${listing.some((f) => f.path === 'tokenizer.model') ? 'tokenizer.model' : 'other tokenizer files'}); the engine reads tokenizer.json`,
      );
    record.complete = true;
    await writeRecord(outDir, record);
  } finally {
    await unlock();
  }
  return result;
}

/** Shards named like model-00001-of-00002.safetensors (a first guess before the index is read). */
function estimateShardCount(listing: WantedFile[]): number {
  return listing.filter((f) => /^model-\d+-of-\d+\.safetensors$/.test(f.path)).length;
}

/** Fail early when the files to fetch cannot fit on the disk. */
async function checkDiskSpace(outDir: string, files: WantedFile[]): Promise<void> {
  let need = 0;
  for (const f of files) {
    const p = join(outDir, f.path);
    if (existsSync(p) && statSync(p).size === f.size) continue;
    const partial = p + PARTIAL_SUFFIX;
    need += f.size - (existsSync(partial) ? Math.min(statSync(partial).size, f.size) : 0);
  }
  let free: number;
  try {
    const s = await statfs(outDir);
    free = s.bavail * s.bsize;
  } catch {
    return; // unknown: let the writes find out
  }
  if (need > free)
    fail(
      'E_PULL_DISK_FULL',
      `${outDir}: the model needs ${formatBytes(need)} more but only ${formatBytes(free)} is free`,
      'free some disk space or pull into another folder with --out',
    );
}

function readIndexShards(path: string, repo: string): string[] {
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return fail(
      'E_PULL_BAD_INDEX',
      `${path}: not valid JSON (${(e as Error).message})`,
      `the file in ${repo} is broken; delete ${path} and pull again, or try another --revision`,
    );
  }
  const map = (j as { weight_map?: unknown })?.weight_map;
  if (!map || typeof map !== 'object')
    fail(
      'E_PULL_BAD_INDEX',
      `${path}: no "weight_map" object`,
      `the file in ${repo} is not a safetensors index; try another --revision`,
    );
  const shards = [...new Set(Object.values(map as Record<string, unknown>))];
  for (const s of shards)
    if (typeof s !== 'string' || !/^[^/\\]+\.safetensors$/.test(s) || s.startsWith('.'))
      fail(
        'E_PULL_BAD_INDEX',
        `${path}: weight_map names '${String(s)}', which is not a top-level .safetensors file`,
        `the file in ${repo} is not usable by this tool; try another --revision`,
      );
  return (shards as string[]).sort();
}

/**
 * Download one file to `<final>.incomplete` (continuing a partial one when possible), verify size
 * and hash, then rename it to `final`. Returns the bytes fetched.
 */
async function downloadTo(
  hub: HubModule,
  common: {
    repo: { type: 'model'; name: string };
    hubUrl: string;
    accessToken?: string;
    fetch: typeof fetch;
  },
  revision: string,
  f: WantedFile,
  final: string,
  report: (e: { bytes: number; phase: PullProgress['phase']; resumedFrom?: number }) => void,
  state: FetchState,
  ctx: ErrContext,
): Promise<number> {
  const partial = final + PARTIAL_SUFFIX;
  let fetched = 0;
  for (let attempt = 0; ; attempt++) {
    let start = 0;
    let hasher = newHasher(f);
    if (existsSync(partial)) {
      const size = statSync(partial).size;
      if (attempt === 0 && size > 0 && size < f.size) {
        if (hasher) await hashFile(partial, hasher);
        start = size;
      } else {
        await rm(partial, { force: true });
        hasher = newHasher(f);
      }
    }

    let received = 0;
    let overflow = false;
    try {
      state.lastHttp = undefined;
      state.lastNetwork = undefined;
      const blob = await hub.downloadFile({ ...common, path: f.path, revision, xet: false });
      if (!blob)
        fail(
          'E_PULL_FILE_NOT_FOUND',
          `${ctx.repo}/${f.path}: listed by the hub but not downloadable at ${revision}`,
          'the repository changed while pulling; run the pull again',
        );
      if (blob.size !== f.size)
        fail(
          'E_PULL_SIZE_MISMATCH',
          `${ctx.repo}/${f.path}: the hub lists ${f.size} bytes but serves ${blob.size}`,
          'the repository changed while pulling, or --hub-url is a mirror serving other files; run the pull again',
        );
      const body = (start > 0 ? blob.slice(start) : blob).stream();
      const fh = await open(partial, start > 0 ? 'a' : 'w');
      try {
        report({ bytes: start, phase: 'downloading', resumedFrom: start });
        for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
          if (start + received + chunk.byteLength > f.size) {
            overflow = true; // the server ignored our Range request: start over
            break;
          }
          hasher?.update(chunk);
          await fh.write(chunk);
          received += chunk.byteLength;
          report({ bytes: start + received, phase: 'downloading', resumedFrom: start });
        }
      } finally {
        await fh.close();
      }
    } catch (e) {
      fetched += received;
      toPullError(e, hub, state, ctx);
    }
    fetched += received;
    if (overflow) {
      if (attempt === 0 && start > 0) continue;
      await rm(partial, { force: true });
      fail(
        'E_PULL_SIZE_MISMATCH',
        `${ctx.repo}/${f.path}: the hub sent more than the ${f.size} bytes it listed`,
        'run the pull again; if it persists, the hub or mirror at --hub-url is serving other files',
      );
    }
    if (start + received < f.size)
      fail(
        'E_PULL_INTERRUPTED',
        `download of ${f.path} ended early at ${start + received} of ${f.size} bytes`,
        'run the same pull again: it resumes from the partial file',
      );
    const want = expectedHash(f);
    if (hasher && want && hasher.digest('hex') !== want) {
      await rm(partial, { force: true });
      if (attempt === 0 && start > 0) continue; // the partial file was stale or damaged
      fail(
        'E_PULL_CHECKSUM',
        `${ctx.repo}/${f.path}: downloaded content does not match the hub's hash ${want}`,
        'run the pull again; if it persists, the hub or mirror at --hub-url is serving other files',
      );
    }
    await rename(partial, final);
    report({ bytes: f.size, phase: 'done', resumedFrom: start });
    return fetched;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** Read `.pull.json` of a folder, if a pull made it. */
export async function readPullRecord(outDir: string): Promise<PullRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(outDir, PULL_RECORD_FILE), 'utf8')) as PullRecord;
  } catch {
    return undefined;
  }
}
