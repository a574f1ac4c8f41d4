// One file, downloaded so that it appears under its final name only once it is complete and its
// hash matches the listing (sha256 for LFS/xet files, git blob sha1 for the others). Until then it
// is `<name>.incomplete`, and the next pull continues it with a Range request:
//   downloadFile(revision: sha, xet: false)  GET /{repo}/resolve/{sha}/{path}  (Range probe, then
//   the whole file or the missing tail; the hub redirects large files to its CDN).

import { createHash, type Hash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { fail } from '../core/errors.js';
import type { FetchState, HubModule, HubRequest } from './client.js';
import { toPullError, type PullErrorContext } from './http-errors.js';
import type { WantedFile } from './listing.js';

export const PARTIAL_SUFFIX = '.incomplete';

/** Progress of one download: bytes on disk so far, and the offset it resumed from. */
export type DownloadReport = (e: {
  bytes: number;
  phase: 'downloading' | 'done';
  resumedFrom?: number;
}) => void;

/** Everything one download needs; `revision` is the pinned commit (or the revision asked for). */
export interface DownloadJob {
  hub: HubModule;
  request: HubRequest;
  revision: string;
  file: WantedFile;
  /** Path of the finished file. */
  final: string;
  report: DownloadReport;
  state: FetchState;
  ctx: PullErrorContext;
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
export async function alreadyPresent(
  path: string,
  f: WantedFile,
  recorded: { sha256?: string; gitOid?: string } | undefined,
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

/**
 * Where this attempt starts: the first attempt continues a partial file shorter than the whole
 * (its bytes fed to the hasher); anything else starts from zero on a removed partial file.
 */
async function resumePoint(
  partial: string,
  f: WantedFile,
  attempt: number,
): Promise<{ start: number; hasher: Hash | undefined }> {
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
  return { start, hasher };
}

/**
 * Append the file's bytes from `start` to the partial file, hashing them as they come. `overflow`:
 * the server sent more than the listed size (it ignored our Range request).
 */
async function streamToPartial(
  job: DownloadJob,
  partial: string,
  start: number,
  hasher: Hash | undefined,
): Promise<{ received: number; overflow: boolean }> {
  const { hub, state, ctx, file: f, revision } = job;
  let received = 0;
  let overflow = false;
  try {
    state.lastHttp = undefined;
    state.lastNetwork = undefined;
    const blob = await hub.downloadFile({ ...job.request, path: f.path, revision, xet: false });
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
      job.report({ bytes: start, phase: 'downloading', resumedFrom: start });
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        if (start + received + chunk.byteLength > f.size) {
          overflow = true; // the server ignored our Range request: start over
          break;
        }
        hasher?.update(chunk);
        await fh.write(chunk);
        received += chunk.byteLength;
        job.report({ bytes: start + received, phase: 'downloading', resumedFrom: start });
      }
    } finally {
      await fh.close();
    }
  } catch (e) {
    toPullError(e, hub, state, ctx);
  }
  return { received, overflow };
}

/**
 * Download one file to `<final>.incomplete` (continuing a partial one when possible), verify size
 * and hash, then rename it to `final`. A resumed attempt that overflows or fails its hash gets one
 * more try from zero. Returns the bytes fetched.
 */
export async function downloadTo(job: DownloadJob): Promise<number> {
  const { file: f, ctx } = job;
  const partial = job.final + PARTIAL_SUFFIX;
  let fetched = 0;
  for (let attempt = 0; ; attempt++) {
    const { start, hasher } = await resumePoint(partial, f, attempt);
    const { received, overflow } = await streamToPartial(job, partial, start, hasher);
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
    await rename(partial, job.final);
    job.report({ bytes: f.size, phase: 'done', resumedFrom: start });
    return fetched;
  }
}
