// Anything thrown while talking to the hub, turned into a PipelineError whose code says what
// happened (E_PULL_NOT_FOUND, E_PULL_AUTH, E_PULL_NETWORK, ...) and whose hint says what to do.
// The hub names its errors in the X-Error-Code header (RepoNotFound, RevisionNotFound, GatedRepo,
// EntryNotFound); without it, the HTTP status and whether a file was being fetched decide.

import { PipelineError, isPipelineError } from '../core/errors.js';
import type { FetchState, HubModule } from './client.js';

/** Where the pull was when something went wrong (`file` while a file downloads). */
export interface PullErrorContext {
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

/** The PipelineError for an HTTP error answer of the hub (status and X-Error-Code). */
export function httpError(
  status: number,
  errorCode: string | undefined,
  detail: string | undefined,
  ctx: PullErrorContext,
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
export function toPullError(
  e: unknown,
  hub: HubModule,
  state: FetchState,
  ctx: PullErrorContext,
): never {
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
