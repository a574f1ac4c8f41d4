// The evaluate stage's drift formulas on fixed inputs, each expected value worked out by hand in
// the comment beside it, and the gates' comparison at its boundaries.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { GateSpec } from '../../src/spec/schema.js';
import type { RunContext } from '../../src/stages/context.js';
import { MetricLog } from '../../src/stages/evaluate/metric-log.js';
import { firedGates, gateHolds } from '../../src/stages/evaluate/metrics/gates.js';
import {
  meanScore,
  parseFailureRate,
  scoreHistogram,
} from '../../src/stages/evaluate/metrics/judge-scores.js';
import { k3, klEstimate } from '../../src/stages/evaluate/metrics/kl.js';
import { Rng } from '../../src/core/rng.js';
import { charLengths, meanLength, meanTokens } from '../../src/stages/evaluate/metrics/length.js';
import { logprobShift, perTokenLogprob } from '../../src/stages/evaluate/metrics/logprob-shift.js';
import { mean } from '../../src/stages/evaluate/metrics/mean.js';
import { phraseRate } from '../../src/stages/evaluate/metrics/phrase-rate.js';
import { countViolations, violationRate } from '../../src/stages/evaluate/metrics/violations.js';
import { winRate } from '../../src/stages/evaluate/metrics/win-rate.js';

describe('mean', () => {
  test('sums left to right from 0 and divides by n', () => {
    assert.equal(mean([1, 2, 4]), 7 / 3);
    // 0.1 + 0.2 = 0.30000000000000004, + 0.3 = 0.6000000000000001, / 3 = 0.20000000000000004:
    // the summation order shows in the last digit
    assert.equal(mean([0.1, 0.2, 0.3]), 0.20000000000000004);
  });

  test('no data is NaN, not 0', () => {
    assert.ok(Number.isNaN(mean([])));
  });
});

describe('anchor judge scores', () => {
  test('mean score over the parsed scores', () => {
    // (0.5 + 0.5 + 1 + 0) / 4 = 0.5
    assert.equal(meanScore([0.5, 0.5, 1, 0]), 0.5);
    assert.ok(Number.isNaN(meanScore([])));
  });

  test('histogram keys are scores rounded to 2 decimals', () => {
    // 0.333 and 0.3333 both round to 0.33; 1 is written "1"
    assert.deepEqual(scoreHistogram([0.5, 0.333, 1, 0.5, 0.3333]), { '0.5': 2, '0.33': 2, '1': 1 });
    assert.deepEqual(scoreHistogram([]), {});
  });

  test('parse-failure rate, 0 without answers', () => {
    assert.equal(parseFailureRate(1, 4), 0.25);
    assert.equal(parseFailureRate(0, 0), 0);
  });
});

describe('violations', () => {
  test('failures per rule, every rule listed in first-seen order', () => {
    // rule a fails twice, b once, c never: a -> 2, b -> 1, c -> 0
    const counts = countViolations([
      [
        { name: 'a', passed: false },
        { name: 'b', passed: true },
        { name: 'c', passed: true },
      ],
      [],
      [
        { name: 'a', passed: false },
        { name: 'b', passed: false },
        { name: 'c', passed: true },
      ],
    ]);
    assert.deepEqual(
      [...counts],
      [
        ['a', 2],
        ['b', 1],
        ['c', 0],
      ],
    );
    // 2 failures over 4 answers
    assert.equal(violationRate(2, 4), 0.5);
  });
});

describe('lengths', () => {
  test('characters are UTF-16 code units; missing token ids count 0', () => {
    // 'ab' 2, '' 0, 'héllo' 5 (é is one code unit), '🙂' 2 (a surrogate pair)
    const lengths = charLengths(['ab', '', 'héllo', '🙂']);
    assert.deepEqual(lengths, [2, 0, 5, 2]);
    // (2 + 0 + 5 + 2) / 4 = 2.25
    assert.equal(meanLength(lengths), 2.25);
    // (2 + 1 + 0 + 0) / 4 = 0.75
    assert.equal(meanTokens([[1, 2], [3], null, undefined]), 0.75);
  });
});

describe('phrase rate', () => {
  test('an answer counts once however many phrases it contains', () => {
    // answers 1 (two phrases, curly apostrophe and case normalised) and 3 hit, 2 does not: 2 / 3
    const texts = ["I'm sorry, as an AI I can't.", 'Sure, here it is.', 'I’M   SORRY.'];
    assert.deepEqual(phraseRate(texts, ['i’m sorry', 'As an AI']), { hits: 2, rate: 2 / 3 });
  });

  test('no answers is NaN', () => {
    const r = phraseRate([], ['sorry']);
    assert.equal(r.hits, 0);
    assert.ok(Number.isNaN(r.rate));
  });
});

describe('win rate', () => {
  test('ties count half; probes without both scores are left out', () => {
    // a wins (0.8 > 0.6), b ties (0.5 = 0.5), d loses (0.2 < 0.4); c is null now, e has no
    // round-0 score, f's round-0 score is null: n = 3, win = (1 + 1/2) / 3 = 0.5, tie = 1/3
    const now = new Map<string, number | null>([
      ['a', 0.8],
      ['b', 0.5],
      ['c', null],
      ['d', 0.2],
      ['e', 0.9],
      ['f', 0.7],
    ]);
    const before = { a: 0.6, b: 0.5, c: 0.4, d: 0.4, f: null };
    assert.deepEqual(winRate(now, before), {
      wins: 1,
      losses: 1,
      ties: 1,
      winRate: 0.5,
      tieRate: 1 / 3,
    });
  });

  test('all ties is 0.5; nothing comparable is NaN', () => {
    const tie = winRate(new Map([['a', 1]]), { a: 1 });
    assert.equal(tie.winRate, 0.5);
    assert.equal(tie.tieRate, 1);
    const none = winRate(new Map([['a', 1]]), {});
    assert.ok(Number.isNaN(none.winRate) && Number.isNaN(none.tieRate));
  });
});

describe('log-prob shift', () => {
  test('mean per-token log-prob, token count clamped to 1', () => {
    // (-4 / 2 + -3 / max(1, 0)) / 2 = (-2 - 3) / 2 = -2.5
    const now = perTokenLogprob([
      { logps: -4, tokens: 2 },
      { logps: -3, tokens: 0 },
    ]);
    assert.equal(now, -2.5);
    // -2.5 - (-2) = -0.5
    assert.equal(logprobShift(now, -2), -0.5);
  });
});

describe('kl (k3 on samples from M_r)', () => {
  test('k3 = (r − 1) − log r, worked by hand', () => {
    // p = 0.5, q = 0.25: r = 0.5, k3 = −0.5 − ln 0.5 = −0.5 + 0.6931471805599453 = 0.1931471805599453
    assert.ok(Math.abs(k3(Math.log(0.5), Math.log(0.25)) - 0.1931471805599453) < 1e-15);
    // r = 1 (the two models agree): 0
    assert.equal(k3(-1.25, -1.25), 0);
  });

  test('k3 is never negative, whichever model likes the token better', () => {
    for (const [lp, lq] of [
      [-0.1, -5],
      [-5, -0.1],
      [-2, -2.000001],
      [-30, -1e-9],
      [-1e-9, -30],
    ])
      assert.ok(k3(lp, lq) >= 0, `k3(${lp}, ${lq}) = ${k3(lp, lq)}`);
    // the k1 estimator (log p − log q) on these same tokens would be negative: the old `kl -0.0202`
    assert.ok(klEstimate([{ p: [-5, -3], q: [-0.1, -0.2] }]) > 0);
  });

  test('mean over answers of the per-token mean; answers without tokens are left out', () => {
    // answer 1: tokens with r = 1 (0) and r = 0.5 (0.19314718...): mean 0.09657359...
    // answer 2: one token with r = 1: 0; mean over the two answers: 0.04828679...
    const v = klEstimate([
      { p: [-1, Math.log(0.5)], q: [-1, Math.log(0.25)] },
      { p: [-2], q: [-2] },
      { p: [], q: [] },
    ]);
    assert.ok(Math.abs(v - 0.1931471805599453 / 4) < 1e-15);
    assert.ok(Number.isNaN(klEstimate([])));
  });

  test('on a categorical example the estimate approaches the exact KL(p || q)', () => {
    // p = (0.5, 0.3, 0.2), q = (0.2, 0.3, 0.5):
    // KL = 0.5 ln 2.5 + 0.3 ln 1 + 0.2 ln 0.4 = 0.3 ln 2.5 = 0.27488721956224653
    const p = [0.5, 0.3, 0.2];
    const q = [0.2, 0.3, 0.5];
    const exact = 0.3 * Math.log(2.5);
    const rng = new Rng(2026);
    const draw = (): number => {
      const u = rng.nextFloat();
      return u < 0.5 ? 0 : u < 0.8 ? 1 : 2;
    };
    const n = 200_000;
    const tokens = Array.from({ length: n }, draw);
    const est = klEstimate([
      { p: tokens.map((k) => Math.log(p[k])), q: tokens.map((k) => Math.log(q[k])) },
    ]);
    // the k3 terms here lie in [0, 1.5 − ln 2.5] with variance < 0.2: the standard error at
    // n = 200000 is below 0.001, so 0.005 is five standard errors
    assert.ok(Math.abs(est - exact) < 0.005, `estimate ${est} vs exact ${exact}`);
  });
});

describe('gates', () => {
  const gate = (metric: string, op: GateSpec['op'], value: number): GateSpec =>
    ({ metric, op, value, action: 'stop' }) as GateSpec;

  test('each comparison at, below and above its threshold', () => {
    const at = (op: GateSpec['op']) => [0.4, 0.5, 0.6].map((v) => gateHolds(op, v, 0.5));
    assert.deepEqual(at('<'), [true, false, false]);
    assert.deepEqual(at('<='), [true, true, false]);
    assert.deepEqual(at('>'), [false, false, true]);
    assert.deepEqual(at('>='), [false, true, true]);
  });

  test('missing or non-finite metrics fire nothing; hits keep the file order', () => {
    const gates = [
      gate('kl', '>', 0.1),
      gate('win_rate', '<', 0.5),
      gate('missing', '<', 1),
      gate('tie_rate', '>=', 0),
      gate('mean_score', '>=', 0),
    ];
    const metrics = { kl: 0.25, win_rate: 0.5, tie_rate: NaN, mean_score: 0 };
    assert.deepEqual(firedGates(gates, metrics), [
      { gate: gates[0], value: 0.25 },
      { gate: gates[4], value: 0 },
    ]);
  });
});

describe('metric log', () => {
  function fakeContext() {
    const stored: { metric: string; value: number | null; detail: unknown }[] = [];
    const emitted: { metric: string; value: number }[] = [];
    const ctx = {
      store: {
        putEvalMetric: (m: { metric: string; value: number | null; detail: unknown }) =>
          stored.push({ metric: m.metric, value: m.value, detail: m.detail }),
        evalMetrics: () => [
          { round: 0, metric: 'mean_score', stageIndex: 3, value: 0.5 },
          { round: 0, metric: 'mean_score', stageIndex: 4, value: 0.7 },
          { round: 1, metric: 'mean_score', stageIndex: 3, value: 0.6 },
        ],
      },
      emit: (e: { metric: string; value: number }) =>
        emitted.push({ metric: e.metric, value: e.value }),
    } as unknown as RunContext;
    return { ctx, stored, emitted };
  }

  test('NaN is stored as null and not emitted; only recorded metrics reach the gates', () => {
    const { ctx, stored, emitted } = fakeContext();
    const log = new MetricLog(ctx, 1, 3);
    log.record('win_rate', NaN, { wins: 0 });
    log.record('kl', 0.25);
    log.put('reference_logprob', -1.5);
    assert.deepEqual(stored, [
      { metric: 'win_rate', value: null, detail: { wins: 0 } },
      { metric: 'kl', value: 0.25, detail: null },
      { metric: 'reference_logprob', value: -1.5, detail: null },
    ]);
    assert.deepEqual(emitted, [
      { metric: 'kl', value: 0.25 },
      { metric: 'reference_logprob', value: -1.5 },
    ]);
    assert.ok(Number.isNaN(log.values.win_rate));
    assert.equal(log.values.kl, 0.25);
    assert.equal('reference_logprob' in log.values, false);
  });

  test('round 0 baseline is this stage index’s', () => {
    const log = new MetricLog(fakeContext().ctx, 2, 3);
    assert.equal(log.atRound0('mean_score')?.value, 0.5);
    assert.equal(log.atRound0('kl'), undefined);
  });
});
