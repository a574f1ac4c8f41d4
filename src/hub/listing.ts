// What the repository holds: its revision pinned to a commit, and the name, size and hash of
// every top-level file at that commit.
//   modelInfo(..., additionalFields: ['sha'])  GET /api/models/{repo}/revision/{rev}
//   listFiles(revision: sha)                   GET /api/models/{repo}/tree/{sha}  (paged)

import type { ListFileEntry } from '@huggingface/hub';
import type { HubModule, HubRequest } from './client.js';

/** A file of the listing, with the hash its download is checked against. */
export interface WantedFile {
  path: string;
  size: number;
  /** sha256 of the content (LFS / xet files). */
  sha256?: string;
  /** git blob sha1 (regular git files). */
  gitOid?: string;
}

export interface RepoListing {
  /** Commit sha the revision resolved to, when the hub reported it. */
  commit?: string;
  /** Top-level files, in the hub's order. */
  files: WantedFile[];
}

function toWanted(e: ListFileEntry): WantedFile {
  return {
    path: e.path,
    size: e.lfs?.size ?? e.size,
    sha256: e.lfs?.oid,
    gitOid: e.lfs ? undefined : e.oid,
  };
}

/** Resolve `revision` to a commit and list the files there (errors are the library's own). */
export async function listRepo(
  hub: HubModule,
  request: HubRequest,
  revision: string,
): Promise<RepoListing> {
  const info = await hub.modelInfo({
    ...request,
    name: request.repo.name,
    revision,
    additionalFields: ['sha'],
  });
  const commit = typeof info.sha === 'string' && info.sha ? info.sha : undefined;
  const files: WantedFile[] = [];
  for await (const e of hub.listFiles({
    ...request,
    revision: commit ?? encodeURIComponent(revision),
  }))
    if (e.type === 'file') files.push(toWanted(e));
  return { commit, files };
}
