#!/usr/bin/env node
// Bad inputs against the CLI: every case writes its bad input into a fresh temp folder, runs
// `node bin/pipeline.js ...` from the repo root (60 s limit), and records the exit code, the
// first `error:` line (or the first line of stderr) with its `hint:`, and what exists under the
// temp runs folder afterwards. Prints one markdown table on stdout (docs/bad-inputs.md holds the
// last one). Needs a build (`npx tsc -p tsconfig.json`); every case uses builtin:tiny.
//
//   node scripts/bad-inputs.mjs            all cases
//   node scripts/bad-inputs.mjs resume     only cases whose name contains "resume"
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { homedir, hostname, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');

const repo = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const bin = join(repo, 'bin', 'pipeline.js');
const TIMEOUT_MS = 60_000;
const isRoot = process.getuid?.() === 0;

// ---------------------------------------------------------------------------------------------
// the valid pipeline every case breaks one thing of

const PROMPTS = readFileSync(join(repo, 'prompts/seed.jsonl'), 'utf8')
  .split('\n')
  .slice(0, 4)
  .join('\n');
const PROBES = readFileSync(join(repo, 'prompts/probes.jsonl'), 'utf8')
  .split('\n')
  .slice(0, 2)
  .join('\n');
const RUBRIC = readFileSync(join(repo, 'rubrics/additive-5pt.hbs'), 'utf8');

const JUDGES = `judges:
  rules:
    kind: rule
    rules:
      - { kind: length, max: 10 }
      - { kind: length, max: 20 }
`;
const GEN = `  - { kind: generate, candidates: 2, temperature: 1.0, max_new_tokens: 4 }\n`;
const JUDGE = `  - { kind: judge, judge: rules, rubric: r.hbs }\n`;
const PAIR = `  - { kind: pair, strategy: max-min, min_margin: 0.0 }\n`;
const TRAIN = `  - { kind: train, loss: sigmoid, max_steps: 2, batch_size: 1 }\n`;
const EVAL = `  - { kind: evaluate, probes: probes.jsonl, judge: rules, max_new_tokens: 4 }\n`;

function pipeline({
  head = '',
  model = 'builtin:tiny',
  rounds = 1,
  prompts = 'p.jsonl',
  judges = JUDGES,
  stages = GEN + JUDGE + PAIR + TRAIN + EVAL,
} = {}) {
  return (
    `name: bad\nseed: 1\n${head}model: { path: ${model} }\nrounds: ${rounds}\n` +
    `prompts: { file: ${prompts}, per_round: 2 }\n${judges}stages:\n${stages}`
  );
}

/** A fresh case folder: proj/ holds the pipeline and its files, runs/ is the --root. */
function fresh() {
  const t = mkdtempSync(join(tmpdir(), 'bad-inputs-'));
  const proj = join(t, 'proj');
  mkdirSync(proj);
  writeFileSync(join(proj, 'p.jsonl'), PROMPTS + '\n');
  writeFileSync(join(proj, 'probes.jsonl'), PROBES + '\n');
  writeFileSync(join(proj, 'r.hbs'), RUBRIC);
  writeFileSync(join(proj, 'p.yaml'), pipeline());
  return { t, proj, runs: join(t, 'runs'), yaml: join(proj, 'p.yaml') };
}

// ---------------------------------------------------------------------------------------------
// running the CLI

function cli(args, env = {}) {
  const start = Date.now();
  const fullEnv = { ...process.env, CI: 'true', NO_COLOR: '1', ...env };
  for (const [key, value] of Object.entries(fullEnv)) if (value === undefined) delete fullEnv[key];
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: repo,
    env: fullEnv,
    encoding: 'utf8',
    timeout: TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    code: r.status,
    signal: r.signal,
    timedOut:
      r.error?.code === 'ETIMEDOUT' ||
      (r.signal === 'SIGTERM' && Date.now() - start >= TIMEOUT_MS - 100),
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    ms: Date.now() - start,
  };
}

/** Start a run and SIGKILL it once stderr shows `pattern`: a crashed run, lock left behind. */
function crashRun(c, pattern = /round 1\/1 train: started/) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, 'run', c.yaml, '--root', c.runs], {
      cwd: repo,
      env: { ...process.env, CI: 'true', NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (d) => {
      err += d;
      if (pattern.test(err)) p.kill('SIGKILL');
    });
    p.on('close', () => resolve(runIds(c)[0]));
  });
}

function finishedRun(c) {
  const r = cli(['run', c.yaml, '--root', c.runs]);
  if (r.code !== 0) throw new Error(`setup run failed: ${r.stderr}`);
  return runIds(c)[0];
}

function runIds(c) {
  if (!existsSync(c.runs)) return [];
  return readdirSync(c.runs).filter((n) => existsSync(join(c.runs, n, 'run.sqlite')));
}

function closedPort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function deadPid() {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(r.stdout);
}

function writeLock(c, id, pid) {
  const holder = { pid, host: hostname(), started: new Date().toISOString() };
  writeFileSync(join(c.runs, id, '.lock'), `${JSON.stringify(holder)}\n`);
}

// ---------------------------------------------------------------------------------------------
// what is left on disk

function count(db, table) {
  try {
    return db.prepare(`SELECT count(*) AS n FROM ${table}`).get().n;
  } catch {
    return '?';
  }
}

function describeRuns(runs) {
  if (!existsSync(runs)) return 'nothing';
  let st;
  try {
    st = statSync(runs);
  } catch {
    return 'nothing';
  }
  if (!st.isDirectory()) return 'runs is a file (set up by the case)';
  const names = readdirSync(runs);
  if (names.length === 0) return 'empty runs/';
  const parts = [];
  for (const n of names.sort()) {
    const dir = join(runs, n);
    if (!statSync(dir).isDirectory()) {
      parts.push(`file runs/${n}`);
      continue;
    }
    const db = join(dir, 'run.sqlite');
    const inside = readdirSync(dir).filter((x) => !x.startsWith('run.sqlite'));
    if (!existsSync(db)) {
      parts.push(`runs/${n}/ without run.sqlite (${inside.join(', ') || 'empty'})`);
      continue;
    }
    let desc = `runs/<id>/`;
    try {
      const d = new Database(db, { readonly: true, fileMustExist: true });
      const run = d.prepare('SELECT status FROM runs').get();
      // a gate-stopped run keeps status 'finished' with a gate_stops row; it reads as 'stopped'
      const stopped = count(d, 'gate_stops');
      desc +=
        ` status ${stopped ? 'stopped (gate_stops row; stored status finished)' : (run?.status ?? '?')}; prompts ${count(d, 'prompts')}, candidates ${count(d, 'candidates')}` +
        `, pairs ${count(d, 'pairs')}`;
      const changes = count(d, 'input_changes');
      if (changes) desc += `, input_changes ${changes}`;
      const resets = count(d, 'round_resets');
      if (resets) desc += `, round_resets ${resets}`;
      d.close();
    } catch (e) {
      desc += ` (run.sqlite unreadable: ${e.message})`;
    }
    if (inside.includes('.lock')) desc += '; .lock left';
    parts.push(desc);
  }
  return parts.join('; ');
}

// ---------------------------------------------------------------------------------------------
// the cases: { group, name, expect: exit code a careful user expects, run: async () => case }
// run() returns { c, args, env?, show?: command as printed, runExpected?, extra?: () => string }

const cases = [];
const add = (group, name, expect, run) => cases.push({ group, name, expect, run });

function yamlCase(group, name, text, { expect = 1, cmd = 'run', setup, runExpected } = {}) {
  add(group, name, expect, async () => {
    const c = fresh();
    if (typeof text === 'string' || Buffer.isBuffer(text)) writeFileSync(c.yaml, text);
    else writeFileSync(c.yaml, text(c));
    if (setup) await setup(c);
    const args = cmd === 'run' ? ['run', c.yaml, '--root', c.runs] : [cmd, c.yaml];
    return { c, args, runExpected };
  });
}

// --- YAML and schema
const Y = 'yaml/schema';
yamlCase(Y, 'not YAML', 'name: [unclosed\n  : : {\n');
yamlCase(Y, 'empty file', '');
yamlCase(Y, 'unknown top-level key', pipeline({ head: 'temprature: 0.7\n' }));
yamlCase(
  Y,
  'unknown stage kind',
  pipeline({ stages: GEN + JUDGE + PAIR + '  - { kind: distill }\n' }),
);
yamlCase(Y, 'wrong types (rounds: "two")', pipeline({ rounds: '"two"' }));
yamlCase(
  Y,
  'wrong types (candidates: [2])',
  pipeline({ stages: GEN.replace('candidates: 2', 'candidates: [2]') + JUDGE + PAIR + TRAIN }),
);
yamlCase(Y, 'negative rounds', pipeline({ rounds: -1 }));
yamlCase(
  Y,
  'stage order wrong (pair before judge)',
  pipeline({ stages: GEN + PAIR + JUDGE + TRAIN }),
);
yamlCase(Y, 'train without pair', pipeline({ stages: GEN + JUDGE + TRAIN }));
yamlCase(
  Y,
  'judge stage names an unknown judge',
  pipeline({ stages: GEN + JUDGE.replace('judge: rules', 'judge: rulez') + PAIR + TRAIN }),
);
yamlCase(
  Y,
  'duplicate judge names',
  pipeline({
    judges: JUDGES + '  rules:\n    kind: rule\n    rules:\n      - { kind: length, max: 5 }\n',
  }),
);
yamlCase(
  Y,
  'max_new_tokens beyond the model positions',
  pipeline({
    stages: GEN.replace('max_new_tokens: 4', 'max_new_tokens: 100000') + JUDGE + PAIR + TRAIN,
  }),
);
yamlCase(Y, '`__proto__` top-level key', pipeline({ head: '__proto__: { rounds: 5 }\n' }));
yamlCase(
  Y,
  '`__proto__` as a judge name',
  pipeline({
    judges: JUDGES + '  __proto__:\n    kind: rule\n    rules:\n      - { kind: length, max: 5 }\n',
  }),
);
yamlCase(
  Y,
  'non-UTF-8 byte in the YAML',
  Buffer.from(pipeline({ head: 'description: caf\xe9\n' }), 'latin1'),
);
yamlCase(
  Y,
  'anchors/aliases bomb (billion laughs)',
  [
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
    'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
    'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
    'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
    'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
    'h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]',
    'i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]',
    '',
  ].join('\n'),
);
yamlCase(Y, 'a YAML list instead of a mapping', '- 1\n- 2\n');
yamlCase(Y, 'pipeline name with a slash', pipeline().replace('name: bad', 'name: ../escape'));
yamlCase(
  Y,
  'regex rule with an invalid pattern',
  pipeline({
    judges: JUDGES.replace('{ kind: length, max: 10 }', "{ kind: regex, pattern: '(' }"),
  }),
);

// --- files
const F = 'files';
yamlCase(F, 'missing prompts file', pipeline({ prompts: 'nope.jsonl' }));
yamlCase(F, 'empty prompts file', pipeline(), {
  setup: (c) => writeFileSync(join(c.proj, 'p.jsonl'), ''),
});
yamlCase(F, 'prompts JSONL with a bad line', pipeline(), {
  setup: (c) => writeFileSync(join(c.proj, 'p.jsonl'), PROMPTS + '\n{"prompt": [unquoted]}\n'),
});
yamlCase(F, 'prompts JSONL row without `prompt`', pipeline(), {
  setup: (c) => writeFileSync(join(c.proj, 'p.jsonl'), '{"question": "hi"}\n'),
});
yamlCase(F, 'non-UTF-8 prompt file', pipeline(), {
  setup: (c) =>
    writeFileSync(join(c.proj, 'p.jsonl'), Buffer.from('{"prompt": "caf\xe9"}\n', 'latin1')),
});
yamlCase(
  F,
  'prompt file outside the project (../../etc/passwd)',
  pipeline({ prompts: '../../../../../../etc/passwd' }),
);
add(F, 'prompt file outside the project, with --allow-path /etc', 1, async () => {
  const c = fresh();
  writeFileSync(c.yaml, pipeline({ prompts: '../../../../../../etc/passwd' }));
  return { c, args: ['run', c.yaml, '--root', c.runs, '--allow-path', '/etc'] };
});
yamlCase(F, 'symlinked prompt file pointing outside', pipeline({ prompts: 'link.jsonl' }), {
  setup: (c) => {
    mkdirSync(join(c.t, 'outside'));
    writeFileSync(join(c.t, 'outside', 'p.jsonl'), PROMPTS + '\n');
    symlinkSync(join(c.t, 'outside', 'p.jsonl'), join(c.proj, 'link.jsonl'));
  },
});
add(F, 'symlinked prompt file pointing outside, with --allow-path', 0, async () => {
  const c = fresh();
  writeFileSync(c.yaml, pipeline({ prompts: 'link.jsonl' }));
  mkdirSync(join(c.t, 'outside'));
  writeFileSync(join(c.t, 'outside', 'p.jsonl'), PROMPTS + '\n');
  symlinkSync(join(c.t, 'outside', 'p.jsonl'), join(c.proj, 'link.jsonl'));
  return {
    c,
    args: ['run', c.yaml, '--root', c.runs, '--allow-path', join(c.t, 'outside')],
    runExpected: true,
  };
});
yamlCase(
  F,
  'missing rubric',
  pipeline({ stages: GEN + JUDGE.replace('r.hbs', 'nope.hbs') + PAIR + TRAIN }),
);
const withRubric = (name, body) =>
  yamlCase(F, name, pipeline(), {
    setup: (c) =>
      writeFileSync(join(c.proj, 'r.hbs'), RUBRIC.replace('<request>', body + '\n<request>')),
  });
withRubric('rubric with a Handlebars syntax error', '{{#if prompt}} unclosed');
withRubric('rubric using an unknown helper', '{{frobnicate prompt}}');
withRubric('rubric using an unknown partial', '{{> footer}}');
withRubric('rubric accessing `constructor`', '{{constructor.name}}');
withRubric('rubric accessing `__proto__`', '{{prompt.__proto__}}');
yamlCase(
  F,
  'missing constitution',
  pipeline({
    stages:
      GEN + JUDGE.replace('rubric: r.hbs', 'rubric: r.hbs, constitution: nope.md') + PAIR + TRAIN,
  }),
);
yamlCase(
  F,
  'missing phrase list',
  pipeline({
    stages:
      GEN +
      JUDGE +
      PAIR +
      TRAIN +
      EVAL.replace('max_new_tokens: 4', 'max_new_tokens: 4, refusal_phrases: nope.txt'),
  }),
);
yamlCase(F, 'directory given where a file is expected (prompts)', pipeline({ prompts: 'adir' }), {
  setup: (c) => mkdirSync(join(c.proj, 'adir')),
});
yamlCase(
  F,
  'directory given where a file is expected (rubric)',
  pipeline({ stages: GEN + JUDGE.replace('r.hbs', 'adir') + PAIR + TRAIN }),
  {
    setup: (c) => mkdirSync(join(c.proj, 'adir')),
  },
);
add(F, 'pipeline file itself missing', 1, async () => {
  const c = fresh();
  return { c, args: ['run', join(c.proj, 'nope.yaml'), '--root', c.runs] };
});

// --- secrets and network
const S = 'secrets/network';
const openai = (extra) =>
  JUDGES + `  server:\n    kind: openai\n    model: m\n    timeout_s: 1\n${extra}`;
const serverStages = GEN + JUDGE.replace('judge: rules', 'judge: server') + PAIR + TRAIN;
yamlCase(
  S,
  'api_key_env: AWS_SECRET_ACCESS_KEY',
  pipeline({
    judges: openai('    base_url: http://127.0.0.1:9/v1\n    api_key_env: AWS_SECRET_ACCESS_KEY\n'),
    stages: serverStages,
  }),
);
add(S, 'api_key_env names an unset variable', 1, async () => {
  const c = fresh();
  writeFileSync(
    c.yaml,
    pipeline({
      judges: openai('    base_url: http://127.0.0.1:9/v1\n    api_key_env: BADINPUT_API_KEY\n'),
      stages: serverStages,
    }),
  );
  return { c, args: ['run', c.yaml, '--root', c.runs], env: { BADINPUT_API_KEY: undefined } };
});
add(S, 'http:// non-loopback base_url with a key', 1, async () => {
  const c = fresh();
  writeFileSync(
    c.yaml,
    pipeline({
      judges: openai('    base_url: http://192.0.2.1:8000/v1\n    api_key_env: BADINPUT_API_KEY\n'),
      stages: serverStages,
    }),
  );
  return { c, args: ['run', c.yaml, '--root', c.runs], env: { BADINPUT_API_KEY: 'sk-test' } };
});
add(
  S,
  'http:// non-loopback base_url with a key and allow_insecure_http (host unreachable)',
  1,
  async () => {
    const c = fresh();
    writeFileSync(
      c.yaml,
      pipeline({
        judges: openai(
          '    base_url: http://192.0.2.1:8000/v1\n    api_key_env: BADINPUT_API_KEY\n    allow_insecure_http: true\n',
        ),
        stages: serverStages,
      }),
    );
    return {
      c,
      args: ['run', c.yaml, '--root', c.runs],
      env: { BADINPUT_API_KEY: 'sk-test' },
      runExpected: true,
    };
  },
);
add(S, 'unreachable judge server (closed localhost port)', 1, async () => {
  const c = fresh();
  const port = await closedPort();
  writeFileSync(
    c.yaml,
    pipeline({
      judges: openai(`    base_url: http://127.0.0.1:${port}/v1\n`),
      stages: serverStages,
    }),
  );
  return { c, args: ['run', c.yaml, '--root', c.runs], runExpected: true };
});
yamlCase(
  S,
  'base_url not http(s) (file://)',
  pipeline({ judges: openai('    base_url: file:///etc/passwd\n'), stages: serverStages }),
);

// --- model
const M = 'model';
yamlCase(M, 'missing model dir', pipeline({ model: 'no-such-model' }));
yamlCase(M, 'model dir without config.json', pipeline({ model: 'm' }), {
  setup: (c) => {
    mkdirSync(join(c.proj, 'm'));
    writeFileSync(join(c.proj, 'm', 'tokenizer.json'), '{}');
  },
});
const tinyCache = join(
  process.env.RLAIF_CACHE_DIR ?? join(homedir(), '.cache', 'rlaif-pipeline'),
  'builtin-tiny-v1',
);
const copyTiny = (c) => {
  const m = join(c.proj, 'm');
  mkdirSync(m);
  for (const f of readdirSync(tinyCache)) copyFileSync(join(tinyCache, f), join(m, f));
  return m;
};
yamlCase(M, 'corrupt safetensors (garbage header)', pipeline({ model: 'm' }), {
  runExpected: true,
  setup: (c) =>
    writeFileSync(
      join(copyTiny(c), 'model.safetensors'),
      Buffer.from('\xff\xff\xff\xff\x00\x00\x00\x00garbage', 'latin1'),
    ),
});
yamlCase(M, 'truncated safetensors', pipeline({ model: 'm' }), {
  runExpected: true,
  setup: (c) => {
    const f = join(copyTiny(c), 'model.safetensors');
    writeFileSync(f, readFileSync(f).subarray(0, 100_000));
  },
});
yamlCase(M, 'config.json not JSON', pipeline({ model: 'm' }), {
  setup: (c) => writeFileSync(join(copyTiny(c), 'config.json'), '{ "hidden_size": '),
});
yamlCase(M, 'unknown builtin name', pipeline({ model: 'builtin:huge' }));

// --- runs
const R = 'runs';
add(R, '--resume of an unknown id', 1, async () => {
  const c = fresh();
  return { c, args: ['run', c.yaml, '--root', c.runs, '--resume', 'bad-20990101-000000-zzz'] };
});
add(R, '--resume of a malformed id (../x)', 1, async () => {
  const c = fresh();
  return { c, args: ['run', c.yaml, '--root', c.runs, '--resume', '../x'] };
});
add(R, '--resume of a finished run (replays, every stage skipped)', 0, async () => {
  const c = fresh();
  const id = finishedRun(c);
  return { c, args: ['run', c.yaml, '--root', c.runs, '--resume', id], runExpected: true };
});
add(R, '--resume of a crashed run whose pipeline file changed', 1, async () => {
  const c = fresh();
  const id = await crashRun(c);
  writeFileSync(c.yaml, readFileSync(c.yaml, 'utf8').replace('max_steps: 2', 'max_steps: 3'));
  return { c, args: ['run', c.yaml, '--root', c.runs, '--resume', id], runExpected: true };
});
add(R, '--resume of a crashed run whose prompt file changed', 1, async () => {
  const c = fresh();
  const id = await crashRun(c);
  writeFileSync(join(c.proj, 'p.jsonl'), PROMPTS + '\n{"prompt": "one more"}\n');
  return { c, args: ['run', c.yaml, '--root', c.runs, '--resume', id], runExpected: true };
});
add(R, '--resume, prompt file changed, with --accept-changed', 0, async () => {
  const c = fresh();
  const id = await crashRun(c);
  writeFileSync(join(c.proj, 'p.jsonl'), PROMPTS + '\n{"prompt": "one more"}\n');
  return {
    c,
    args: [
      'run',
      c.yaml,
      '--root',
      c.runs,
      '--resume',
      id,
      '--accept-changed',
      join(c.proj, 'p.jsonl'),
    ],
    runExpected: true,
  };
});
add(R, '--accept-changed without --resume', 2, async () => {
  const c = fresh();
  return {
    c,
    args: ['run', c.yaml, '--root', c.runs, '--accept-changed', join(c.proj, 'p.jsonl')],
  };
});
add(R, '--from-round without --resume', 2, async () => {
  const c = fresh();
  return { c, args: ['run', c.yaml, '--root', c.runs, '--from-round', '1'] };
});
add(R, '--from-round 0', 2, async () => {
  const c = fresh();
  return {
    c,
    args: [
      'run',
      c.yaml,
      '--root',
      c.runs,
      '--resume',
      'bad-20990101-000000-zzz',
      '--from-round',
      '0',
    ],
  };
});
add(R, '--from-round beyond rounds (crashed run, 1 round, --from-round 5)', [1, 2], async () => {
  const c = fresh();
  const id = await crashRun(c);
  return {
    c,
    args: ['run', c.yaml, '--root', c.runs, '--resume', id, '--from-round', '5'],
    runExpected: true,
  };
});
add(R, '--root is a file', 1, async () => {
  const c = fresh();
  writeFileSync(c.runs, 'not a folder');
  return { c, args: ['run', c.yaml, '--root', c.runs] };
});
add(R, '--root /proc/1', 1, async () => {
  const c = fresh();
  return {
    c,
    args: ['run', c.yaml, '--root', '/proc/1'],
    show: ['run', c.yaml, '--root', '/proc/1'],
  };
});
add(
  R,
  `read-only root (chmod 555)${isRoot ? ' [run as root: permission bits do not apply]' : ''}`,
  isRoot ? 0 : 1,
  async () => {
    const c = fresh();
    mkdirSync(c.runs);
    chmodSync(c.runs, 0o555);
    return {
      c,
      args: ['run', c.yaml, '--root', c.runs],
      runExpected: isRoot,
      after: () => chmodSync(c.runs, 0o755),
    };
  },
);
add(R, 'run locked by a live process', 1, async () => {
  const c = fresh();
  const id = await crashRun(c);
  writeLock(c, id, process.pid);
  return { c, args: ['run', c.yaml, '--root', c.runs, '--resume', id], runExpected: true };
});
add(R, 'stale lock (dead pid): taken over with a warning', 0, async () => {
  const c = fresh();
  const id = await crashRun(c);
  writeLock(c, id, deadPid());
  return { c, args: ['run', c.yaml, '--root', c.runs, '--resume', id], runExpected: true };
});
add(R, 'lock file with garbage in it', 1, async () => {
  const c = fresh();
  const id = await crashRun(c);
  writeFileSync(join(c.runs, id, '.lock'), 'garbage');
  return { c, args: ['run', c.yaml, '--root', c.runs, '--resume', id], runExpected: true };
});
yamlCase(
  R,
  'a gate that fires (exit 3)',
  pipeline({
    stages:
      GEN +
      JUDGE +
      PAIR +
      TRAIN +
      `  - kind: evaluate\n    probes: probes.jsonl\n    judge: rules\n    max_new_tokens: 4\n    gates:\n      - { metric: mean_length, op: '>=', value: 0, action: stop }\n`,
  }),
  { expect: 3, runExpected: true },
);
add(R, '--resume of a gate-stopped run', 1, async () => {
  const c = fresh();
  writeFileSync(
    c.yaml,
    pipeline({
      stages:
        GEN +
        JUDGE +
        PAIR +
        TRAIN +
        `  - kind: evaluate\n    probes: probes.jsonl\n    judge: rules\n    max_new_tokens: 4\n    gates:\n      - { metric: mean_length, op: '>=', value: 0, action: stop }\n`,
    }),
  );
  cli(['run', c.yaml, '--root', c.runs]);
  const id = runIds(c)[0];
  return { c, args: ['run', c.yaml, '--root', c.runs, '--resume', id], runExpected: true };
});
yamlCase(
  R,
  'gate on a metric never computed (refusal_rate without phrases)',
  pipeline({
    stages:
      GEN +
      JUDGE +
      PAIR +
      TRAIN +
      `  - kind: evaluate\n    probes: probes.jsonl\n    judge: rules\n    max_new_tokens: 4\n    gates:\n      - { metric: refusal_rate, op: '>', value: 0.5, action: stop }\n`,
  }),
);

// --- other commands
const O = 'other commands';
for (const cmd of ['show', 'drift', 'export']) {
  add(O, `${cmd} of an unknown id`, 1, async () => {
    const c = fresh();
    mkdirSync(c.runs);
    const format = cmd === 'export' ? ['--format', 'trl'] : [];
    return { c, args: [cmd, 'bad-20990101-000000-zzz', '--root', c.runs, ...format] };
  });
}
add(O, 'report of an unknown id', 1, async () => {
  const c = fresh();
  mkdirSync(c.runs);
  return {
    c,
    args: ['report', 'bad-20990101-000000-zzz', '--root', c.runs, '--out', join(c.t, 'r.html')],
    out: join(c.t, 'r.html'),
  };
});
add(O, 'show of a malformed id (../../etc)', 1, async () => {
  const c = fresh();
  mkdirSync(c.runs);
  return { c, args: ['show', '../../etc', '--root', c.runs] };
});
add(O, 'export --format nope', 2, async () => {
  const c = fresh();
  const id = finishedRun(c);
  return { c, args: ['export', id, '--root', c.runs, '--format', 'nope'], runExpected: true };
});
add(O, 'export --round 7 (no such round)', 1, async () => {
  const c = fresh();
  const id = finishedRun(c);
  return {
    c,
    args: ['export', id, '--root', c.runs, '--format', 'trl', '--round', '7'],
    runExpected: true,
  };
});
add(O, 'report to an unwritable path (/proc/1/r.html)', 1, async () => {
  const c = fresh();
  const id = finishedRun(c);
  return {
    c,
    args: ['report', id, '--root', c.runs, '--out', '/proc/1/r.html'],
    runExpected: true,
  };
});
add(O, 'report to a path whose folder does not exist (the folder is created)', 0, async () => {
  const c = fresh();
  const id = finishedRun(c);
  const out = join(c.t, 'no', 'such', 'r.html');
  return { c, args: ['report', id, '--root', c.runs, '--out', out], runExpected: true, out };
});
add(O, 'report without --out', 2, async () => {
  const c = fresh();
  mkdirSync(c.runs);
  return { c, args: ['report', 'bad-20990101-000000-zzz', '--root', c.runs] };
});
add(O, 'runs with --root missing', 0, async () => {
  const c = fresh();
  return { c, args: ['runs', '--root', c.runs] };
});
add(O, 'runs with a broken run folder (run.sqlite garbage)', 0, async () => {
  const c = fresh();
  mkdirSync(join(c.runs, 'bad-20990101-000000-zzz'), { recursive: true });
  writeFileSync(join(c.runs, 'bad-20990101-000000-zzz', 'run.sqlite'), 'not sqlite');
  return { c, args: ['runs', '--root', c.runs], runExpected: true };
});
add(O, 'unknown command', 2, async () => ({ c: fresh(), args: ['frobnicate'] }));
add(O, 'unknown flag', 2, async () => {
  const c = fresh();
  return { c, args: ['run', c.yaml, '--root', c.runs, '--frobnicate'] };
});
add(O, 'run without a file', 2, async () => ({ c: fresh(), args: ['run'] }));
add(O, 'generate with no prompt', 2, async () => ({
  c: fresh(),
  args: ['generate', '--model', 'builtin:tiny'],
}));
add(O, 'generate --n 0', 2, async () => ({
  c: fresh(),
  args: ['generate', '--model', 'builtin:tiny', '--prompt', 'hi', '--n', '0'],
}));
add(O, 'generate --temperature abc', 2, async () => ({
  c: fresh(),
  args: ['generate', '--model', 'builtin:tiny', '--prompt', 'hi', '--temperature', 'abc'],
}));
add(O, 'generate --messages not JSON', 2, async () => ({
  c: fresh(),
  args: ['generate', '--model', 'builtin:tiny', '--messages', '[{"role":'],
}));
add(O, 'score with a missing data file', 1, async () => {
  const c = fresh();
  return { c, args: ['score', '--model', 'builtin:tiny', '--data', join(c.t, 'nope.jsonl')] };
});
add(O, 'train with a data file of bad rows', 1, async () => {
  const c = fresh();
  writeFileSync(join(c.t, 'd.jsonl'), '{"prompt": "x"}\n');
  const out = join(c.t, 'out');
  return {
    c,
    args: [
      'train',
      '--model',
      'builtin:tiny',
      '--data',
      join(c.t, 'd.jsonl'),
      '--out',
      out,
      '--steps',
      '1',
    ],
    out,
  };
});
yamlCase(O, 'validate: not YAML', 'name: [unclosed\n  : : {\n', { cmd: 'validate' });
yamlCase(O, 'validate: stage order wrong', pipeline({ stages: GEN + PAIR + JUDGE + TRAIN }), {
  cmd: 'validate',
});
yamlCase(O, 'validate: missing prompts file', pipeline({ prompts: 'nope.jsonl' }), {
  cmd: 'validate',
});
yamlCase(O, 'validate: rubric syntax error', pipeline(), {
  cmd: 'validate',
  setup: (c) => writeFileSync(join(c.proj, 'r.hbs'), RUBRIC + '\n{{#if prompt}} unclosed\n'),
});
yamlCase(
  O,
  'validate: prompt file outside the project',
  pipeline({ prompts: '../../../../../../etc/passwd' }),
  { cmd: 'validate' },
);
yamlCase(
  O,
  'validate: api_key_env AWS_SECRET_ACCESS_KEY',
  pipeline({
    judges: openai('    base_url: http://127.0.0.1:9/v1\n    api_key_env: AWS_SECRET_ACCESS_KEY\n'),
    stages: serverStages,
  }),
  { cmd: 'validate' },
);
yamlCase(
  O,
  'validate: max_new_tokens beyond positions',
  pipeline({
    stages: GEN.replace('max_new_tokens: 4', 'max_new_tokens: 100000') + JUDGE + PAIR + TRAIN,
  }),
  { cmd: 'validate' },
);
yamlCase(
  O,
  'validate: corrupt safetensors (the preflight reads the weight headers)',
  pipeline({ model: 'm' }),
  {
    cmd: 'validate',
    setup: (c) => writeFileSync(join(copyTiny(c), 'model.safetensors'), 'garbage'),
  },
);
yamlCase(O, 'validate: non-UTF-8 prompt file', pipeline(), {
  cmd: 'validate',
  setup: (c) =>
    writeFileSync(join(c.proj, 'p.jsonl'), Buffer.from('{"prompt": "caf\xe9"}\n', 'latin1')),
});

// ---------------------------------------------------------------------------------------------
// run them

// run ids carry the start time: print them as <id> so two runs of this script compare
const cell = (s) =>
  String(s)
    .replace(/bad-\d{8}-\d{6}-[a-z0-9]+/g, '<id>')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, ' ')
    .replace(/`/g, "'");
const clip = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function message(stderr, stdout) {
  if (stderr.trim() === '') {
    const out = stdout.split('\n').find((l) => l.trim() !== '');
    return out ? `(stdout) ${clip(out.trim(), 200)}` : '(empty)';
  }
  const lines = stderr.split('\n').map((l) => l.trimEnd());
  const err = lines.findIndex((l) => l.startsWith('error:'));
  const first = err >= 0 ? lines[err] : (lines.find((l) => l.trim() !== '') ?? '');
  const hint = lines.find((l, i) => l.startsWith('hint:') && i > err);
  const warn = lines.find((l) => /^warning:/i.test(l));
  let m = clip(first, 220);
  if (err < 0 && warn && warn !== first) m += ` / ${clip(warn, 160)}`;
  if (hint) m += ` (${clip(hint, 180)})`;
  return m || '(empty)';
}

function judge(k, r, leftRuns, out, spec) {
  const problems = [];
  const all = r.stderr + r.stdout;
  if (r.timedOut) problems.push('HANG: killed after 60 s');
  else if (![k.expect].flat().includes(r.code))
    problems.push(`exit ${r.code}, expected ${[k.expect].flat().join(' or ')}`);
  if (/this is a bug|unexpected failure/.test(all)) problems.push('"this is a bug"');
  if (/^\s+at .+(\(.*:\d+:\d+\)|:\d+:\d+)$/m.test(all)) problems.push('stack trace');
  if (r.code === 1 && !/^hint:/m.test(r.stderr)) problems.push('no hint');
  const runDirs = leftRuns.startsWith('runs/');
  if (!spec.runExpected && runDirs) problems.push('run folder left behind');
  if (!spec.runExpected && r.code !== 0 && leftRuns === 'empty runs/' && !spec.preMadeRuns)
    problems.push('empty runs/ created');
  if (out && r.code !== 0 && existsSync(out))
    problems.push(`output ${relative(spec.c.t, out)} left behind`);
  if (problems.length) return `NO: ${problems.join('; ')}`;
  if (/status failed; prompts 0, candidates 0/.test(leftRuns))
    return 'yes, but a failed run record with no work in it is kept';
  return 'yes';
}

const filter = process.argv.slice(2);
const selected = filter.length
  ? cases.filter((k) => filter.some((f) => k.name.includes(f)))
  : cases;
const rows = [];
let n = 0;
for (const k of selected) {
  n++;
  process.stderr.write(`[${n}/${selected.length}] ${k.name}\n`);
  let spec;
  try {
    spec = await k.run();
  } catch (e) {
    rows.push(
      `| ${n} | ${cell(k.group)}: ${cell(k.name)} | (setup failed) | | ${cell(clip(e.message, 200))} | | setup failed |`,
    );
    continue;
  }
  spec.preMadeRuns = existsSync(spec.c.runs);
  const r = cli(spec.args, spec.env);
  spec.after?.();
  const left = describeRuns(spec.c.runs);
  let leftCell = left;
  if (spec.out) leftCell += existsSync(spec.out) ? `; ${relative(spec.c.t, spec.out)} written` : '';
  const shown = ['pipeline', ...(spec.show ?? spec.args)]
    .map((a) => a.split(spec.c.t).join('$T').replace(repo, '.'))
    .map((a) => (/[\s"'[\]{}]/.test(a) ? `'${a}'` : a))
    .join(' ');
  const exit = r.timedOut ? 'timeout' : r.code === null ? `signal ${r.signal}` : String(r.code);
  const msg = message(r.stderr.split(spec.c.t).join('$T'), r.stdout.split(spec.c.t).join('$T'));
  const verdict = judge(k, r, left, spec.out, spec);
  rows.push(
    `| ${n} | ${cell(k.group)}: ${cell(k.name)} | \`${cell(shown)}\` | ${exit} | ${cell(msg)} | ${cell(leftCell)} | ${cell(verdict)} |`,
  );
  if (process.env.BAD_INPUTS_KEEP !== '1') rmSync(spec.c.t, { recursive: true, force: true });
}

console.log(
  `| # | case | command | exit | first line of stderr (+ hint) | left on disk | as a careful user expects? |`,
);
console.log('|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
console.log(
  `\n${selected.length} cases; $T is the case's temp folder (proj/ holds the pipeline, runs/ is --root); expected exit per case is in scripts/bad-inputs.mjs.`,
);
