import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPipelineError } from '../../src/core/errors.js';

/** Assert that fn throws a PipelineError with this code, whose message matches every pattern. */
export function throwsCode(fn: () => unknown, code: string, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isPipelineError(e), `expected a PipelineError, got ${String(e)}`);
    assert.equal(e.code, code, `wrong code; message was: ${e.message}`);
    for (const p of patterns) assert.match(e.message, p);
    assert.ok(e.hint && e.hint.length > 0, 'every error carries a hint');
    return true;
  });
}

let dir: string | undefined;

/** Write a scratch file (removed when the test process exits) and return its path. */
export function scratch(name: string, text: string): string {
  if (!dir) {
    const d = mkdtempSync(join(tmpdir(), 'rlaif-prompts-'));
    dir = d;
    process.on('exit', () => rmSync(d, { recursive: true, force: true }));
  }
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
