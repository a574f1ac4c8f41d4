// Continuous batching (issue 14): a request that arrives while others decode joins the running
// loop at its next step — shorter prompts left-padded to where the batch is, longer ones moving
// the batch right — and leaves it when done. Each request's tokens and log-probs must be what it
// gets alone, and a bad request fails alone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalEngine } from '../../src/engine/local-engine.js';
import { DEFAULT_GENERATE, type GenerateOptions } from '../../src/engine/index.js';

let engine: LocalEngine;
before(() => {
  engine = LocalEngine.open('builtin:tiny', { threads: 1 });
});
after(() => engine.close());

const base = (over: Partial<GenerateOptions>): GenerateOptions => ({
  ...DEFAULT_GENERATE,
  maxNewTokens: 12,
  ignoreEos: true,
  ...over,
});

/** One request alone (no continuous batching): its completions' ids and log-probs. */
async function alone(text: string, o: GenerateOptions) {
  const { results } = await engine.generate([{ text }], { ...o, seeds: [o.seed] });
  return results[0].completions.map((c) => ({ ids: c.tokenIds, logprobs: c.logprobs }));
}

const close = (a: number[], b: number[]) =>
  a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) < 1e-4);

for (const greedy of [true, false])
  test(`requests joining a running loop get what they get alone (${greedy ? 'greedy' : 'sampled'})`, async () => {
    const o = (seed: number, n = 1) =>
      base({ seed, n, greedy, temperature: greedy ? 0 : 0.9, topP: 0.95, continuous: true });
    // A decodes; B (shorter prompt) joins after A's 3rd token, C (much longer prompt, 2
    // candidates) after B's 2nd: C's prompt is longer than the batch, so everyone moves right.
    const texts = {
      A: 'Tell me a story',
      B: 'Hi',
      C: 'A much longer prompt than the others, which makes the whole batch move right by a lot',
    };
    let bStarted: Promise<unknown> | undefined;
    let cStarted: Promise<unknown> | undefined;
    let aTokens = 0;
    let bTokens = 0;
    const startC = () =>
      (cStarted ??= engine.generate([{ text: texts.C }], { ...o(30, 2), seeds: [30] }));
    const startB = () =>
      (bStarted ??= engine.generate(
        [{ text: texts.B }],
        { ...o(20), seeds: [20] },
        undefined,
        () => {
          if (++bTokens === 2) void startC();
        },
      ));
    const a = await engine.generate(
      [{ text: texts.A }],
      { ...o(10), seeds: [10] },
      undefined,
      () => {
        if (++aTokens === 3) void startB();
      },
    );
    const b = (await bStarted) as Awaited<ReturnType<LocalEngine['generate']>>;
    const c = (await cStarted) as Awaited<ReturnType<LocalEngine['generate']>>;
    // they shared steps: at most A+B, then A+B+C's two rows
    assert.ok(
      (b.stats.maxStepRows ?? 0) >= 2 && (c.stats.maxStepRows ?? 0) >= 3,
      JSON.stringify(c.stats),
    );
    const got = {
      A: a.results[0].completions,
      B: b.results[0].completions,
      C: c.results[0].completions,
    };
    for (const [k, seed, n] of [
      ['A', 10, 1],
      ['B', 20, 1],
      ['C', 30, 2],
    ] as const) {
      const want = await alone(texts[k], { ...o(seed, n), continuous: false });
      assert.equal(got[k].length, n);
      got[k].forEach((c, i) => {
        assert.deepEqual(c.tokenIds, want[i].ids, `${k}[${i}] tokens`);
        assert.ok(close(c.logprobs, want[i].logprobs), `${k}[${i}] log-probs`);
      });
    }
  });

test('a bad request fails alone; others in the loop finish; other sampling waits its turn', async () => {
  const o = base({ greedy: true, temperature: 0, continuous: true, seed: 1 });
  const tooLong = 'word '.repeat(400); // past builtin:tiny's positions with max_new_tokens
  const [ok, bad, other] = await Promise.allSettled([
    engine.generate([{ text: 'Hello there' }], o),
    engine.generate([{ text: tooLong }], { ...o, maxNewTokens: 2000 }),
    engine.generate([{ text: 'Hello there' }], { ...o, greedy: false, temperature: 0.7 }),
  ]);
  assert.equal(ok.status, 'fulfilled');
  assert.equal(bad.status, 'rejected');
  assert.match(String((bad as PromiseRejectedResult).reason), /exceeds the model's/);
  assert.equal(other.status, 'fulfilled');
  const want = await alone('Hello there', { ...o, continuous: false });
  assert.deepEqual(
    (ok as PromiseFulfilledResult<Awaited<ReturnType<LocalEngine['generate']>>>).value.results[0]
      .completions[0].tokenIds,
    want[0].ids,
  );
});
