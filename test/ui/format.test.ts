import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatSeconds,
  formatNumber,
  formatRate,
  formatReasons,
  oneLine,
  progressBar,
  sparkline,
} from '../../src/ui/format.js';

test('sparkline maps the range onto ▁..█', () => {
  assert.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7]), '▁▂▃▄▅▆▇█');
  assert.equal(sparkline([7, 0]), '█▁');
  assert.equal(sparkline([]), '');
  assert.equal(sparkline([2, 2, 2]), '▄▄▄', 'flat draws mid-height');
});

test('sparkline shows non-finite values as gaps and ignores them for the scale', () => {
  assert.equal(sparkline([0, NaN, 1, Infinity]), '▁ █ ');
  assert.equal(sparkline([NaN, NaN]), '  ');
});

test('sparkline averages long series into the width', () => {
  const values = Array.from({ length: 1000 }, (_, i) => i);
  const s = sparkline(values, 8);
  assert.equal(s, '▁▂▃▄▅▆▇█');
  assert.equal(sparkline([1, 2, 3], 10).length, 3, 'short series are not stretched');
});

test('progressBar', () => {
  assert.equal(progressBar(0, 10, 10), '░'.repeat(10));
  assert.equal(progressBar(5, 10, 10), '█'.repeat(5) + '░'.repeat(5));
  assert.equal(progressBar(20, 10, 4), '████');
  assert.equal(progressBar(3, 0, 4), '░░░░', 'unknown total');
});

test('formatSeconds', () => {
  assert.equal(formatSeconds(4.24), '4.2s');
  assert.equal(formatSeconds(42), '42s');
  assert.equal(formatSeconds(187), '3:07');
  assert.equal(formatSeconds(3723), '1:02:03');
  assert.equal(formatSeconds(null), '–');
  assert.equal(formatSeconds(NaN), '–');
});

test('formatRate and formatNumber', () => {
  assert.equal(formatRate(12.34), '12/s');
  assert.equal(formatRate(1.234), '1.2/s');
  assert.equal(formatRate(0.4211), '0.42/s');
  assert.equal(formatRate(1234), '1.2k/s');
  assert.equal(formatRate(null), '–');
  assert.equal(formatNumber(0.693147), '0.6931');
  assert.equal(formatNumber(5e-6), '5.00e-6');
  assert.equal(formatNumber(3), '3');
  assert.equal(formatNumber(NaN), 'NaN');
  assert.equal(formatNumber(-Infinity), '-inf');
});

test('formatReasons sorts by count and skips zeros', () => {
  assert.equal(formatReasons({ tie: 1, below_margin: 4, none: 0 }), 'below_margin 4, tie 1');
});

test('oneLine collapses whitespace and cuts with an ellipsis', () => {
  assert.equal(oneLine(' a\n b\t c ', 10), 'a b c');
  assert.equal(oneLine('abcdefghij', 5), 'abcd…');
});
