// Retry delays: exponential in the attempt, with half of each delay random (equal jitter).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelayMs } from '../../src/judges/backoff.js';

test('backoff doubles per attempt and jitters within the upper half of each delay', () => {
  assert.equal(
    backoffDelayMs(1, 500, () => 0),
    250,
  );
  assert.equal(
    backoffDelayMs(1, 500, () => 1),
    500,
  );
  assert.equal(
    backoffDelayMs(3, 500, () => 0),
    1000,
  );
  assert.equal(
    backoffDelayMs(3, 500, () => 1),
    2000,
  );
  const seen = new Set(Array.from({ length: 20 }, () => backoffDelayMs(2, 500)));
  assert.ok(seen.size > 1, 'two failed requests do not retry at the same moment');
  for (const d of seen) assert.ok(d >= 500 && d <= 1000, String(d));
});
