// pullModel and `pipeline pull` against a local fake of the Hugging Face hub. The fake serves the
// endpoints @huggingface/hub 2.17 calls, with the headers it reads:
//   GET /api/models/{repo}/revision/{rev}?expand=...   modelInfo (JSON with `sha`)
//   GET /api/models/{repo}/tree/{rev}?recursive=&expand=[&cursor=]   listFiles (paged, Link: next)
//   GET /{repo}/resolve/{rev}/{path}   fileDownloadInfo probe (Range: bytes=0-0) and the download:
//       git files: 200/206 with ETag, Content-Range, X-Repo-Commit;
//       LFS files: 302 to /cdn/{sha256} with X-Linked-Size/X-Linked-ETag, or, for xet-backed files
//       asked with Accept: application/vnd.xet-fileinfo+json, the xet file-info answer;
//   GET /cdn/{sha256}   the LFS content, with Range support.
// Errors carry X-Error-Code (RepoNotFound, RevisionNotFound, GatedRepo, EntryNotFound) like the hub.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { fixture } from '../helpers/fixtures.js';
import { PipelineError, isPipelineError } from '../../src/core/errors.js';
import { formatBytes } from '../../src/hub/disk-space.js';
import { pullModel, type PullProgress } from '../../src/hub/pull.js';
import type { PullRecord } from '../../src/hub/record.js';
import { parseRepoId } from '../../src/hub/repo-id.js';
import { registerPull } from '../../src/cli/commands/pull.js';
import type { CliContext } from '../../src/cli/context.js';

// ---------------------------------------------------------------------------------------------
// The fake hub

interface FakeFile {
  data: Buffer;
  /** Stored with Git LFS (served through the CDN redirect). */
  lfs: boolean;
  /** LFS file migrated to xet: answers the xet file-info probe. */
  xet?: boolean;
}

interface FakeRepo {
  commit: string;
  files: Map<string, FakeFile>;
  /** When set, every API/resolve request needs `Authorization: Bearer <token>`. */
  token?: string;
}

interface LoggedRequest {
  method: string;
  path: string;
  range?: string;
  auth?: string;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const gitOid = (b: Buffer): string =>
  createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
const fakeCommit = (seed: string): string => createHash('sha1').update(seed).digest('hex');

class FakeHub {
  readonly repos = new Map<string, FakeRepo>();
  readonly requests: LoggedRequest[] = [];
  /** Tree pages hold this many entries (the hub pages at 1000; small here to test paging). */
  pageSize = 3;
  /** The CDN (not the hub) answers 200 with the whole file to any Range request. */
  ignoreRange = false;
  /** Cut the connection after this many body bytes of CDN downloads of this file. */
  cutAfter?: { path: string; bytes: number };
  private server!: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      try {
        this.handle(req, res);
      } catch (e) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(e));
      }
    });
    await new Promise<void>((ok) => this.server.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }

  addRepo(name: string, files: Record<string, Buffer | string>, lfs: (p: string) => boolean) {
    const repo: FakeRepo = { commit: fakeCommit(name + Date.now()), files: new Map() };
    for (const [p, d] of Object.entries(files)) {
      const data = typeof d === 'string' ? Buffer.from(d) : d;
      repo.files.set(p, { data, lfs: lfs(p), xet: lfs(p) && p.endsWith('.safetensors') });
    }
    this.repos.set(name, repo);
    return repo;
  }

  private error(res: ServerResponse, status: number, code: string | undefined, error: string) {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      ...(code ? { 'x-error-code': code, 'x-error-message': error } : {}),
    });
    res.end(JSON.stringify({ error }));
  }

  /** Repo + revision checks shared by every hub endpoint; returns undefined after answering. */
  private resolveRepo(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    rev: string,
  ): FakeRepo | undefined {
    const repo = this.repos.get(name);
    if (!repo) {
      this.error(res, 404, 'RepoNotFound', 'Repository not found');
      return undefined;
    }
    if (repo.token) {
      const auth = req.headers.authorization;
      if (!auth) {
        this.error(
          res,
          401,
          'GatedRepo',
          `Access to model ${name} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
        );
        return undefined;
      }
      if (auth !== `Bearer ${repo.token}`) {
        this.error(
          res,
          403,
          'GatedRepo',
          `Access to model ${name} is restricted and you are not in the authorized list.`,
        );
        return undefined;
      }
    }
    if (rev !== 'main' && rev !== 'HEAD' && rev !== repo.commit) {
      this.error(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
      return undefined;
    }
    return repo;
  }

  /** Serve `data` honouring a `Range: bytes=a-b` header. */
  private sendBody(
    req: IncomingMessage,
    res: ServerResponse,
    data: Buffer,
    headers: Record<string, string>,
    cutPath?: string,
  ) {
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let status = 200;
    let body = data;
    const h: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      ...headers,
    };
    if (m && !(this.ignoreRange && cutPath)) {
      const a = Number(m[1]);
      const b = m[2] ? Math.min(Number(m[2]), data.length - 1) : data.length - 1;
      if (a >= data.length) {
        res.writeHead(416, { 'content-range': `bytes */${data.length}` });
        res.end();
        return;
      }
      status = 206;
      body = data.subarray(a, b + 1);
      h['content-range'] = `bytes ${a}-${b}/${data.length}`;
    }
    h['content-length'] = String(body.length);
    res.writeHead(status, h);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (this.cutAfter && cutPath === this.cutAfter.path && body.length > this.cutAfter.bytes) {
      res.write(body.subarray(0, this.cutAfter.bytes), () => res.destroy());
      return;
    }
    res.end(body);
  }

  private handle(req: IncomingMessage, res: ServerResponse) {
    const u = new URL(req.url ?? '/', this.url);
    const path = u.pathname;
    this.requests.push({
      method: req.method ?? 'GET',
      path: path + u.search,
      range: req.headers.range,
      auth: req.headers.authorization,
    });
    let m: RegExpExecArray | null;

    if ((m = /^\/api\/models\/(.+?)\/revision\/([^/]+)$/.exec(path))) {
      const repo = this.resolveRepo(req, res, m[1], decodeURIComponent(m[2]));
      if (!repo) return;
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(
        JSON.stringify({
          _id: 'fake' + repo.commit.slice(0, 8),
          id: m[1],
          sha: repo.commit,
          private: false,
          gated: repo.token ? 'auto' : false,
          downloads: 0,
          likes: 0,
          lastModified: '2025-01-01T00:00:00.000Z',
          pipeline_tag: 'text-generation',
        }),
      );
      return;
    }

    if ((m = /^\/api\/models\/(.+?)\/tree\/([^/]+)$/.exec(path))) {
      const repo = this.resolveRepo(req, res, m[1], decodeURIComponent(m[2]));
      if (!repo) return;
      const entries = [...repo.files.entries()].map(([p, f]) => ({
        type: 'file',
        oid: f.lfs ? gitOid(Buffer.from(`pointer ${sha256(f.data)}`)) : gitOid(f.data),
        size: f.data.length,
        path: p,
        ...(f.lfs ? { lfs: { oid: sha256(f.data), size: f.data.length, pointerSize: 134 } } : {}),
        ...(f.xet ? { xetHash: sha256(f.data) } : {}),
      }));
      const cursor = Number(u.searchParams.get('cursor') ?? 0);
      const page = entries.slice(cursor, cursor + this.pageSize);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (cursor + this.pageSize < entries.length) {
        const next = new URL(u);
        next.searchParams.set('cursor', String(cursor + this.pageSize));
        headers.link = `<${next.href}>; rel="next"`;
      }
      res.writeHead(200, headers);
      res.end(JSON.stringify(page));
      return;
    }

    if ((m = /^\/cdn\/([0-9a-f]{64})$/.exec(path))) {
      for (const repo of this.repos.values())
        for (const [p, f] of repo.files)
          if (f.lfs && sha256(f.data) === m[1])
            return this.sendBody(req, res, f.data, { etag: `"${m[1]}"` }, p);
      return this.error(res, 404, undefined, 'no such object');
    }

    if ((m = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(path))) {
      const repo = this.resolveRepo(req, res, m[1], decodeURIComponent(m[2]));
      if (!repo) return;
      const file = repo.files.get(m[3]);
      if (!file) return this.error(res, 404, 'EntryNotFound', `${m[3]} does not exist`);
      const common = { 'x-repo-commit': repo.commit };
      if (!file.lfs)
        return this.sendBody(req, res, file.data, { ...common, etag: `"${gitOid(file.data)}"` });
      const hash = sha256(file.data);
      const lfsHeaders = {
        ...common,
        'x-linked-size': String(file.data.length),
        'x-linked-etag': `"${hash}"`,
      };
      if (file.xet && (req.headers.accept ?? '').includes('application/vnd.xet-fileinfo+json')) {
        res.writeHead(200, {
          ...lfsHeaders,
          'content-type': 'application/vnd.xet-fileinfo+json',
          'x-xet-hash': hash,
          link:
            `<${this.url}/api/models/${m[1]}/xet-read-token/${repo.commit}>; rel="xet-auth", ` +
            `<${this.url}/xet/reconstructions/${hash}>; rel="xet-reconstruction-info"`,
        });
        res.end(JSON.stringify({ hash, size: file.data.length }));
        return;
      }
      res.writeHead(302, { ...lfsHeaders, location: `/cdn/${hash}` });
      res.end();
      return;
    }

    this.error(res, 404, undefined, `fake hub: no route for ${req.method} ${path}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

const NEEDED = [
  'chat_template.jinja',
  'config.json',
  'generation_config.json',
  'model.safetensors',
  'tokenizer.json',
  'tokenizer_config.json',
];

async function startHub(t: TestContext): Promise<FakeHub> {
  const hub = await new FakeHub().start();
  t.after(() => hub.stop());
  return hub;
}

function tempDir(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), 'rlaif-pull-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** The tiny-llama fixture folder plus files a real repo has that pull must leave alone. */
function tinyLlamaFiles(dir: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (const n of readdirSync(dir)) files[n] = readFileSync(join(dir, n));
  files['pytorch_model.bin'] = Buffer.alloc(4096, 7);
  files['README.md'] = Buffer.from('# tiny llama\n');
  files['.gitattributes'] = Buffer.from('*.safetensors filter=lfs diff=lfs merge=lfs -text\n');
  files['model.onnx'] = Buffer.alloc(1000, 1);
  return files;
}

const isLfs = (p: string): boolean => /\.(safetensors|bin|onnx)$/.test(p);

/** A tiny-llama repo served by a fake hub, or undefined (test skipped) without the fixture. */
async function tinyLlamaHub(t: TestContext) {
  const dir = fixture(t, 'hf-tiny', 'tiny-llama');
  if (!dir) return undefined;
  const hub = await startHub(t);
  const repo = hub.addRepo('test-org/tiny-llama', tinyLlamaFiles(dir), isLfs);
  return { hub, repo, fixtureDir: dir };
}

function synthetic(extra: Record<string, Buffer | string> = {}): Record<string, Buffer | string> {
  return {
    'config.json': '{"model_type":"llama"}\n',
    'tokenizer.json': '{"model":{}}\n',
    ...extra,
  };
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<PipelineError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isPipelineError(e), `expected a PipelineError, got ${String(e)}`);
    assert.equal(e.code, code, `${e.code}: ${e.message}`);
    assert.ok(e.hint && e.hint.length > 10, 'every error has a hint');
    return e;
  }
  assert.fail(`expected ${code}, but it resolved`);
}

const downloads = (hub: FakeHub) =>
  hub.requests.filter((r) => r.path.includes('/resolve/') || r.path.startsWith('/cdn/'));

// ---------------------------------------------------------------------------------------------
// Tests

test('parseRepoId accepts owner/name and name, and rejects everything else', () => {
  assert.deepEqual(parseRepoId('HuggingFaceTB/SmolLM2-135M'), {
    id: 'HuggingFaceTB/SmolLM2-135M',
    owner: 'HuggingFaceTB',
    name: 'SmolLM2-135M',
  });
  assert.deepEqual(parseRepoId('gpt2'), { id: 'gpt2', name: 'gpt2' });
  assert.equal(parseRepoId('hf:Qwen/Qwen2.5-0.5B').id, 'Qwen/Qwen2.5-0.5B');
  for (const bad of [
    '',
    'a/b/c',
    '../etc',
    'owner/..',
    'owner/na--me',
    'datasets/foo',
    'https://huggingface.co/gpt2',
    'own er/name',
    'owner/name.git',
    '-x/y',
  ]) {
    assert.throws(
      () => parseRepoId(bad),
      (e: unknown) => isPipelineError(e) && e.code === 'E_PULL_REPO_ID' && e.exitCode === 2,
      bad,
    );
  }
});

test('pullModel downloads exactly the engine files, byte-identical, and records the pull', async (t) => {
  const s = await tinyLlamaHub(t);
  if (!s) return;
  const out = join(tempDir(t), 'models', 'tiny-llama');
  const events: PullProgress[] = [];
  const r = await pullModel({
    repo: 'test-org/tiny-llama',
    hubUrl: s.hub.url,
    outDir: out,
    onProgress: (e) => events.push(e),
  });

  assert.deepEqual([...r.files].sort(), NEEDED);
  assert.deepEqual([...r.downloaded].sort(), NEEDED);
  assert.deepEqual(r.skipped, []);
  assert.equal(r.commit, s.repo.commit);
  assert.equal(r.revision, 'main');
  const expectedBytes = NEEDED.reduce((n, f) => n + readFileSync(join(s.fixtureDir, f)).length, 0);
  assert.equal(r.bytes, expectedBytes);
  assert.equal(r.totalBytes, expectedBytes);
  for (const f of NEEDED)
    assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(s.fixtureDir, f))), f);
  assert.deepEqual(readdirSync(out).sort(), ['.pull.json', ...NEEDED]);

  const rec = JSON.parse(readFileSync(join(out, '.pull.json'), 'utf8')) as PullRecord;
  assert.equal(rec.repo, 'test-org/tiny-llama');
  assert.equal(rec.revision, 'main');
  assert.equal(rec.commit, s.repo.commit);
  assert.equal(rec.hubUrl, s.hub.url);
  assert.equal(rec.complete, true);
  assert.ok(!Number.isNaN(Date.parse(rec.date)));
  assert.equal(
    rec.files['model.safetensors'].sha256,
    sha256(readFileSync(join(s.fixtureDir, 'model.safetensors'))),
  );

  // Nothing else was fetched, the listing was paged, files were fetched at the pinned commit.
  for (const skipped of ['pytorch_model.bin', 'README.md', '.gitattributes', 'model.onnx'])
    assert.ok(!s.hub.requests.some((q) => q.path.includes(skipped)), skipped);
  assert.ok(s.hub.requests.filter((q) => q.path.includes('/tree/')).length >= 3);
  for (const q of s.hub.requests.filter((q) => q.path.includes('/resolve/')))
    assert.ok(q.path.includes(`/resolve/${s.repo.commit}/`), q.path);
  assert.ok(s.hub.requests.every((q) => q.auth === undefined));

  const done = events.filter((e) => e.phase === 'done');
  assert.equal(done.length, NEEDED.length);
  assert.deepEqual(
    done.map((e) => e.fileIndex),
    [...NEEDED.keys()],
  );
  assert.ok(done.every((e) => e.fileCount === NEEDED.length && e.bytes === e.totalBytes));
});

test('a second pull skips files already present', async (t) => {
  const s = await tinyLlamaHub(t);
  if (!s) return;
  const out = join(tempDir(t), 'tiny');
  await pullModel({ repo: 'test-org/tiny-llama', hubUrl: s.hub.url, outDir: out });
  s.hub.requests.length = 0;
  const events: PullProgress[] = [];
  const r = await pullModel({
    repo: 'test-org/tiny-llama',
    hubUrl: s.hub.url,
    outDir: out,
    onProgress: (e) => events.push(e),
  });
  assert.equal(r.bytes, 0);
  assert.deepEqual(r.downloaded, []);
  assert.deepEqual([...r.skipped].sort(), NEEDED);
  assert.deepEqual(downloads(s.hub), []);
  assert.ok(events.every((e) => e.phase === 'skipped'));
});

test('a changed file at a new commit is fetched again, unchanged ones are skipped', async (t) => {
  const s = await tinyLlamaHub(t);
  if (!s) return;
  const out = join(tempDir(t), 'tiny');
  await pullModel({ repo: 'test-org/tiny-llama', hubUrl: s.hub.url, outDir: out });
  // Same size, other bytes: only the hash can tell.
  const cfg = s.repo.files.get('config.json')!;
  const changed = Buffer.from(cfg.data.toString('utf8').replace('"silu"', '"gelu"'));
  assert.equal(changed.length, cfg.data.length);
  s.repo.files.set('config.json', { data: changed, lfs: false });
  s.repo.commit = fakeCommit('second commit');
  const r = await pullModel({ repo: 'test-org/tiny-llama', hubUrl: s.hub.url, outDir: out });
  assert.deepEqual(r.downloaded, ['config.json']);
  assert.ok(readFileSync(join(out, 'config.json')).equals(changed));
  assert.equal(r.commit, fakeCommit('second commit'));
});

test('an interrupted download keeps only a partial file, and the next pull resumes it', async (t) => {
  const s = await tinyLlamaHub(t);
  if (!s) return;
  const out = join(tempDir(t), 'tiny');
  const weights = readFileSync(join(s.fixtureDir, 'model.safetensors'));
  s.hub.cutAfter = { path: 'model.safetensors', bytes: 300_000 };
  const e = await rejectsWith(
    pullModel({ repo: 'test-org/tiny-llama', hubUrl: s.hub.url, outDir: out }),
    'E_PULL_INTERRUPTED',
  );
  assert.match(e.hint ?? '', /again/);
  assert.ok(!existsSync(join(out, 'model.safetensors')), 'no half file under the final name');
  const partial = readFileSync(join(out, 'model.safetensors.incomplete'));
  assert.ok(partial.length > 0 && partial.length <= 300_000);
  assert.equal(
    (JSON.parse(readFileSync(join(out, '.pull.json'), 'utf8')) as PullRecord).complete,
    false,
  );
  assert.ok(!existsSync(join(out, '.pull.lock')), 'the lock is released on failure');

  s.hub.cutAfter = undefined;
  s.hub.requests.length = 0;
  const events: PullProgress[] = [];
  const r = await pullModel({
    repo: 'test-org/tiny-llama',
    hubUrl: s.hub.url,
    outDir: out,
    onProgress: (ev) => events.push(ev),
  });
  assert.ok(readFileSync(join(out, 'model.safetensors')).equals(weights));
  assert.ok(!existsSync(join(out, 'model.safetensors.incomplete')));
  assert.deepEqual(r.downloaded, ['model.safetensors']);
  assert.equal(r.bytes, weights.length - partial.length);
  const cdn = s.hub.requests.filter((q) => q.path.startsWith('/cdn/'));
  assert.ok(cdn.some((q) => q.range === `bytes=${partial.length}-${weights.length - 1}`));
  const done = events.find((ev) => ev.phase === 'done' && ev.file === 'model.safetensors');
  assert.equal(done?.resumedFrom, partial.length);
});

test('a damaged partial file, or a server ignoring Range, restarts the file from zero', async (t) => {
  const s = await tinyLlamaHub(t);
  if (!s) return;
  const weights = readFileSync(join(s.fixtureDir, 'model.safetensors'));
  for (const ignoreRange of [false, true]) {
    const out = join(tempDir(t), 'tiny');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, '.pull.json'), '{"repo":"test-org/tiny-llama","files":{}}');
    writeFileSync(join(out, 'model.safetensors.incomplete'), Buffer.alloc(1234, 0xee));
    s.hub.ignoreRange = ignoreRange;
    await pullModel({ repo: 'test-org/tiny-llama', hubUrl: s.hub.url, outDir: out });
    assert.ok(readFileSync(join(out, 'model.safetensors')).equals(weights), `${ignoreRange}`);
    assert.ok(!existsSync(join(out, 'model.safetensors.incomplete')));
  }
});

test('a sharded model gets its index and the shards it names, nothing else', async (t) => {
  const hub = await startHub(t);
  const shard1 = Buffer.alloc(3000, 1);
  const shard2 = Buffer.alloc(2000, 2);
  const index = JSON.stringify({
    metadata: { total_size: 5000 },
    weight_map: {
      'a.weight': 'model-00001-of-00002.safetensors',
      'b.weight': 'model-00002-of-00002.safetensors',
      'c.weight': 'model-00001-of-00002.safetensors',
    },
  });
  hub.addRepo(
    'org/sharded',
    synthetic({
      'model.safetensors.index.json': index,
      'model-00001-of-00002.safetensors': shard1,
      'model-00002-of-00002.safetensors': shard2,
      'consolidated.safetensors': Buffer.alloc(5000, 3),
    }),
    (p) => p.endsWith('.safetensors'),
  );
  hub.repos.get('org/sharded')!.files.forEach((f) => (f.xet = false)); // classic LFS redirects
  const out = join(tempDir(t), 'sharded');
  const events: PullProgress[] = [];
  const r = await pullModel({
    repo: 'org/sharded',
    hubUrl: hub.url,
    outDir: out,
    onProgress: (e) => events.push(e),
  });
  assert.deepEqual(r.files, [
    'model.safetensors.index.json',
    'config.json',
    'tokenizer.json',
    'model-00001-of-00002.safetensors',
    'model-00002-of-00002.safetensors',
  ]);
  assert.ok(readFileSync(join(out, 'model-00002-of-00002.safetensors')).equals(shard2));
  assert.ok(!hub.requests.some((q) => q.path.includes('consolidated')));
  const done = events.filter((e) => e.phase === 'done');
  assert.ok(done.slice(1).every((e) => e.fileCount === 5));
});

test('a repository without safetensors is refused before anything is written', async (t) => {
  const hub = await startHub(t);
  hub.addRepo('org/old-model', synthetic({ 'pytorch_model.bin': Buffer.alloc(100) }), (p) =>
    p.endsWith('.bin'),
  );
  const out = join(tempDir(t), 'old');
  const e = await rejectsWith(
    pullModel({ repo: 'org/old-model', hubUrl: hub.url, outDir: out }),
    'E_PULL_NO_SAFETENSORS',
  );
  assert.match(
    e.message,
    /org\/old-model@main has no \.safetensors weights \(only pytorch_model\.bin\)/,
  );
  assert.match(e.hint ?? '', /safetensors/);
  assert.ok(!existsSync(out));
  assert.deepEqual(downloads(hub), []);
});

test('an unknown repository or revision is a clear not-found error', async (t) => {
  const hub = await startHub(t);
  hub.addRepo('org/model', synthetic({ 'model.safetensors': Buffer.alloc(10) }), isLfs);
  const out = join(tempDir(t), 'm');
  const e = await rejectsWith(
    pullModel({ repo: 'org/nope', hubUrl: hub.url, outDir: out }),
    'E_PULL_NOT_FOUND',
  );
  assert.match(e.message, /'org\/nope' not found on http:\/\/127\.0\.0\.1:\d+/);
  const r = await rejectsWith(
    pullModel({ repo: 'org/model', revision: 'v9', hubUrl: hub.url, outDir: out }),
    'E_PULL_REVISION_NOT_FOUND',
  );
  assert.match(r.message, /revision 'v9' not found in org\/model/);
  assert.ok(!existsSync(out));
});

test('a gated repository needs a token: 401 hints at HF_TOKEN, 403 at access, and the token is sent', async (t) => {
  const hub = await startHub(t);
  const weights = Buffer.alloc(5000, 9);
  hub.addRepo('org/gated', synthetic({ 'model.safetensors': weights }), isLfs).token = 'hf_secret';
  const out = join(tempDir(t), 'gated');

  const e401 = await rejectsWith(
    pullModel({ repo: 'org/gated', hubUrl: hub.url, outDir: out }),
    'E_PULL_AUTH',
  );
  assert.match(e401.message, /HTTP 401, gated model/);
  assert.match(e401.hint ?? '', /HF_TOKEN/);

  const e403 = await rejectsWith(
    pullModel({ repo: 'org/gated', hubUrl: hub.url, outDir: out, accessToken: 'hf_wrong' }),
    'E_PULL_AUTH',
  );
  assert.match(e403.message, /HTTP 403/);
  assert.match(e403.hint ?? '', /accept its conditions/);
  assert.ok(!e403.message.includes('hf_wrong') && !(e403.hint ?? '').includes('hf_wrong'));

  await rejectsWith(
    pullModel({ repo: 'org/gated', hubUrl: hub.url, outDir: out, accessToken: 'not-a-token' }),
    'E_PULL_TOKEN',
  );

  hub.requests.length = 0;
  await pullModel({ repo: 'org/gated', hubUrl: hub.url, outDir: out, accessToken: 'hf_secret' });
  assert.ok(readFileSync(join(out, 'model.safetensors')).equals(weights));
  const hubCalls = hub.requests.filter((q) => !q.path.startsWith('/cdn/'));
  assert.ok(hubCalls.length >= 5);
  for (const q of hubCalls) assert.equal(q.auth, 'Bearer hf_secret', q.path);
});

test('an unreachable hub is a network error that names --hub-url', async (t) => {
  const hub = await startHub(t);
  const url = hub.url;
  await hub.stop();
  const e = await rejectsWith(
    pullModel({ repo: 'org/model', hubUrl: url, outDir: join(tempDir(t), 'm') }),
    'E_PULL_NETWORK',
  );
  assert.match(e.message, /cannot reach the hub at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  assert.match(e.hint ?? '', /--hub-url/);
});

test('pull refuses to write into a folder it did not make, or one holding another repo', async (t) => {
  const hub = await startHub(t);
  hub.addRepo('org/model', synthetic({ 'model.safetensors': Buffer.alloc(10) }), isLfs);
  const dir = join(tempDir(t), 'mine');
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), 'my own work');
  await rejectsWith(
    pullModel({ repo: 'org/model', hubUrl: hub.url, outDir: dir }),
    'E_PULL_OUT_DIR',
  );
  assert.equal(readFileSync(join(dir, 'config.json'), 'utf8'), 'my own work');

  const other = join(tempDir(t), 'other');
  await pullModel({ repo: 'org/model', hubUrl: hub.url, outDir: other });
  hub.addRepo('org/second', synthetic({ 'model.safetensors': Buffer.alloc(10) }), isLfs);
  const e = await rejectsWith(
    pullModel({ repo: 'org/second', hubUrl: hub.url, outDir: other }),
    'E_PULL_OUT_DIR',
  );
  assert.match(e.message, /already holds a pull of org\/model/);
});

test('a folder locked by a running pull is refused; a lock left by a dead process is taken over', async (t) => {
  const hub = await startHub(t);
  hub.addRepo('org/model', synthetic({ 'model.safetensors': Buffer.alloc(10) }), isLfs);
  const out = join(tempDir(t), 'locked');
  mkdirSync(out);
  writeFileSync(join(out, '.pull.lock'), String(process.pid));
  const e = await rejectsWith(
    pullModel({ repo: 'org/model', hubUrl: hub.url, outDir: out }),
    'E_PULL_LOCKED',
  );
  assert.match(e.message, new RegExp(`process ${process.pid}`));
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  writeFileSync(join(out, '.pull.lock'), String(dead));
  await pullModel({ repo: 'org/model', hubUrl: hub.url, outDir: out });
  assert.deepEqual(readdirSync(out).sort(), [
    '.pull.json',
    'config.json',
    'model.safetensors',
    'tokenizer.json',
  ]);
});

// ---------------------------------------------------------------------------------------------
// The command, through commander (the lead registers it in program.ts)

function cliFor(): { program: Command; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = { out: (s) => out.push(s), err: (s) => err.push(s), debug: false };
  const program = new Command('pipeline')
    .exitOverride()
    .configureOutput({ writeOut: ctx.out, writeErr: ctx.err });
  registerPull(program, ctx);
  return { program, out, err };
}

test('pipeline pull prints a line per file on stderr and a summary on stdout', async (t) => {
  const s = await tinyLlamaHub(t);
  if (!s) return;
  const out = join(tempDir(t), 'tiny');
  const cli = cliFor();
  await cli.program.parseAsync(
    ['pull', 'test-org/tiny-llama', '--hub-url', s.hub.url, '--out', out],
    { from: 'user' },
  );
  const stderr = cli.err.join('');
  assert.match(stderr, /^pulling test-org\/tiny-llama@main from http:\/\/127\.0\.0\.1:\d+ into /);
  assert.match(stderr, /^ {2}\[\d\/6\] model\.safetensors {2}875\.3 KiB$/m);
  assert.equal(stderr.match(/^ {2}\[\d\/6\] /gm)?.length, 6);
  const total = formatBytes(
    NEEDED.reduce((n, f) => n + readFileSync(join(s.fixtureDir, f)).length, 0),
  );
  assert.equal(
    cli.out.join(''),
    `pulled test-org/tiny-llama@main (commit ${s.repo.commit.slice(0, 12)}) into ${out}: ` +
      `6 files, ${total}; downloaded 6 (${total}), 0 already present\n`,
  );
  for (const f of NEEDED)
    assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(s.fixtureDir, f))), f);

  // --json, second time: everything is skipped; the token comes from --token-env.
  process.env.RLAIF_TEST_PULL_TOKEN = 'hf_cli_token';
  t.after(() => delete process.env.RLAIF_TEST_PULL_TOKEN);
  s.hub.requests.length = 0;
  const again = cliFor();
  await again.program.parseAsync(
    [
      'pull',
      'test-org/tiny-llama',
      '--hub-url',
      s.hub.url,
      '--out',
      out,
      '--json',
      '--token-env',
      'RLAIF_TEST_PULL_TOKEN',
    ],
    { from: 'user' },
  );
  assert.equal(again.err.join(''), '');
  const summary = JSON.parse(again.out.join('')) as Record<string, unknown>;
  assert.equal(summary.repo, 'test-org/tiny-llama');
  assert.equal(summary.commit, s.repo.commit);
  assert.equal(summary.bytes, 0);
  assert.deepEqual((summary.skipped as string[]).sort(), NEEDED);
  assert.ok(s.hub.requests.every((q) => q.auth === 'Bearer hf_cli_token'));
});

test('pipeline pull errors: bad repo id, unset --token-env, unknown flag', async (t) => {
  const cli = cliFor();
  await assert.rejects(
    cli.program.parseAsync(['pull', 'a/b/c', '--out', join(tempDir(t), 'x')], { from: 'user' }),
    (e: unknown) => isPipelineError(e) && e.code === 'E_PULL_REPO_ID',
  );
  delete process.env.RLAIF_TEST_UNSET_TOKEN;
  await assert.rejects(
    cliFor().program.parseAsync(['pull', 'org/m', '--token-env', 'RLAIF_TEST_UNSET_TOKEN'], {
      from: 'user',
    }),
    (e: unknown) =>
      isPipelineError(e) && e.code === 'E_PULL_TOKEN' && /RLAIF_TEST_UNSET_TOKEN/.test(e.message),
  );
  const bad = cliFor();
  await assert.rejects(
    bad.program.parseAsync(['pull', 'org/m', '--frob'], { from: 'user' }),
    /unknown option '--frob'/,
  );
});
