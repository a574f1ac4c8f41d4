// Meta-Rewarding end to end (test/fixtures/meta-judge.yaml, the sandbox model, one round): the
// meta-judge's battles are stored in both orders, the round stores judge-role pairs with their
// provenance, and the train stage trains on them together with the actor pairs.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';

const root = mkdtempSync(join(tmpdir(), 'meta-judge-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Battle {
  candidate_id: string;
  judgement_a_id: string;
  judgement_b_id: string;
  p_a: number;
  verdict: string;
  rendered_prompt: string;
}
interface JudgePair {
  id: string;
  candidate_id: string;
  chosen_judgement_id: string;
  rejected_judgement_id: string;
  chosen_elo: number;
  rejected_elo: number;
  prompt_text: string;
  battles: number;
  dropped: string | null;
}

test('a meta-judge round stores judge-role pairs and the train stage trains on them', () => {
  const r = runCli(['run', fromRoot('test/fixtures/meta-judge.yaml'), '--root', root], {
    timeoutMs: 300_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const [id] = readdirSync(root);
  const db = new Database(join(root, id, 'run.sqlite'), { readonly: true });
  try {
    const counts = (kind: string) =>
      JSON.parse(
        (db.prepare('SELECT counts FROM stage_runs WHERE kind = ?').get(kind) as { counts: string })
          .counts,
      ) as Record<string, number>;
    const judge = counts('judge');
    const train = counts('train');

    // every battle is stored, and each in both orders
    const battles = db.prepare('SELECT * FROM meta_judgements').all() as Battle[];
    assert.ok(battles.length > 0);
    assert.equal(judge.meta_battles, battles.length);
    const key = (a: string, b: string) => `${a}|${b}`;
    const shown = new Set(battles.map((b) => key(b.judgement_a_id, b.judgement_b_id)));
    for (const b of battles) {
      assert.ok(shown.has(key(b.judgement_b_id, b.judgement_a_id)), 'the swapped order is stored');
      assert.equal(b.verdict, b.p_a >= 0.5 ? 'A' : 'B');
      // both judgements judge the battle's candidate, and the prompt shows them
      for (const jid of [b.judgement_a_id, b.judgement_b_id]) {
        const j = db
          .prepare('SELECT candidate_id, raw_output FROM judgements WHERE id = ?')
          .get(jid) as { candidate_id: string; raw_output: string };
        assert.equal(j.candidate_id, b.candidate_id);
        assert.ok(b.rendered_prompt.includes(j.raw_output));
      }
    }

    // judge-role pairs: two judgements of one answer, chosen rated above rejected
    const pairs = db.prepare('SELECT * FROM judge_pairs').all() as JudgePair[];
    const trained = pairs.filter((p) => p.dropped === null);
    assert.ok(trained.length > 0, 'the round stored judge-role pairs');
    assert.equal(judge.judge_pairs, trained.length);
    for (const p of pairs) {
      assert.ok(p.chosen_elo > p.rejected_elo);
      assert.ok(p.battles > 0);
      const of = (jid: string) =>
        db
          .prepare('SELECT candidate_id, rendered_prompt FROM judgements WHERE id = ?')
          .get(jid) as { candidate_id: string; rendered_prompt: string };
      for (const jid of [p.chosen_judgement_id, p.rejected_judgement_id]) {
        assert.equal(of(jid).candidate_id, p.candidate_id);
        assert.equal(of(jid).rendered_prompt, p.prompt_text);
      }
    }

    // the train stage trained on actor and judge pairs together: 1 epoch, batch 4
    const actor = (db.prepare('SELECT count(*) AS n FROM pairs').get() as { n: number }).n;
    assert.equal(train.pairs, actor);
    assert.equal(train.judge_pairs, trained.length);
    assert.equal(train.steps, Math.ceil((actor + trained.length) / 4));
    const steps = (db.prepare('SELECT count(*) AS n FROM train_steps').get() as { n: number }).n;
    assert.equal(steps, train.steps);
  } finally {
    db.close();
  }
});
