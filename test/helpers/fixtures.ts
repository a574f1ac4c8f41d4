import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { repoRoot } from './paths.js';

/**
 * Reference fixtures computed by PyTorch/transformers live outside the repo, in
 * ../shared/fixtures (CI lays them there). RLAIF_FIXTURES overrides the folder.
 */
export function fixturesRoot(): string {
  return process.env.RLAIF_FIXTURES
    ? resolve(process.env.RLAIF_FIXTURES)
    : resolve(repoRoot, '..', 'shared', 'fixtures');
}

export const FIXTURE_HINT =
  'reference fixtures not found; set RLAIF_FIXTURES to the folder holding hf-tiny/, or build them ' +
  'with `python3 scripts/make-hf-tiny-fixtures.py <out>/hf-tiny` (needs torch, transformers, peft)';

/** Path of a fixture file or folder, or undefined after marking the test skipped with a hint. */
export function fixture(t: TestContext, ...parts: string[]): string | undefined {
  const p = join(fixturesRoot(), ...parts);
  if (!existsSync(p)) {
    t.skip(`${FIXTURE_HINT} (missing ${p})`);
    return undefined;
  }
  return p;
}
