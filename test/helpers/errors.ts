import assert from 'node:assert/strict';
import { isPipelineError } from '../../src/core/errors.js';

/**
 * Asserts that `fn` throws a PipelineError with `code` whose message contains every mention (a
 * substring or a pattern) and that says how to fix it (a hint): the shape every bad-input error
 * of this project must have.
 */
export function throwsCode(
  fn: () => unknown,
  code: string,
  ...mentions: (string | RegExp)[]
): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isPipelineError(e), `expected a PipelineError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const m of mentions)
      if (typeof m === 'string') assert.ok(e.message.includes(m), `'${m}' not in: ${e.message}`);
      else assert.match(e.message, m);
    assert.ok(e.hint, 'every error carries a hint');
    return true;
  });
}
