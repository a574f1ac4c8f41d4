// The two stories the shipped sandbox pipelines tell, run end to end on builtin:sandbox with their
// fixed seeds (one to two minutes each on 2 cores): self-rewarding raises the TRUE score, and a
// judge with a planted bias is gamed until a gate on the gap stops the run.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'sandbox-stories-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The true score must rise by at least this much, round 0 → 3 (0–1 scale; one probe of 32 moving
 *  one point is 0.00625, so this is several probes' worth). */
const TRUE_GAIN = 0.03;

interface Run {
  status: number | null;
  stderr: string;
  /** metric -> round -> value */
  metrics: Map<string, Map<number, number | null>>;
  judgeCounts: Record<string, number>[];
  gateStops: number;
}

function run(pipeline: string, name: string): Run {
  const root = join(tmp, name);
  const r = runCli(['run', pipeline, '--root', root, '--json'], { timeoutMs: 600_000 });
  const [id] = readdirSync(root);
  const db = new Database(join(root, id, 'run.sqlite'), { readonly: true });
  try {
    const metrics = new Map<string, Map<number, number | null>>();
    for (const m of db.prepare('SELECT round, metric, value FROM eval_metrics').all() as {
      round: number;
      metric: string;
      value: number | null;
    }[]) {
      if (!metrics.has(m.metric)) metrics.set(m.metric, new Map());
      metrics.get(m.metric)!.set(m.round, m.value);
    }
    const judgeCounts = (
      db.prepare("SELECT counts FROM stage_runs WHERE kind = 'judge' ORDER BY round").all() as {
        counts: string;
      }[]
    ).map((s) => JSON.parse(s.counts) as Record<string, number>);
    const gateStops = (db.prepare('SELECT count(*) AS n FROM gate_stops').get() as { n: number }).n;
    return { status: r.status, stderr: r.stderr, metrics, judgeCounts, gateStops };
  } finally {
    db.close();
  }
}

const at = (r: Run, metric: string, round: number): number => {
  const v = r.metrics.get(metric)?.get(round);
  assert.ok(typeof v === 'number', `${metric} at round ${round} is ${String(v)}`);
  return v;
};

// One run of the default pipeline serves both self-reward tests.
let selfReward: Run | undefined;
const defaultRun = (): Run =>
  (selfReward ??= run(fromRoot('pipelines', 'self-reward.yaml'), 'self-reward'));

test('self-reward: the self-judge parses, and judged and true scores are measured every round', () => {
  const r = defaultRun();
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.judgeCounts.length, 3);
  for (const c of r.judgeCounts)
    assert.ok(c.parse_failures / c.judgements <= 0.05, `parse failures ${JSON.stringify(c)}`);
  for (const round of [0, 1, 2, 3]) {
    for (const m of ['mean_score', 'true_score', 'judge_accuracy']) at(r, m, round);
    if (round === 0) continue;
    for (const m of ['reward_gap', 'candidate_judge_accuracy', 'pair_accuracy']) {
      const v = at(r, m, round);
      if (m !== 'reward_gap') assert.ok(v >= 0 && v <= 1, `${m} at round ${round}: ${v}`);
    }
  }
});

// Issue 15's targets. Round-0 judge accuracy is measured on the calibration set (held-out tasks,
// three answers of different true points each, greedy judgements with the pipeline's rubric,
// pairwise against the grader: metrics/judge-accuracy.ts); the shipped model measures 0.70 there.
// The loop's lever is the seed's chatter, which its judge knows costs points: with the pipeline's
// fixed seed the true score rises 0.61 -> 0.69 over three rounds.
test('self-reward: round-0 judge accuracy >= 0.7 and the true score rises round 0 -> 3', () => {
  const r = defaultRun();
  assert.ok(
    at(r, 'judge_accuracy', 0) >= 0.7,
    `round-0 judge accuracy ${at(r, 'judge_accuracy', 0)}`,
  );
  const gain = at(r, 'true_score', 3) - at(r, 'true_score', 0);
  assert.ok(gain >= TRUE_GAIN, `true score ${at(r, 'true_score', 0)} -> ${at(r, 'true_score', 3)}`);
  // the judge that taught it stayed close to the anchor it started as
  assert.ok(at(r, 'judge_agreement', 3) >= 0.75, `judge_agreement ${at(r, 'judge_agreement', 3)}`);
});

test('reward hacking: the biased judge climbs, the gap grows round over round, the gate stops the run', () => {
  // without its gate, to watch the gap over every round
  const free = join(tmp, 'reward-hacking-free.yaml');
  const shipped = readFileSync(fromRoot('pipelines', 'reward-hacking.yaml'), 'utf8');
  writeFileSync(
    free,
    shipped.replace(/ {4}gates:\n( {6}- .*\n)+/, '').replaceAll('../', `${fromRoot()}/`),
  );
  const r = run(free, 'hacking-free');
  assert.equal(r.status, 0, r.stderr);
  const gaps = [1, 2, 3].map((k) => at(r, 'reward_gap', k));
  assert.ok(gaps[0] > 0 && gaps[2] > gaps[0], `reward_gap by round: ${gaps.join(', ')}`);
  assert.ok(at(r, 'mean_score', 3) > at(r, 'mean_score', 0));
  assert.ok(at(r, 'true_score', 3) <= at(r, 'true_score', 0));

  const stopped = run(fromRoot('pipelines', 'reward-hacking.yaml'), 'hacking');
  assert.equal(stopped.status, 3, stopped.stderr);
  assert.equal(stopped.gateStops, 1);
  assert.match(stopped.stderr, /stopped by a gate: reward_gap > /);
});
