// The sandbox model's build: deterministic from its recipe, and the shipped weights are the ones
// the committed recipe says it produced.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  RECIPE,
  SANDBOX_RECIPE_VERSION,
  buildSandboxModel,
} from '../../src/sandbox-build/build.js';
import { fromRoot } from '../helpers/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'sandbox-build-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// A few steps on a few rows: the whole recipe except the sizes, so this takes seconds.
const small = (out: string, seed?: number) =>
  buildSandboxModel({
    out: join(tmp, out),
    steps: 3,
    data: { ift: 48, eft: 48, ...(seed === undefined ? {} : { seed }) },
    check: false,
    log: () => {},
  });

test('the same recipe gives the same weights hash; another data seed gives other weights', async () => {
  const a = await small('a');
  const b = await small('b');
  assert.equal(a.weights, b.weights);
  assert.equal(a.dataHash, b.dataHash);
  const c = await small('c', 99);
  assert.notEqual(c.dataHash, a.dataHash);
  assert.notEqual(c.weights, a.weights);
});

test('the shipped sandbox model is the one its recipe.json records', () => {
  const dir = fromRoot('assets', 'sandbox-model');
  const recipe = JSON.parse(readFileSync(join(dir, 'recipe.json'), 'utf8')) as {
    recipe: unknown;
    weights: string;
    check: { judge_parsed: number; judge_pairwise: number };
  };
  // built by the recipe in the code, not an older one
  assert.deepEqual(recipe.recipe, JSON.parse(JSON.stringify(RECIPE)));
  const weights = createHash('sha256')
    .update(readFileSync(join(dir, 'model.safetensors')))
    .digest('hex');
  assert.equal(weights, recipe.weights);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  assert.equal(config.rlaif_builtin, `sandbox-v${SANDBOX_RECIPE_VERSION}`);
});
