import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PromptFileRow as SeedPrompt } from '../../src/prompts/prompt-set.js';
import { selectPrompts } from '../../src/run/round-prompts.js';
import type { PipelineSpec } from '../../src/spec/schema.js';

const all: SeedPrompt[] = Array.from({ length: 10 }, (_, i) => ({
  id: `p${i}`,
  messages: [{ role: 'user', content: `prompt ${i}` }],
}));
const spec = (per_round?: number, seed = 7) =>
  ({ seed, prompts: { file: 'seed.jsonl', per_round } }) as unknown as PipelineSpec;
const ids = (ps: SeedPrompt[]) => ps.map((p) => p.id);

test('selectPrompts: per_round of the set in file order, the same sample for the same round', () => {
  const r1 = ids(selectPrompts(spec(4), all, 1));
  assert.equal(r1.length, 4);
  assert.equal(new Set(r1).size, 4);
  assert.deepEqual(
    r1,
    [...r1].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))),
  );
  assert.deepEqual(ids(selectPrompts(spec(4), all, 1)), r1);
});

test('selectPrompts: a fresh sample each round and for each seed', () => {
  const rounds = [1, 2, 3, 4].map((r) => ids(selectPrompts(spec(4), all, r)).join());
  assert.ok(new Set(rounds).size > 1, `every round drew ${rounds[0]}`);
  const seeds = [1, 2, 3, 4].map((s) => ids(selectPrompts(spec(4, s), all, 1)).join());
  assert.ok(new Set(seeds).size > 1, `every seed drew ${seeds[0]}`);
});

test('selectPrompts: without per_round (or with more than the set) every prompt, in order', () => {
  assert.deepEqual(ids(selectPrompts(spec(), all, 3)), ids(all));
  assert.deepEqual(ids(selectPrompts(spec(50), all, 3)), ids(all));
});
