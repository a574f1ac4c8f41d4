// KTO labels from judge scores (label-candidates.ts) with known answers, TRL's class-balance
// advice (kto-rows.ts) against values worked by hand from TRL's rule, and the ledger table the
// labels live in (one row per candidate, idempotent, exactly one of label and dropped).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ktoRows, ktoWeightAdvice } from '../../src/stages/kto-rows.js';
import { labelCandidates, labelThresholds } from '../../src/stages/label-candidates.js';
import type { CandidateScore } from '../../src/stages/candidate-scores.js';
import { inputHash } from '../../src/store/hash.js';
import { seededStore } from '../store/fixtures.js';
import { candidateRow } from './rows.js';

const scored = (...xs: (number | null)[]): CandidateScore[] =>
  xs.map((score, i) => ({ candidate: candidateRow(`c${i}`), score, perJudge: {} }));
const verdicts = (xs: CandidateScore[], d: number, u: number) =>
  labelCandidates(xs, { desirable: d, undesirable: u }).map((v) => v.label ?? v.dropped);

describe('labelCandidates', () => {
  test('score >= desirable is desirable, <= undesirable is undesirable, between is the band', () => {
    assert.deepEqual(verdicts(scored(1, 0.7, 0.69, 0.5, 0.31, 0.3, 0), 0.7, 0.3), [
      'desirable',
      'desirable',
      'band',
      'band',
      'band',
      'undesirable',
      'undesirable',
    ]);
  });

  test('the thresholds hold up to float rounding (a mean of 0.8 is 0.8)', () => {
    // three samples on the 0-1 scale averaging 0.8: 2.4 / 3 = 0.7999999999999999 in float64
    const s = 2.4 / 3;
    assert.ok(s < 0.8);
    assert.deepEqual(verdicts(scored(s, 0.2 + 0.1), 0.8, 0.3), ['desirable', 'undesirable']);
  });

  test('unscored candidates are dropped, never guessed', () => {
    assert.deepEqual(verdicts(scored(null, 0.9, 0.1), 0.7, 0.3), [
      'unscored',
      'desirable',
      'undesirable',
    ]);
  });

  test('a prompt whose scored candidates all tie is dropped (the judge told them apart)', () => {
    assert.deepEqual(verdicts(scored(1, 1, null), 0.7, 0.3), ['tie', 'tie', 'unscored']);
    assert.deepEqual(verdicts(scored(0, 0), 0.7, 0.3), ['tie', 'tie']);
    // one scored answer is no tie: it is labelled on its own
    assert.deepEqual(verdicts(scored(1, null), 0.7, 0.3), ['desirable', 'unscored']);
    assert.deepEqual(verdicts(scored(1), 0.7, 0.3), ['desirable']);
  });

  test('labelThresholds refuses a missing or inverted pair of thresholds', () => {
    const spec = {
      kind: 'pair',
      strategy: 'label',
      min_margin: 0.1,
      length_control: 0,
      soft_labels: false,
      soft_label_temperature: 0.1,
    } as const;
    assert.deepEqual(
      labelThresholds({ ...spec, desirable_threshold: 0.7, undesirable_threshold: 0.3 }, 2),
      { desirable: 0.7, undesirable: 0.3 },
    );
    assert.throws(() => labelThresholds({ ...spec, desirable_threshold: 0.7 }, 2), /E_SPEC|label/);
    assert.throws(
      () => labelThresholds({ ...spec, desirable_threshold: 0.3, undesirable_threshold: 0.3 }, 2),
      /undesirable_threshold < desirable_threshold/,
    );
  });
});

describe("ktoWeightAdvice (TRL KTOTrainer's desirability balance)", () => {
  test('balanced counts never warn', () => {
    assert.equal(ktoWeightAdvice(5, 5, 1, 1), null);
    assert.equal(ktoWeightAdvice(5, 5, 3, 0.1), null);
  });

  test('8 desirable, 2 undesirable: warns at 1/1, with the ranges TRL prints', () => {
    // λ_D in [round(2·1/8, 2), round(2·1/8·1.33, 2)] = [0.25, 0.33];
    // λ_U in [round(8·1/2/1.33, 2), round(8·1/2, 2)] = [3.01, 4]
    const w = ktoWeightAdvice(8, 2, 1, 1);
    assert.ok(w);
    assert.match(
      w,
      /EITHER desirable_weight in \[0\.25, 0\.33\] OR undesirable_weight in \[3\.01, 4\]/,
    );
    assert.equal(ktoWeightAdvice(8, 2, 0.3, 1), null, 'λ_D in range');
    assert.equal(ktoWeightAdvice(8, 2, 1, 4), null, 'λ_U in range');
    assert.equal(ktoWeightAdvice(8, 2, 1, 3.5), null, 'λ_D·n_D / (λ_U·n_U) = 8/7, in [1, 4/3]');
    assert.ok(ktoWeightAdvice(8, 2, 1, 2), 'ratio 2');
  });

  test('one class missing counts as 1, as TRL does (max(n, 1))', () => {
    // n_D = 3, n_U = max(0, 1) = 1: λ_U in [round(3/1.33, 2), 3] = [2.26, 3]
    assert.equal(ktoWeightAdvice(3, 0, 1, 2.5), null);
    assert.match(ktoWeightAdvice(3, 0, 1, 1)!, /undesirable_weight in \[2\.26, 3\]/);
  });
});

describe('candidate_labels in the ledger', () => {
  test('one row per candidate, stored once, read back as KTO rows', () => {
    const { store } = seededStore(':memory:');
    const prompt = store.addPrompt({
      round: 0,
      stageIndex: 0,
      source: 'seed',
      messages: [{ role: 'user', content: 'Say hi.' }],
      inputHash: 'p',
    });
    const cand = (idx: number, text: string) =>
      store.addCandidate({
        round: 0,
        stageIndex: 0,
        promptId: prompt,
        idx,
        text,
        sampling: { temperature: 1, top_p: 1, top_k: 0, max_new_tokens: 8 },
        origin: 'sample',
        inputHash: `c${idx}`,
      });
    const ids = [cand(0, 'Hi!'), cand(1, 'Go away.'), cand(2, 'Hm.')];
    const label = (i: number, score: number, v: object, hash = inputHash('label', i)) =>
      store.addCandidateLabel({
        round: 0,
        stageIndex: 2,
        inputHash: hash,
        promptId: prompt,
        candidateId: ids[i],
        score,
        label: null,
        dropped: null,
        desirableThreshold: 0.7,
        undesirableThreshold: 0.3,
        ...v,
      });
    const first = label(0, 1, { label: 'desirable' });
    assert.equal(label(0, 1, { label: 'desirable' }), first, 'a resumed stage stores it once');
    label(1, 0, { label: 'undesirable' });
    label(2, 0.5, { dropped: 'band' });
    assert.equal(store.labelsForRound(0).length, 3);
    assert.throws(
      () => label(2, 0.5, { label: 'desirable', dropped: 'band' }, 'both'),
      /CHECK|constraint/i,
    );
    const kto = ktoRows(store, 0);
    assert.equal(kto.desirable, 1);
    assert.equal(kto.undesirable, 1);
    assert.deepEqual(kto.rows, [
      {
        prompt: [{ role: 'user', content: 'Say hi.' }],
        completion: [{ role: 'assistant', content: 'Hi!' }],
        label: true,
      },
      {
        prompt: [{ role: 'user', content: 'Say hi.' }],
        completion: [{ role: 'assistant', content: 'Go away.' }],
        label: false,
      },
    ]);
    store.close();
  });
});
