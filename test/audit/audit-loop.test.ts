// The human audit through the real CLI: a round that waits for its audit stops with exit code 4;
// labels come back by CSV; the resumed round trains on the human's verdicts and stores the
// judge-vs-human metrics.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { cohenKappa } from '../../src/audit/agreement.js';
import { openRun } from '../../src/report/open-run.js';
import { runCli } from '../helpers/cli.js';

const EXIT_AWAITING_AUDIT = 4;
const tmp = mkdtempSync(join(tmpdir(), 'rlaif-audit-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const root = join(tmp, 'runs');
const file = 'test/fixtures/audit.yaml';
let runId = '';

before(() => {
  const r = runCli(['run', file, '--root', root]);
  assert.equal(r.status, EXIT_AWAITING_AUDIT, r.stderr);
  assert.match(r.stderr, /waits for its human audit/);
  assert.match(r.stderr, /pipeline audit .* then continue with `pipeline run .* --resume/);
  runId = readdirSync(root)[0];
});

describe('pipeline audit with a round that waits', () => {
  test('the stopped run resumes only into the same wait while labels are missing', () => {
    const again = runCli(['run', file, '--root', root, '--resume', runId]);
    assert.equal(again.status, EXIT_AWAITING_AUDIT, again.stderr);
    const store = openRun(root, runId);
    try {
      assert.equal(store.getRun()?.status, 'interrupted');
      assert.equal(store.auditItems().length, 3, 'the resumed stage drew the same three again');
      assert.equal(store.getStage(1, 3)?.status, 'interrupted');
      assert.equal(store.getStage(1, 4), undefined, 'nothing trained on unaudited pairs');
    } finally {
      store.close();
    }
  });

  test('a bad CSV is refused by line, and nothing of it is stored', () => {
    const out = join(tmp, 'queue.csv');
    assert.equal(runCli(['audit', runId, '--root', root, '--export', out]).status, 0);
    const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
    rows[0].label = 'A';
    rows[1].label = 'maybe';
    const bad = join(tmp, 'bad.csv');
    writeFileSync(bad, stringify(rows, { header: true }));
    const r = runCli(['audit', runId, '--root', root, '--import', bad, '--annotator', 'bob']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /bad\.csv:3: label 'maybe' is not one of A, B, tie, skip/);
    const store = openRun(root, runId);
    try {
      assert.equal(store.auditLabels().length, 0);
    } finally {
      store.close();
    }
  });

  test('labels by CSV, then the resumed round trains on the human verdicts', () => {
    const out = join(tmp, 'queue.csv');
    const exported = runCli(['audit', runId, '--root', root, '--export', out]);
    assert.equal(exported.status, 0, exported.stderr);
    const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
    assert.equal(rows.length, 3);
    assert.ok(rows.every((r) => r.answer_a && r.answer_b && r.prompt && r.label === ''));
    // agree with the judge on item 1, reverse it on item 2, tie on item 3
    const store = openRun(root, runId);
    const items = store.auditItems(1);
    store.close();
    const slot = (k: number) => (items[k].swapped ? 'B' : 'A');
    const other = (k: number) => (items[k].swapped ? 'A' : 'B');
    const labels = [slot(0), other(1), 'tie'];
    rows.forEach((r, k) => {
      assert.equal(r.item_id, items[k].id);
      r.label = labels[k];
      r.annotator = 'alice';
      r.note = k === 1 ? 'the rejected answer is the honest one' : '';
    });
    const labelled = join(tmp, 'labelled.csv');
    writeFileSync(labelled, stringify(rows, { header: true }));
    const before = runCli(['show', runId, '--root', root]);
    assert.match(
      before.stdout,
      new RegExp(`^audit round 1: 0/3 labelled \\(label with \`pipeline audit ${runId}\`\\)$`, 'm'),
    );
    const imported = runCli(['audit', runId, '--root', root, '--import', labelled]);
    assert.equal(imported.status, 0, imported.stderr);
    assert.match(imported.stdout, /stored 3 labels/);
    assert.match(imported.stdout, /round 1: 3\/3 labelled; judge vs human: agreement 0\.33/);

    const resumed = runCli(['run', file, '--root', root, '--resume', runId]);
    assert.equal(resumed.status, 0, resumed.stderr);
    const done = openRun(root, runId);
    try {
      assert.equal(done.getRun()?.status, 'finished');
      const show = runCli(['show', runId, '--root', root]);
      assert.match(show.stdout, /^audit round 1: 3\/3 labelled; judge vs human: agreement 0\.33/m);
      const train = done.getStage(1, 4)!;
      assert.deepEqual(
        [train.counts?.human_kept, train.counts?.human_swapped, train.counts?.human_dropped],
        [1, 1, 1],
      );
      assert.equal(train.counts?.pairs, done.pairsForRound(1).length - 1, 'the tie is dropped');
      const m = new Map(
        done
          .evalMetrics()
          .filter((x) => x.round === 1)
          .map((x) => [x.metric, x.value]),
      );
      assert.equal(m.get('audit_complete'), 1);
      assert.ok(Math.abs(m.get('judge_human_agreement')! - 1 / 3) < 1e-12);
      const judge = items.map((i) => (i.swapped ? 'B' : 'A'));
      assert.ok(Math.abs(m.get('judge_human_kappa')! - cohenKappa(judge, labels)) < 1e-12);
      const notes = done.auditLabels().map((l) => [l.annotator, l.note]);
      assert.deepEqual(notes[1], ['alice', 'the rejected answer is the honest one']);
      // the judge's pairs are kept as they were: the override lives in training only
      assert.equal(done.getPair(items[1].pairId)?.strategy, 'max-min');
    } finally {
      done.close();
    }
  });
});
