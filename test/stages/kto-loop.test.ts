// KTO in the loop, end to end on the embedded model: a pair stage with strategy label stores one
// label row per candidate (desirable, undesirable, or dropped with the reason, as its thresholds
// say of the stored score), its counts match the rows, and the train stage trains TRL's KTO loss
// on exactly the labelled candidates: steps recorded with KTO's metrics, the label weights as
// written, TRL's balance warning when the weights do not balance the classes, and
// `pipeline export --format kto` writes the same rows.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ktoWeightAdvice } from '../../src/stages/kto-rows.js';
import { runCli } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'kto-loop-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const D = 0.5;
const U = 0.2;

function pipeline(weights: string): string {
  const file = join(tmp, `kto-${readdirSync(tmp).length}.yaml`);
  writeFileSync(
    file,
    [
      'name: kto-loop',
      'seed: 7',
      'model: { path: builtin:tiny }',
      'rounds: 1',
      `prompts: { file: ${fromRoot('prompts', 'seed.jsonl')}, per_round: 4 }`,
      'judges:',
      '  len:',
      '    kind: rule',
      // scores 0, 1/3, 2/3, 1: with the thresholds below 1/3 falls in the band
      '    rules: [{ kind: length, max: 40 }, { kind: length, max: 50 }, { kind: length, max: 60 }]',
      'stages:',
      '  - { kind: generate, candidates: 3, temperature: 1.0, max_new_tokens: 24 }',
      `  - { kind: judge, judge: len, rubric: ${fromRoot('rubrics', 'additive-5pt.hbs')} }`,
      `  - { kind: pair, strategy: label, desirable_threshold: ${D}, undesirable_threshold: ${U} }`,
      `  - { kind: train, loss: kto, beta: 0.1, learning_rate: 1.0e-3, max_steps: 3, batch_size: 4${weights} }`,
    ].join('\n') + '\n',
  );
  return file;
}

interface Label {
  prompt_id: string;
  score: number | null;
  label: string | null;
  dropped: string | null;
}

function run(file: string) {
  const root = join(tmp, `runs-${readdirSync(tmp).length}`);
  const r = runCli(['run', file, '--root', root, '--json'], { timeoutMs: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; message?: string });
  const id = readdirSync(root)[0];
  const db = new Database(join(root, id, 'run.sqlite'), { readonly: true });
  try {
    const all = <T>(sql: string) => db.prepare(sql).all() as T[];
    const counts = Object.fromEntries(
      all<{ kind: string; counts: string }>(
        'SELECT kind, counts FROM stage_runs ORDER BY stage_index',
      ).map((s) => [s.kind, JSON.parse(s.counts) as Record<string, number>]),
    );
    return {
      root,
      id,
      events,
      counts,
      labels: all<Label>(
        'SELECT prompt_id, score, label, dropped FROM candidate_labels ORDER BY rowid',
      ),
      candidates: all<{ n: number }>('SELECT count(*) AS n FROM candidates')[0].n,
      pairs: all<{ n: number }>('SELECT count(*) AS n FROM pairs')[0].n,
      steps: all<{ metrics: string }>('SELECT metrics FROM train_steps ORDER BY step').map(
        (s) => JSON.parse(s.metrics) as Record<string, number>,
      ),
    };
  } finally {
    db.close();
  }
}

const BALANCED = ', desirable_weight: 1.0, undesirable_weight: 1.0';
let first: ReturnType<typeof run> | undefined;

test('labels by the thresholds, counted; KTO trains on the labelled candidates', () => {
  const r = run(pipeline(BALANCED));
  first = r;
  // every candidate has a row; none is a pair
  assert.equal(r.labels.length, r.candidates);
  assert.equal(r.candidates, 12);
  assert.equal(r.pairs, 0);
  for (const l of r.labels) {
    const scored = r.labels.filter((x) => x.prompt_id === l.prompt_id && x.score !== null);
    const tie = scored.length >= 2 && scored.every((x) => x.score === scored[0].score);
    const want =
      l.score === null
        ? 'unscored'
        : tie
          ? 'tie'
          : l.score >= D
            ? 'desirable'
            : l.score <= U
              ? 'undesirable'
              : 'band';
    assert.equal(l.label ?? l.dropped, want, JSON.stringify(l));
  }
  const n = (v: string) => r.labels.filter((l) => (l.label ?? l.dropped) === v).length;
  const nD = n('desirable');
  const nU = n('undesirable');
  assert.ok(nD > 0 && nU > 0, `both classes, or the run shows little (${nD}, ${nU})`);
  assert.ok(n('band') > 0, 'a band drop, or the test shows nothing of the band');

  // the stage counts are the rows' counts
  const pairCounts: Record<string, number> = { desirable: nD, undesirable: nU };
  for (const why of ['band', 'tie', 'unscored'])
    if (n(why)) pairCounts[`discarded:${why}`] = n(why);
  assert.deepEqual(r.counts.pair, pairCounts);
  assert.deepEqual(r.counts.train, { desirable: nD, undesirable: nU, steps: 3 });

  // KTO's steps: TRL's metric names; an epoch's steps hold every labelled row once
  assert.equal(r.steps.length, 3);
  for (const m of r.steps) {
    for (const k of ['loss', 'kl', 'rewards/chosen', 'rewards/rejected', 'logps/chosen'])
      assert.ok(Number.isFinite(m[k]), `${k} = ${m[k]}`);
    const rows = m['count/chosen'] + m['count/rejected'];
    assert.ok(rows >= 1 && rows <= 4, `a batch of at most 4 rows, got ${rows}`);
  }
  const epoch = r.steps.slice(0, Math.ceil((nD + nU) / 4));
  if (Math.ceil((nD + nU) / 4) <= r.steps.length) {
    assert.equal(
      epoch.reduce((a, m) => a + m['count/chosen'], 0),
      nD,
    );
    assert.equal(
      epoch.reduce((a, m) => a + m['count/rejected'], 0),
      nU,
    );
  }
  // at step 1 the policy is the reference: r = 0, z0 = 0, every row's loss is 1 − σ(0) = 0.5
  assert.ok(Math.abs(r.steps[0].loss - 0.5) < 1e-5, `first loss ${r.steps[0].loss}`);
  assert.ok(r.steps[2].loss < r.steps[0].loss, 'KTO lowered its loss');

  // TRL's balance warning, exactly when its rule says so
  const warned = r.events.some(
    (e) => e.type === 'warning' && /KTOTrainer recommends/.test(e.message ?? ''),
  );
  assert.equal(warned, ktoWeightAdvice(nD, nU, 1, 1) !== null);

  // export --format kto writes the rows the train stage trained on
  const exported = runCli(['export', r.id, '--root', r.root, '--format', 'kto']);
  assert.equal(exported.status, 0, exported.stderr);
  const rows = exported.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { prompt: unknown[]; completion: unknown[]; label: boolean });
  assert.equal(rows.length, nD + nU);
  assert.equal(rows.filter((x) => x.label).length, nD);
  assert.deepEqual(Object.keys(rows[0]), ['prompt', 'completion', 'label']);
});

test('the label weights reach the loss: first-step loss = mean of λ · 0.5 over the rows', () => {
  const r = run(pipeline(', desirable_weight: 2.0, undesirable_weight: 0.5'));
  const m = r.steps[0];
  // at step 1 each row's unweighted loss is 0.5 (see above), so the batch mean is
  // (2.0 · n_chosen + 0.5 · n_rejected) · 0.5 / (n_chosen + n_rejected)
  const n = m['count/chosen'] + m['count/rejected'];
  const want = ((2.0 * m['count/chosen'] + 0.5 * m['count/rejected']) * 0.5) / n;
  assert.ok(m['count/chosen'] > 0 && m['count/rejected'] > 0, 'both labels in step 1');
  assert.ok(Math.abs(m.loss - want) < 1e-5, `loss ${m.loss} vs ${want}`);
});

test('the same seed labels and trains the same, to the bit', () => {
  assert.ok(first, 'the first test ran');
  const again = run(pipeline(BALANCED));
  // ids differ (they hash the run's id); what was judged and labelled does not
  const verdicts = (x: typeof first) =>
    x!.labels.map(({ score, label, dropped }) => [score, label, dropped]);
  assert.deepEqual(verdicts(again), verdicts(first));
  assert.deepEqual(
    again.steps.map((m) => m.loss),
    first.steps.map((m) => m.loss),
  );
});
