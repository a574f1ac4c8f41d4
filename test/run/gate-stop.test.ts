// A gate that stops a run, end to end through the real CLI on builtin:tiny: the stored status,
// gate, value and round; the gate-stop event in the run's log; exit code 3; what `runs`, `show`,
// `drift` and `report` say; a refused resume; round 0 skipped unless `from_round: 0`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  COMPUTED_GATE_METRICS,
  GATE_METRIC_SOURCES,
} from '../../src/spec/validate/gate-metrics.js';
import { openStore } from '../../src/store/run-store.js';
import type { RunStore } from '../../src/store/run-store.js';
import { runCli } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';

const env = { RLAIF_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rlaif-cache-')) };
const EXIT_GATE_STOP = 3;

/** Runs a fixture into a fresh root; returns the root, the run id and the CLI result. */
function runFixture(name: string) {
  const root = mkdtempSync(join(tmpdir(), 'rlaif-gate-'));
  const file = fromRoot(`test/fixtures/${name}`);
  const r = runCli(['run', file, '--root', root], { env, timeoutMs: 300_000 });
  const dirs = readdirSync(root);
  assert.equal(dirs.length, 1, `one run under ${root}: ${dirs.join(', ')}\n${r.stderr}`);
  return { root, id: dirs[0], file, r };
}

function withStore<T>(root: string, id: string, fn: (s: RunStore) => T): T {
  const store = openStore(join(root, id, 'run.sqlite'), { readonly: true });
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

test('a stop gate ends the run as stopped: stored, logged, shown, exit 3, not resumable', () => {
  const { root, id, file, r } = runFixture('gate-stop.yaml');
  assert.equal(r.status, EXIT_GATE_STOP, r.stderr);
  const line = /stopped by a gate: mean_length >= 0 \(value [\d.]+\) at round 1, stage 4/;
  assert.match(r.stderr, line);

  const before = withStore(root, id, (store) => {
    assert.equal(store.getRun()!.status, 'stopped');
    const length1 = store.evalMetrics().find((m) => m.round === 1 && m.metric === 'mean_length');
    const stops = store.gateStops().map(({ createdAt: _t, ...g }) => g);
    assert.deepEqual(stops, [
      {
        runId: id,
        round: 1,
        stageIndex: 4,
        gateIndex: 1,
        metric: 'mean_length',
        op: '>=',
        threshold: 0,
        action: 'stop',
        value: length1!.value,
      },
    ]);
    // the event log keeps the stop as a typed event
    const events = store.listEvents({ types: ['gate-stop'] });
    assert.equal(events.length, 1);
    assert.equal(events[0].round, 1);
    assert.equal(events[0].stageIndex, 4);
    assert.deepEqual(events[0].data, {
      gate: 1,
      metric: 'mean_length',
      op: '>=',
      threshold: 0,
      value: length1!.value,
    });
    // round 0 held too (a length is never negative) but gates start at round 1 by default
    const gates = store.listEvents({ types: ['gate'] });
    assert.deepEqual(
      gates.map((e) => e.round),
      [1, 1],
    );
    assert.equal(store.stagesForRound(2).length, 0, 'nothing of round 2 ran');
    // every metric a gate may name is really stored by the evaluate stage
    const atRound1 = new Set(
      store
        .evalMetrics()
        .filter((m) => m.round === 1)
        .map((m) => m.metric),
    );
    // (the ground-truth metrics need sandbox probes: test/sandbox-loop covers them; the judge
    // metrics need a self-judge, a pairwise or a mixed judge stage: test/stages covers them;
    // the judge-vs-human ones an audit stage: test/audit covers them)
    for (const m of COMPUTED_GATE_METRICS) {
      const source = GATE_METRIC_SOURCES[m];
      if (
        source.field !== 'ground_truth' &&
        !source.selfJudge &&
        !source.judgeStage &&
        !source.audit
      )
        assert.ok(atRound1.has(m), `${m} computed`);
    }
    return { stages: store.stagesForRound(1), counts: store.runCounts() };
  });

  const runs = runCli(['runs', '--root', root], { env });
  assert.equal(runs.status, 0, runs.stderr);
  assert.match(runs.stdout, new RegExp(`${id}\\s+stopped\\s`));
  const show = runCli(['show', id, '--root', root], { env });
  assert.equal(show.status, 0, show.stderr);
  assert.match(show.stdout, /^run \S+ \(gate-stop\): stopped,/m);
  assert.match(
    show.stdout,
    /^stopped by gate: mean_length >= 0 \(value [\d.]+\) at round 1, stage 4$/m,
  );
  const drift = runCli(['drift', id, '--root', root], { env });
  assert.equal(drift.status, 0, drift.stderr);
  assert.match(drift.stdout, /^stopped by gate: mean_length >= 0 \(value [\d.]+\) at round 1/m);
  const driftJson = runCli(['drift', id, '--root', root, '--json'], { env });
  assert.equal(JSON.parse(driftJson.stdout).gateStops[0].metric, 'mean_length');
  const out = join(root, 'report.html');
  const report = runCli(['report', id, '--root', root, '--out', out], { env });
  assert.equal(report.status, 0, report.stderr);
  assert.match(readFileSync(out, 'utf8'), /stopped by gate<\/th><td>mean_length &gt;= 0 \(value/);

  // resuming is refused, and the refusal changes nothing stored
  const resume = runCli(['run', file, '--root', root, '--resume', id], { env });
  assert.equal(resume.status, 1, resume.stderr);
  assert.match(resume.stderr, /was stopped by a gate: mean_length >= 0 .* it is not resumed/);
  assert.match(resume.stderr, /E_RESUME_GATE_STOPPED/);
  withStore(root, id, (store) => {
    assert.equal(store.getRun()!.status, 'stopped');
    assert.deepEqual(store.stagesForRound(1), before.stages);
    assert.deepEqual(store.runCounts(), before.counts);
  });
});

test('from_round: 0 lets a gate stop the run on the untrained baseline', () => {
  const { root, id, r } = runFixture('gate-round0.yaml');
  assert.equal(r.status, EXIT_GATE_STOP, r.stderr);
  assert.match(
    r.stderr,
    /stopped by a gate: mean_length >= 0 \(value [\d.]+\) at round 0, stage 4/,
  );
  withStore(root, id, (store) => {
    assert.equal(store.getRun()!.status, 'stopped');
    assert.deepEqual(
      store.gateStops().map((g) => [g.round, g.stageIndex, g.metric]),
      [[0, 4, 'mean_length']],
    );
    assert.equal(store.stagesForRound(1).length, 0, 'no round was trained');
    assert.equal(store.listCheckpoints().filter((c) => c.kind !== 'base').length, 0);
  });
});
