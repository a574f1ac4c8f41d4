// Download the files of a Hugging Face model repository that the engine reads (config, tokenizer,
// chat template, safetensors weights) into a plain folder, through `@huggingface/hub`:
//   1. pin the revision (branch, tag or commit) to a commit and list its files   (listing.ts)
//   2. choose the files and refuse a repository the engine cannot load           (select-files.ts)
//   3. lock the folder, then download each file, resumably and hash-checked      (lock.ts, download.ts)
//
// Guarantees: a file appears under its final name only once it is complete and its hash matches
// the listing; an interrupted file stays as `<name>.incomplete` and the next pull continues it;
// files already present are skipped. `.pull.json` records what was pulled, from where, and the hash
// of each file on disk (record.ts). Errors are PipelineErrors with codes E_PULL_* (http-errors.ts).

import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fail } from '../core/errors.js';
import { FetchState, wrapFetch, type HubModule, type HubRequest } from './client.js';
import { checkDiskSpace } from './disk-space.js';
import { alreadyPresent, downloadTo } from './download.js';
import { toPullError, type PullErrorContext } from './http-errors.js';
import { listRepo, type RepoListing, type WantedFile } from './listing.js';
import { LOCK_FILE, lockDir } from './lock.js';
import { readRecord, writeRecord, type PullRecord } from './record.js';
import { normalizeHubUrl, parseRepoId } from './repo-id.js';
import {
  checkPullable,
  estimateShardCount,
  readIndexShards,
  selectPullFiles,
} from './select-files.js';

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

/** What the steps of one pull share once the folder is locked. */
interface Pull {
  opts: PullOptions;
  hub: HubModule;
  request: HubRequest;
  /** The commit the revision resolved to, or the revision itself when the hub named none. */
  pinned: string;
  state: FetchState;
  /** Mutable: `file` names the file being fetched, for error messages. */
  ctx: PullErrorContext;
  record: PullRecord;
  result: PullResult;
}

function checkToken(token: string | undefined): string | undefined {
  const accessToken = token?.trim() || undefined;
  if (accessToken && !accessToken.startsWith('hf_'))
    fail(
      'E_PULL_TOKEN',
      'the access token does not look like a Hugging Face token (they start with "hf_")',
      'create a read token at https://huggingface.co/settings/tokens and put it in HF_TOKEN',
    );
  return accessToken;
}

/**
 * The output folder must be new, empty, or one that an earlier pull of the same repo made: pull
 * never overwrites files it did not write. Returns that earlier pull's record.
 */
function checkOutDir(outDir: string, repo: string): PullRecord | undefined {
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
  return previous;
}

/** Skip or download one file, then record it (the record is rewritten after every file). */
async function fetchOne(
  p: Pull,
  f: WantedFile,
  fileIndex: number,
  fileCount: number,
): Promise<void> {
  const { opts, ctx, record, result } = p;
  ctx.file = f.path;
  const final = join(opts.outDir, f.path);
  // Every event of this file carries its name, size and place in the pull.
  const report = (e: Omit<PullProgress, 'file' | 'fileIndex' | 'fileCount' | 'totalBytes'>) =>
    opts.onProgress?.({ file: f.path, totalBytes: f.size, fileIndex, fileCount, ...e });
  if (await alreadyPresent(final, f, record.files[f.path])) {
    result.skipped.push(f.path);
    report({ bytes: f.size, phase: 'skipped' });
  } else {
    result.bytes += await downloadTo({
      hub: p.hub,
      request: p.request,
      revision: p.pinned,
      file: f,
      final,
      report,
      state: p.state,
      ctx,
    });
    result.downloaded.push(f.path);
  }
  result.files.push(f.path);
  result.totalBytes += f.size;
  record.files[f.path] = { size: f.size, sha256: f.sha256, gitOid: f.gitOid };
  await writeRecord(opts.outDir, record);
  ctx.file = undefined;
}

/** The index first (it names the shards), then the small files, then the weights. */
async function fetchFiles(
  p: Pull,
  listing: WantedFile[],
  first: ReturnType<typeof selectPullFiles>,
): Promise<void> {
  const { outDir } = p.opts;
  const byName = new Map(listing.map((f) => [f.path, f]));
  let plan = first;
  let i = 0;
  if (plan.index) {
    const index = byName.get(plan.index)!;
    await checkDiskSpace(outDir, [index]);
    await fetchOne(p, index, i++, 1 + plan.side.length + estimateShardCount(listing));
    const shards = readIndexShards(join(outDir, plan.index), p.ctx.repo);
    const missing = shards.filter((s) => !byName.has(s));
    if (missing.length)
      fail(
        'E_PULL_BAD_INDEX',
        `${p.ctx.repo}@${p.ctx.revision}: ${plan.index} names shards the repository does not have: ` +
          missing.slice(0, 3).join(', '),
        'the repository is broken at this revision; try another --revision or tell its owners',
      );
    plan = selectPullFiles(listing, shards);
  }
  const rest = [...plan.side, ...plan.weights].map((n) => byName.get(n)!);
  await checkDiskSpace(outDir, rest);
  const count = i + rest.length;
  for (const f of rest) await fetchOne(p, f, i++, count);
}

/**
 * Download the engine's files of a Hugging Face model repository into `opts.outDir`.
 * Errors are PipelineErrors with codes E_PULL_* (see the hints for the fix).
 */
export async function pullModel(opts: PullOptions): Promise<PullResult> {
  const repo = parseRepoId(opts.repo).id;
  const revision = opts.revision?.trim() || 'main';
  const hubUrl = normalizeHubUrl(opts.hubUrl);
  const accessToken = checkToken(opts.accessToken);
  const outDir = opts.outDir;

  const hub: HubModule = await import('@huggingface/hub');
  const state = new FetchState();
  const fetchImpl = wrapFetch(opts.fetch ?? globalThis.fetch, state);
  const request: HubRequest = {
    repo: { type: 'model', name: repo },
    hubUrl,
    accessToken,
    fetch: fetchImpl,
  };
  const ctx: PullErrorContext = { repo, revision, hubUrl, hasToken: !!accessToken };
  const previous = checkOutDir(outDir, repo);

  let listing: RepoListing;
  try {
    listing = await listRepo(hub, request, revision);
  } catch (e) {
    toPullError(e, hub, state, ctx);
  }
  const { commit, files } = listing;
  const plan = selectPullFiles(files);
  checkPullable(files, plan, `${repo}@${revision}`);

  await mkdir(outDir, { recursive: true });
  const unlock = await lockDir(outDir);
  const p: Pull = {
    opts,
    hub,
    request,
    pinned: commit ?? revision,
    state,
    ctx,
    record: {
      repo,
      revision,
      commit,
      hubUrl,
      date: new Date().toISOString(),
      complete: false,
      files: { ...(previous?.files ?? {}) },
    },
    result: {
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
    },
  };
  try {
    await writeRecord(outDir, p.record);
    await fetchFiles(p, files, plan);
    if (!files.some((f) => f.path === 'tokenizer.json'))
      p.result.warnings.push(
        `${repo} has no tokenizer.json (only ${files.some((f) => f.path === 'tokenizer.model') ? 'tokenizer.model' : 'other tokenizer files'}); the engine reads tokenizer.json`,
      );
    p.record.complete = true;
    await writeRecord(outDir, p.record);
  } finally {
    await unlock();
  }
  return p.result;
}
