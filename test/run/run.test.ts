// `pipeline run` end to end on builtin:tiny: provenance, learning, resume after SIGKILL, bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/run-store.js';
import { runCli } from '../helpers/cli.js';
import { binPath, fromRoot, repoRoot } from '../helpers/paths.js';

const env = { RLAIF_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rlaif-cache-')) };

function onlyRun(root: string): string {
  const dirs = readdirSync(root);
  assert.equal(dirs.length, 1, `one run under ${root}: ${dirs.join(', ')}`);
  return dirs[0];
}

test('smoke pipeline: every stage runs and a pair traces back to its whole provenance', () => {
  const root = mkdtempSync(join(tmpdir(), 'rlaif-runs-'));
  const r = runCli(['run', fromRoot('pipelines/smoke.yaml'), '--root', root], {
    env,
    timeoutMs: 300_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const id = onlyRun(root);
  const store = openStore(join(root, id, 'run.sqlite'), { readonly: true });
  try {
    assert.equal(store.getRun()!.status, 'finished');
    for (let round = 1; round <= 2; round++) {
      const stages = store.stagesForRound(round);
      assert.deepEqual(
        stages.map((s) => [s.kind, s.status]),
        [
          ['generate', 'done'],
          ['judge', 'done'],
          ['pair', 'done'],
          ['train', 'done'],
          ['evaluate', 'done'],
        ],
      );
    }
    const pairs = store.pairsForRound(1);
    assert.ok(pairs.length > 0, 'round 1 made pairs');
    const trace = store.tracePair(pairs[0].id);
    assert.ok(trace.prompt.messages.length > 0);
    for (const side of [trace.chosen, trace.rejected]) {
      assert.ok(side.candidate.text !== undefined);
      assert.ok(side.checkpoint, 'candidate names the checkpoint that generated it');
      assert.ok(side.judgements.length > 0);
      assert.ok(side.judgements.every((j) => j.rawOutput));
    }
    assert.ok(pairs[0].chosenScore! > pairs[0].rejectedScore!);
    const ckpts = store.listCheckpoints();
    assert.ok(
      ckpts.some((c) => c.kind === 'base') &&
        ckpts.some((c) => c.kind === 'adapter' && c.contentHash),
    );
    const metrics = store.evalMetrics();
    for (const round of [0, 1, 2])
      assert.ok(
        metrics.some((m) => m.round === round && m.metric === 'mean_score'),
        `round ${round} evaluated`,
      );
  } finally {
    store.close();
  }
  // the inspection commands read the same run: drift numbers are the stored ones
  const drift = runCli(['drift', id, '--root', root, '--json'], { env });
  assert.equal(drift.status, 0, drift.stderr);
  const table = JSON.parse(drift.stdout) as {
    rows: { round: number; metric: string; value: number | null; deltaVsRound0: number | null }[];
  };
  const stored = openStore(join(root, id, 'run.sqlite'), { readonly: true });
  const metrics = stored.evalMetrics();
  stored.close();
  for (const m of metrics) {
    const row = table.rows.find((r) => r.round === m.round && r.metric === m.metric);
    assert.ok(row, `${m.metric} round ${m.round} in drift`);
    assert.equal(row.value, m.value);
    const r0 = metrics.find((x) => x.round === 0 && x.metric === m.metric);
    if (m.round > 0 && r0?.value != null && m.value != null)
      assert.ok(Math.abs(row.deltaVsRound0! - (m.value - r0.value)) < 1e-12);
  }
  const html = join(root, 'r.html');
  const report = runCli(['report', id, '--root', root, '--out', html], { env });
  assert.equal(report.status, 0, report.stderr);
  const page = readFileSync(html, 'utf8');
  const charts = Number(/\((\d+) charts/.exec(report.stdout + report.stderr)![1]);
  assert.equal(page.split('<svg').length - 1, charts, 'one SVG per chart');
  assert.doesNotMatch(page, /<script/i);
});

test('self-instruct: answers that do not parse as one instruction are dropped with a warning', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-si-'));
  const file = join(dir, 'si.yaml');
  writeFileSync(
    file,
    [
      'name: si',
      'model: { path: builtin:tiny }',
      `prompts: { file: ${fromRoot('prompts/seed.jsonl')}, per_round: 2, self_instruct: { count: 2, rubric: ${fromRoot('rubrics/self-instruct.hbs')}, max_new_tokens: 16 } }`,
      'stages:',
      '  - { kind: generate, candidates: 1, max_new_tokens: 8 }',
      '',
    ].join('\n'),
  );
  const r = runCli(['run', file, '--root', join(dir, 'runs'), '--json'], {
    env,
    timeoutMs: 300_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const events = r.stdout
    .trim()
    .split('\n')
    .map(
      (l) => JSON.parse(l) as { type: string; message?: string; counts?: Record<string, number> },
    );
  assert.ok(
    events.some(
      (e) =>
        e.type === 'warning' && /self-instruct: 2 of 2 answers did not parse/.test(e.message ?? ''),
    ),
  );
  const gen = events.find((e) => e.type === 'stage-end')!;
  assert.equal(gen.counts!.prompts, 2, 'only the seed prompts were used');
});

test('learning: three rounds with a length rule judge raise the probes mean rule score', () => {
  const root = mkdtempSync(join(tmpdir(), 'rlaif-runs-'));
  const r = runCli(['run', fromRoot('test/fixtures/rule-learning.yaml'), '--root', root], {
    env,
    timeoutMs: 600_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const store = openStore(join(root, onlyRun(root), 'run.sqlite'), { readonly: true });
  try {
    const score = (round: number) =>
      store.evalMetrics().find((m) => m.round === round && m.metric === 'mean_score')!.value!;
    const length = (round: number) =>
      store.evalMetrics().find((m) => m.round === round && m.metric === 'mean_length')!.value!;
    assert.ok(score(3) >= score(0) + 0.1, `mean rule score ${score(0)} -> ${score(3)}`);
    assert.ok(length(3) < length(0), `mean length ${length(0)} -> ${length(3)}`);
  } finally {
    store.close();
  }
});

interface Snapshot {
  pairs: string[];
  steps: string[];
  judgements: number;
  candidates: number;
}

function snapshot(dbPath: string): Snapshot {
  const store = openStore(dbPath, { readonly: true });
  try {
    const pairs: string[] = [];
    const steps: string[] = [];
    for (const round of [1, 2]) {
      for (const p of store.pairsForRound(round)) {
        const prompt = store.getPrompt(p.promptId)!;
        pairs.push(
          JSON.stringify([
            round,
            prompt.messages,
            store.getCandidate(p.chosenCandidateId)!.text,
            store.getCandidate(p.rejectedCandidateId)!.text,
            p.chosenScore,
            p.rejectedScore,
          ]),
        );
      }
      for (const s of store.trainStepsForRound(round)) {
        const { tokens_per_s: _t, ...m } = s.metrics as Record<string, number>;
        steps.push(JSON.stringify([round, s.step, m]));
      }
    }
    const counts = store.runCounts();
    return {
      pairs: pairs.sort(),
      steps,
      judgements: counts.judgements,
      candidates: counts.candidates,
    };
  } finally {
    store.close();
  }
}

/** Start a run and SIGKILL it when `kill(event)` says so; resolves with the run id. */
function runUntil(
  args: string[],
  kill: (e: Record<string, unknown>) => boolean,
): Promise<{ runId: string; killed: boolean }> {
  return new Promise((resolveP, reject) => {
    const child = spawn(process.execPath, [binPath, ...args, '--json'], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    let runId = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const e = JSON.parse(line) as Record<string, unknown>;
        runId ||= e.runId as string;
        if (!killed && kill(e)) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    });
    child.on('error', reject);
    child.on('close', () => resolveP({ runId, killed }));
  });
}

test('resume: a run killed (SIGKILL) mid-judging and mid-training ends exactly like an uninterrupted one', async () => {
  const file = fromRoot('test/fixtures/resume.yaml');
  const whole = mkdtempSync(join(tmpdir(), 'rlaif-runs-'));
  const r = runCli(['run', file, '--root', whole], { env, timeoutMs: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const expected = snapshot(join(whole, onlyRun(whole), 'run.sqlite'));
  assert.ok(expected.pairs.length > 0 && expected.steps.length > 0);

  const root = mkdtempSync(join(tmpdir(), 'rlaif-runs-'));
  const first = await runUntil(
    ['run', file, '--root', root],
    (e) => e.type === 'judgement' && e.round === 1,
  );
  assert.ok(first.killed, 'killed during round 1 judging');
  const second = await runUntil(
    ['run', file, '--root', root, '--resume', first.runId],
    (e) => e.type === 'train-step' && e.round === 2 && (e.step as number) >= 2,
  );
  assert.ok(second.killed, 'killed during round 2 training');
  const last = runCli(['run', file, '--root', root, '--resume', first.runId], {
    env,
    timeoutMs: 300_000,
  });
  assert.equal(last.status, 0, last.stderr);

  const resumed = snapshot(join(root, first.runId, 'run.sqlite'));
  assert.deepEqual(resumed, expected);
});

test('bad input: clear errors before any work, nothing stored is lost', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-bad-'));
  mkdirSync(join(dir, 'rubrics'));
  copyFileSync(fromRoot('rubrics/additive-5pt.hbs'), join(dir, 'rubrics', 'good.hbs'));
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  writeFileSync(join(dir, 'prompts.jsonl'), '{"prompt": [{"role": "user", "content": "Hi"}]}\n');
  writeFileSync(join(dir, 'empty.jsonl'), '');
  const base = (extra: string, prompts = 'prompts.jsonl', model = 'builtin:tiny') =>
    `name: bad\nmodel: { path: ${model} }\nprompts: { file: ${prompts} }\nstages:\n  - { kind: generate, candidates: 2 }\n${extra}`;

  const cases: [string, string, RegExp][] = [
    ['malformed.yaml', 'name: x\nstages: [\n', /malformed\.yaml:\d+:\d+/],
    [
      'unknown-key.yaml',
      base('  - { kind: judge, judge: self, rubric: rubrics/good.hbs, temprature: 1 }\n'),
      /unknown-key\.yaml:6:\d+: unknown key 'temprature'.*did you mean 'temperature'/,
    ],
    [
      'missing-model.yaml',
      base('', 'prompts.jsonl', 'models/nowhere'),
      /missing-model\.yaml:2:\d+: .*models\/nowhere/,
    ],
  ];
  write(
    'rubrics/broken.hbs',
    '---\nanswer_format: score-line\nscale: [0, 5]\nmode: pointwise\n---\n{{#if prompt}}unclosed\n',
  );
  cases.push([
    'broken-template.yaml',
    base('  - { kind: judge, judge: self, rubric: rubrics/broken.hbs }\n'),
    /broken\.hbs:\d+:\d+/,
  ]);
  write(
    'rubrics/extra-var.hbs',
    '---\nanswer_format: score-line\nscale: [0, 5]\nmode: pointwise\n---\n{{prompt}} {{response}} {{rubric_notes}}\n',
  );
  cases.push([
    'missing-var.yaml',
    base('  - { kind: judge, judge: self, rubric: rubrics/extra-var.hbs }\n'),
    /rubric_notes/,
  ]);
  for (const [name, text, pattern] of cases) {
    const r = runCli(['run', write(name, text), '--root', join(dir, 'runs')], { env });
    assert.equal(r.status, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, pattern, name);
    assert.doesNotMatch(r.stderr, /\n\s+at /, name);
  }
  const empty = runCli(
    ['run', write('empty.yaml', base('', 'empty.jsonl')), '--root', join(dir, 'runs')],
    { env },
  );
  assert.equal(empty.status, 1);
  assert.match(empty.stderr, /empty\.jsonl/);

  // runs/ that cannot be written (a file stands where the folder should be)
  writeFileSync(join(dir, 'runs-file'), 'not a folder');
  const ro = runCli(['run', write('ok.yaml', base('')), '--root', join(dir, 'runs-file')], { env });
  assert.equal(ro.status, 1);
  assert.match(ro.stderr, /runs-file/);
  assert.match(ro.stderr, /hint: /);

  // a rubric whose answers never parse: the run finishes, failures are stored with their reason
  const never = write(
    'never.yaml',
    base(
      '  - { kind: judge, judge: self, rubric: rubrics/good.hbs, samples: 1, max_new_tokens: 8 }\n  - { kind: pair }\n',
    ),
  );
  const n = runCli(['run', never, '--root', join(dir, 'runs2')], { env, timeoutMs: 300_000 });
  assert.equal(n.status, 0, n.stderr);
  const store = openStore(join(dir, 'runs2', onlyRun(join(dir, 'runs2')), 'run.sqlite'), {
    readonly: true,
  });
  try {
    const p = store.promptsForRound(1)[0];
    const judgements = store
      .candidatesForPrompt(1, p.id)
      .flatMap((c) => store.judgementsForCandidate(c.id));
    assert.ok(
      judgements.length > 0 &&
        judgements.every((j) => j.score === null && j.parseError && j.rawOutput !== null),
    );
    assert.deepEqual(store.discardCounts(1), { unscored: 1 });
  } finally {
    store.close();
  }
});
