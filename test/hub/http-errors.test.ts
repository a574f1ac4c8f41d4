// The hub's error answers and thrown failures, mapped to E_PULL_* codes without a server: the
// X-Error-Code wins over the status, and a 404 is a missing repository before any file is fetched
// but a missing file while one is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PipelineError } from '../../src/core/errors.js';
import { FetchState } from '../../src/hub/client.js';
import { httpError, toPullError, type PullErrorContext } from '../../src/hub/http-errors.js';

const repoCtx: PullErrorContext = {
  repo: 'org/model',
  revision: 'main',
  hubUrl: 'https://hub.test',
  hasToken: false,
};
const fileCtx: PullErrorContext = { ...repoCtx, file: 'model.safetensors' };

const code = (status: number, errorCode?: string, detail?: string, ctx = repoCtx): string =>
  httpError(status, errorCode, detail, ctx, undefined).code;

test('httpError: the hub error code decides first, then the status', () => {
  assert.equal(code(404, 'RevisionNotFound'), 'E_PULL_REVISION_NOT_FOUND');
  assert.equal(code(404, undefined, 'Invalid rev id: nope'), 'E_PULL_REVISION_NOT_FOUND');
  assert.equal(code(404, 'EntryNotFound', undefined, fileCtx), 'E_PULL_FILE_NOT_FOUND');
  assert.equal(code(401, 'RepoNotFound'), 'E_PULL_NOT_FOUND');
  assert.equal(code(404), 'E_PULL_NOT_FOUND');
  assert.equal(code(404, undefined, undefined, fileCtx), 'E_PULL_FILE_NOT_FOUND');
  assert.equal(code(401), 'E_PULL_AUTH');
  assert.equal(code(403, undefined, undefined, fileCtx), 'E_PULL_AUTH');
  assert.equal(code(200, 'GatedRepo'), 'E_PULL_AUTH');
  assert.equal(code(429), 'E_PULL_RATE_LIMITED');
  assert.equal(code(500, undefined, 'boom'), 'E_PULL_HTTP');
});

test('httpError: messages name the repo or file, hints depend on whether a token was given', () => {
  const privateRepo = httpError(401, 'RepoNotFound', undefined, repoCtx, undefined);
  assert.match(
    privateRepo.message,
    /'org\/model' not found on https:\/\/hub\.test \(or it is private/,
  );
  assert.match(privateRepo.hint ?? '', /HF_TOKEN/);
  const gated = httpError(403, 'GatedRepo', 'accept first', fileCtx, undefined);
  assert.equal(
    gated.message,
    'org/model/model.safetensors: the hub refused access (HTTP 403, gated model; no token was given): accept first',
  );
  assert.match(gated.hint ?? '', /set HF_TOKEN/);
  const withToken = httpError(403, undefined, undefined, { ...repoCtx, hasToken: true }, 'c');
  assert.match(withToken.hint ?? '', /check that the token is valid/);
  assert.equal(withToken.cause, 'c');
  assert.equal(
    httpError(500, undefined, 'boom', repoCtx, undefined).message,
    'org/model: the hub answered HTTP 500: boom',
  );
});

test('toPullError: network, disk, interrupted and unknown failures', async () => {
  const hub = await import('@huggingface/hub');
  const thrown = (e: unknown, state = new FetchState(), ctx = repoCtx): unknown => {
    try {
      toPullError(e, hub, state, ctx);
    } catch (err) {
      return err;
    }
    assert.fail('toPullError returned');
  };
  const mine = new PipelineError({ code: 'E_X', message: 'x' });
  assert.equal(thrown(mine), mine);

  const refused = new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
  const net = thrown(refused) as PipelineError;
  assert.equal(net.code, 'E_PULL_NETWORK');
  assert.match(net.message, /cannot reach the hub at https:\/\/hub\.test: ECONNREFUSED$/);

  const api = new hub.HubApiError('https://hub.test/api/models/org/model', 404);
  const seen = new FetchState();
  seen.lastHttp = { status: 404, errorCode: 'RevisionNotFound', url: api.url };
  assert.equal((thrown(api, seen) as PipelineError).code, 'E_PULL_REVISION_NOT_FOUND');
  assert.equal((thrown(api) as PipelineError).code, 'E_PULL_NOT_FOUND');

  const full = Object.assign(new Error('no space'), { code: 'ENOSPC' });
  assert.equal((thrown(full, new FetchState(), fileCtx) as PipelineError).code, 'E_PULL_DISK_FULL');

  const streamed = new FetchState();
  streamed.lastHttp = { status: 429, url: 'x' };
  assert.equal((thrown('HTTP 429', streamed) as PipelineError).code, 'E_PULL_RATE_LIMITED');
  assert.equal((thrown('socket hang up') as PipelineError).code, 'E_PULL_INTERRUPTED');

  const other = new RangeError('a bug');
  assert.equal(thrown(other), other);
});
