// The batcher over a stand-in engine: which requests share an engine call, and how one bad
// request in a shared call is kept from failing the others.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_GENERATE, type GenerateResult, type PromptInput } from '../../src/engine/index.js';
import { Batcher, type BatchEngine, type GenerateJob } from '../../src/serve/batcher.js';

type Call = { prompts: string[]; seeds: number[] | undefined; temperature: number };

/** Echoes each prompt; a prompt 'bad' fails the call after the prompts before it are done. */
function fakeEngine(calls: Call[]): BatchEngine {
  return {
    async generate(prompts, opts, onResult) {
      const texts = prompts.map((p) => (p as { text: string }).text);
      calls.push({ prompts: texts, seeds: opts.seeds, temperature: opts.temperature });
      await new Promise((r) => setTimeout(r, 10));
      const results: GenerateResult[] = [];
      for (const [index, text] of texts.entries()) {
        if (text === 'bad') throw new Error('bad prompt');
        const result = {
          promptTokenIds: [1],
          completions: [
            {
              text: `${text}/${opts.seeds?.[index]}`,
              tokenIds: [2],
              finishReason: 'length' as const,
              logprobs: [-1],
            },
          ],
        };
        results.push(result);
        onResult?.({
          index,
          result,
          stats: { prefillTokens: 0, prefillMs: 0, decodeTokens: 0, decodeMs: 0 },
        });
      }
      return { results, stats: { prefillTokens: 0, prefillMs: 0, decodeTokens: 0, decodeMs: 0 } };
    },
  };
}

const { seed: _seed, seeds: _seeds, ...options } = DEFAULT_GENERATE;
const job = (text: string | string[], seed: number, over = {}): GenerateJob => ({
  prompts: (Array.isArray(text) ? text : [text]).map((t): PromptInput => ({ text: t })),
  options: { ...options, ...over },
  seed,
});

test('requests waiting together with equal options share one call; each keeps its seeds', async () => {
  const calls: Call[] = [];
  const b = new Batcher(fakeEngine(calls), { maxBatchSize: 8, maxQueue: 16 });
  const first = b.submit(job('a', 1));
  const rest = [
    b.submit(job('b', 2)),
    b.submit(job(['c', 'd'], 3)),
    b.submit(job('e', 4, { temperature: 0.5 })),
  ];
  const out = await Promise.all([first, ...rest]);
  assert.deepEqual(
    calls.map((c) => c.prompts),
    [['a', 'b', 'c', 'd'], ['e']],
  );
  assert.deepEqual(calls[0].seeds, [1, 2, 3, 3 + 1_000_003]);
  assert.deepEqual(
    out.map((r) => r.map((x) => x.completions[0].text)),
    [['a/1'], ['b/2'], ['c/3', `d/${3 + 1_000_003}`], ['e/4']],
  );
  assert.deepEqual(b.stats, { calls: 2, requests: 4, largestBatch: 3, largestStep: 0 });
});

test('maxBatchSize bounds the sequences (prompts x n) per call', async () => {
  const calls: Call[] = [];
  const b = new Batcher(fakeEngine(calls), { maxBatchSize: 2, maxQueue: 16 });
  await Promise.all(['a', 'b', 'c', 'd', 'e'].map((t, i) => b.submit(job(t, i))));
  assert.deepEqual(
    calls.map((c) => c.prompts),
    [['a', 'b'], ['c', 'd'], ['e']],
  );
  calls.length = 0;
  await Promise.all([b.submit(job('f', 1, { n: 2 })), b.submit(job('g', 2, { n: 2 }))]);
  assert.deepEqual(
    calls.map((c) => c.prompts),
    [['f'], ['g']],
  );
});

test("a bad request in a shared call fails alone: each of that call's requests runs again alone", async () => {
  const calls: Call[] = [];
  const b = new Batcher(fakeEngine(calls), { maxBatchSize: 8, maxQueue: 16 });
  const [ok1, bad, ok2] = await Promise.allSettled([
    b.submit(job('a', 1)),
    b.submit(job('bad', 2)),
    b.submit(job('c', 3)),
  ]);
  assert.equal(ok1.status, 'fulfilled');
  assert.equal(bad.status, 'rejected');
  assert.equal(ok2.status === 'fulfilled' && ok2.value[0].completions[0].text, 'c/3');
  assert.deepEqual(
    calls.map((c) => c.prompts),
    [['a', 'bad', 'c'], ['a'], ['bad'], ['c']],
  );
});

test('a full queue refuses at once with 429', async () => {
  const b = new Batcher(fakeEngine([]), { maxBatchSize: 1, maxQueue: 1 });
  const running = b.submit(job('a', 1));
  while (b.waiting) await new Promise((r) => setTimeout(r, 1)); // 'a' is taken: running
  const waiting = b.submit(job('b', 2));
  assert.throws(
    () => b.submit(job('c', 3)),
    (e: { status?: number }) => e.status === 429,
  );
  await Promise.all([running, waiting]);
  await b.idle();
  assert.equal(b.busy, false);
});
