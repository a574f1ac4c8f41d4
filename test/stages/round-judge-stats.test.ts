// position_bias and inter_judge_agreement: by hand on fixed verdicts, then end to end with a
// pairwise server judge (a local OpenAI-compatible server) that always answers (A), the purest
// position bias there is.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { positionBias } from '../../src/stages/evaluate/metrics/position-bias.js';
import { runCliAsync } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';
import { startFakeServer } from '../judges/fake-openai-server.js';

const tmp = mkdtempSync(join(tmpdir(), 'round-judge-stats-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('positionBias', () => {
  test('same slot in both orders is positional; swapped winners are consistent; ties neither', () => {
    // (A,A) positional, (B,B) positional, (A,B) consistent, (B,A) consistent, (tie,A) neither,
    // (A,null) not a comparison -> 2 of 5 comparisons positional
    const r = positionBias([
      ['A', 'A'],
      ['B', 'B'],
      ['A', 'B'],
      ['B', 'A'],
      ['tie', 'A'],
      ['A', null],
    ]);
    // parsed verdicts: A A B B A B B A tie A A -> 6 of 11 chose (A)
    assert.deepEqual(r, {
      bias: 2 / 5,
      comparisons: 5,
      positional: 2,
      consistent: 2,
      first_slot_rate: 6 / 11,
    });
    assert.ok(Number.isNaN(positionBias([[null, 'A']]).bias));
  });
});

test('a pairwise judge that always answers (A) has position bias 1; two judges get an agreement', async () => {
  const s = await startFakeServer({ answer: () => 'Both are fine.\nVerdict: (A)' });
  try {
    const file = join(tmp, 'pipeline.yaml');
    writeFileSync(
      file,
      [
        'name: position-bias',
        'seed: 9',
        'model: { path: builtin:tiny }',
        'rounds: 1',
        `prompts: { file: ${fromRoot('prompts', 'seed.jsonl')}, per_round: 2 }`,
        'judges:',
        `  server: { kind: openai, base_url: '${s.baseUrl}', model: fake-judge }`,
        '  len: { kind: rule, rules: [{ kind: length, max: 15 }, { kind: length, max: 25 }, { kind: length, max: 35 }, { kind: length, max: 50 }] }',
        'stages:',
        '  - { kind: generate, candidates: 3, max_new_tokens: 16 }',
        '  - kind: judge',
        '    judges: [server, len]',
        `    rubric: ${fromRoot('rubrics', 'pairwise-principle.hbs')}`,
        `    constitution: ${fromRoot('constitutions', 'helpful-harmless.md')}`,
        '    mode: pairwise',
        '  - { kind: pair, strategy: max-min, min_margin: 0.01 }',
        '  - { kind: train, loss: sigmoid, learning_rate: 1.0e-3, max_steps: 1, batch_size: 2 }',
        `  - { kind: evaluate, probes: ${fromRoot('prompts', 'probes.jsonl')}, judge: len, max_new_tokens: 8 }`,
      ].join('\n') + '\n',
    );
    const root = join(tmp, 'runs');
    const r = await runCliAsync(['run', file, '--root', root], {}, 300_000);
    assert.equal(r.status, 0, r.stderr);
    const db = new Database(join(root, readdirSync(root)[0], 'run.sqlite'), { readonly: true });
    try {
      const m = (name: string) =>
        db
          .prepare('SELECT value, detail FROM eval_metrics WHERE round = 1 AND metric = ?')
          .get(name) as { value: number; detail: string } | undefined;
      const bias = m('position_bias');
      assert.ok(bias, 'position_bias recorded at round 1');
      assert.equal(bias.value, 1);
      const detail = JSON.parse(bias.detail) as { comparisons: number; first_slot_rate: number };
      // 2 prompts x 3 candidates: 3 unordered pairs each, judged in both orders
      assert.equal(detail.comparisons, 6);
      assert.equal(detail.first_slot_rate, 1);
      // the server's verdicts cancel out (a tie for every candidate), so every pair the length
      // rule orders is half agreed: ½
      const agree = m('inter_judge_agreement');
      assert.ok(agree, 'inter_judge_agreement recorded at round 1');
      assert.equal(agree.value, 0.5);
      assert.deepEqual(Object.keys(JSON.parse(agree.detail).pairs), ['server~len']);
      // judge_score/<judge>: the server's orders cancel out, so every candidate's win share is ½
      const server = m('judge_score/server')!;
      assert.equal(server.value, 0.5);
      assert.deepEqual(JSON.parse(server.detail).scores, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
      const len = JSON.parse(m('judge_score/len')!.detail) as { scale: number[]; scores: number[] };
      assert.deepEqual(len.scale, [0, 1]);
      assert.equal(len.scores.length, 6);
    } finally {
      db.close();
    }
  } finally {
    await s.close();
  }
});
