import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cohenKappa, humanAgreement, humanAgreementMetrics } from '../../src/audit/agreement.js';
import { humanPrefers, type AuditItemRow, type AuditLabel } from '../../src/store/ledger/audit.js';

const rep = <T>(x: T, n: number): T[] => Array.from({ length: n }, () => x);

describe("Cohen's kappa", () => {
  test('the textbook 2x2 case: 20 yes-yes, 5 yes-no, 10 no-yes, 15 no-no gives 0.4', () => {
    // p_o = 35/50 = 0.7; p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; κ = 0.2 / 0.5
    const a = [...rep('y', 25), ...rep('n', 25)];
    const b = [...rep('y', 20), ...rep('n', 5), ...rep('y', 10), ...rep('n', 15)];
    assert.ok(Math.abs(cohenKappa(a, b) - 0.4) < 1e-12);
  });

  test('three categories, by hand: 13/25', () => {
    // p_o = 4/6; p_e = (3·1 + 2·3 + 1·2) / 36 = 11/36; κ = (24 − 11) / (36 − 11)
    const a = ['A', 'A', 'B', 'B', 'tie', 'A'];
    const b = ['A', 'B', 'B', 'B', 'tie', 'tie'];
    assert.ok(Math.abs(cohenKappa(a, b) - 13 / 25) < 1e-12);
  });

  test('perfect agreement is 1, systematic disagreement negative, one shared category undefined', () => {
    assert.equal(cohenKappa(['A', 'B', 'A'], ['A', 'B', 'A']), 1);
    assert.equal(cohenKappa(['A', 'B'], ['B', 'A']), -1);
    assert.ok(Number.isNaN(cohenKappa(['A', 'A'], ['A', 'A'])));
    assert.ok(Number.isNaN(cohenKappa([], [])));
    assert.throws(() => cohenKappa(['A'], []));
  });
});

function item(label: AuditLabel | null, swapped: boolean, k: number): AuditItemRow {
  return {
    ...{ id: `au_${k}`, round: 1, stageIndex: 3, pairId: `pr_${k}`, stratum: 's' },
    ...{ swapped, position: k, label, note: null, annotator: label ? 'ann' : null },
    labelledAt: label ? '2026-12-03T00:00:00.000Z' : null,
  };
}

describe('judge vs human on audited pairs', () => {
  test('labels read as chosen / rejected through the shown order', () => {
    assert.equal(humanPrefers('A', false), 'chosen');
    assert.equal(humanPrefers('A', true), 'rejected');
    assert.equal(humanPrefers('B', true), 'chosen');
    assert.equal(humanPrefers('tie', true), 'tie');
    assert.equal(humanPrefers('skip', false), 'skip');
  });

  test('agreement and kappa on positions; skips and unlabelled items left out', () => {
    const items = [
      item('A', false, 0), // judge A, human A: agree
      item('A', true, 1), // judge B, human A: reversed
      item('B', true, 2), // judge B, human B: agree
      item('tie', false, 3), // judge A, human tie
      item('skip', false, 4),
      item(null, true, 5),
    ];
    const a = humanAgreement(items);
    assert.equal(a.drawn, 6);
    assert.equal(a.labelled, 5);
    assert.equal(a.complete, 5 / 6);
    assert.equal(a.compared, 4);
    assert.equal(a.agreement, 2 / 4);
    assert.equal(a.ties, 1);
    assert.equal(a.reversed, 1);
    // judge [A, B, B, A], human [A, A, B, tie]: p_o = 2/4, p_e = (2·2 + 2·1 + 0·1) / 16 = 6/16
    assert.ok(Math.abs(a.kappa - (8 / 16 - 6 / 16) / (1 - 6 / 16)) < 1e-12);
    const names = humanAgreementMetrics(a).map((m) => m.metric);
    assert.deepEqual(names, ['audit_complete', 'judge_human_agreement', 'judge_human_kappa']);
  });

  test('before any label only audit_complete is a metric (0), after none drawn it is 1', () => {
    const none = humanAgreement([item(null, false, 0), item(null, true, 1)]);
    assert.equal(none.complete, 0);
    assert.deepEqual(
      humanAgreementMetrics(none).map((m) => [m.metric, m.value]),
      [['audit_complete', 0]],
    );
    assert.equal(humanAgreement([]).complete, 1);
  });
});
