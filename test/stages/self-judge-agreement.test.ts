// Watching the judge end to end: a two-round sandbox run whose policy judges itself stores
// judge_agreement, judge_tau, judge_score_drift and judge_flip_rate every round, and the stored
// values follow from the stored judgements (recomputed here from the database).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  kendallTauB,
  pairwiseAgreement,
} from '../../src/stages/evaluate/metrics/judge-agreement.js';
import { runCli } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'self-judge-agreement-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('the self-judge is measured against the anchor and against its round-0 self, every round', () => {
  const probes = join(tmp, 'probes.jsonl');
  const rows = readFileSync(fromRoot('prompts', 'sandbox-probes.jsonl'), 'utf8').split('\n');
  writeFileSync(probes, rows.slice(0, 10).join('\n') + '\n');
  const file = join(tmp, 'watch.yaml');
  writeFileSync(
    file,
    [
      'name: watch-judge',
      'seed: 3',
      'model: { path: builtin:sandbox }',
      'rounds: 2',
      `prompts: { file: ${fromRoot('prompts', 'sandbox-train.jsonl')}, per_round: 6 }`,
      'judges: { anchor: { kind: model, path: builtin:sandbox } }',
      'stages:',
      '  - { kind: generate, candidates: 3, max_new_tokens: 24 }',
      `  - { kind: judge, judges: [self], rubric: ${fromRoot('rubrics', 'sandbox-5pt.hbs')}, samples: 1, max_new_tokens: 40 }`,
      '  - { kind: pair, strategy: max-min, min_margin: 0.1 }',
      '  - { kind: train, loss: sigmoid, learning_rate: 3.0e-3, max_steps: 3, batch_size: 2 }',
      `  - { kind: evaluate, probes: ${probes}, judge: anchor, max_new_tokens: 24 }`,
    ].join('\n') + '\n',
  );
  const root = join(tmp, 'runs');
  const r = runCli(['run', file, '--root', root], { timeoutMs: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const db = new Database(join(root, readdirSync(root)[0], 'run.sqlite'), { readonly: true });
  try {
    const metric = (round: number, name: string) =>
      db
        .prepare('SELECT value, detail FROM eval_metrics WHERE round = ? AND metric = ?')
        .get(round, name) as { value: number | null; detail: string } | undefined;
    for (const round of [0, 1, 2]) {
      for (const m of ['judge_agreement', 'judge_score_drift', 'judge_flip_rate']) {
        const v = metric(round, m)?.value;
        assert.ok(typeof v === 'number' && v >= 0 && v <= 1, `${m} at round ${round}: ${v}`);
      }
      // recompute the agreement from the stored judgements of this round's probe answers
      const scores = db
        .prepare(
          `SELECT c.id AS cand, j.judge_id AS judge, j.score AS score
           FROM judgements j JOIN candidates c ON c.id = j.candidate_id
           JOIN prompts p ON p.id = c.prompt_id
           WHERE p.source = 'probe' AND c.round = ? AND j.round = ? ORDER BY c.idx, p.id`,
        )
        .all(round, round) as { cand: string; judge: string; score: number | null }[];
      const cands = [...new Set(scores.map((s) => s.cand))];
      assert.equal(cands.length, 10, `probe answers judged at round ${round}`);
      const of = (judge: string) =>
        cands.map((c) => scores.find((s) => s.cand === c && s.judge === judge)!.score);
      const agree = pairwiseAgreement(of('anchor'), of('self'));
      assert.equal(metric(round, 'judge_agreement')!.value, agree.agreement);
      const tau = kendallTauB(of('anchor'), of('self'));
      assert.equal(metric(round, 'judge_tau')?.value ?? NaN, Number.isNaN(tau) ? NaN : tau);
      // the calibration pairs: both judges' scores of every answer both parsed, on 0-1 by the
      // 0-5 rubric scale (sandbox-5pt.hbs), self first (compared as sets: the stored order is
      // the probe file's)
      const unit = (s: number | null) => (s === null ? null : s / 5);
      const expected = cands.flatMap((_c, i) => {
        const [s, a] = [unit(of('self')[i]), unit(of('anchor')[i])];
        return s === null || a === null ? [] : [[s, a]];
      });
      const calibration = JSON.parse(metric(round, 'judge_agreement')!.detail) as {
        calibration: { judge: string; reference: string; pairs: number[][] };
      };
      const sorted = (ps: number[][]) => ps.map((p) => p.join(',')).sort();
      const { pairs, ...who } = calibration.calibration;
      assert.deepEqual(who, { judge: 'self', reference: 'anchor' });
      assert.deepEqual(sorted(pairs), sorted(expected));
    }
    // round 0 is the baseline: the self-judge has not moved against itself
    assert.equal(metric(0, 'judge_score_drift')!.value, 0);
    assert.equal(metric(0, 'judge_flip_rate')!.value, 0);
    // from round 1 the re-scored set is round 0's answers, judged by the new checkpoint
    const rejudged = db
      .prepare(
        `SELECT count(*) AS n FROM judgements j JOIN candidates c ON c.id = j.candidate_id
         WHERE j.judge_id = 'self' AND j.round = 2 AND c.round = 0`,
      )
      .get() as { n: number };
    assert.equal(rejudged.n, 10);
    // judge_score/self: the judge stage's scores of the round's candidates on 0-1 (none at round 0)
    assert.equal(metric(0, 'judge_score/self'), undefined);
    for (const round of [1, 2]) {
      const stage = db
        .prepare(
          `SELECT avg(j.score) AS s FROM judgements j JOIN candidates c ON c.id = j.candidate_id
           JOIN prompts p ON p.id = c.prompt_id
           WHERE p.source != 'probe' AND j.round = ? AND j.judge_id = 'self' AND j.score IS NOT NULL
           GROUP BY c.id ORDER BY c.id`,
        )
        .all(round) as { s: number }[];
      const m = metric(round, 'judge_score/self')!;
      const detail = JSON.parse(m.detail) as { scale: number[]; scores: number[] };
      assert.deepEqual(detail.scale, [0, 5]);
      assert.equal(detail.scores.length, stage.length);
      const unit = stage.map((x) => x.s / 5);
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum(detail.scores) - sum(unit)) < 1e-9);
      assert.ok(Math.abs(m.value! - sum(unit) / unit.length) < 1e-9);
    }
  } finally {
    db.close();
  }
});
