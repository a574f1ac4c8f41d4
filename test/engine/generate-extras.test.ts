import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEFAULT_GENERATE } from '../../src/engine/generate/generate.js';
import { LocalEngine } from '../../src/engine/local-engine.js';

let engine: LocalEngine;
before(() => {
  engine = LocalEngine.open('builtin:tiny', { threads: 1 });
});
after(() => engine.close());

const prompt = { text: 'The sky is' };

test('topLogprobs: each step lists the k most likely tokens, most likely first, and the texts', async () => {
  const opts = { ...DEFAULT_GENERATE, maxNewTokens: 6, ignoreEos: true, seed: 3, topLogprobs: 4 };
  const { results } = await engine.generate([prompt], opts);
  const c = results[0].completions[0];
  assert.equal(c.tokens?.length, c.tokenIds.length);
  assert.equal(c.topLogprobs?.length, c.tokenIds.length);
  c.topLogprobs!.forEach((top, t) => {
    assert.equal(top.length, 4);
    for (let j = 1; j < top.length; j++) assert.ok(top[j - 1].logprob >= top[j].logprob);
    // The sampled token's log-prob is at most the best one's; if listed, it matches exactly.
    assert.ok(c.logprobs[t] <= top[0].logprob + 1e-5);
    const hit = top.find((e) => e.id === c.tokenIds[t]);
    if (hit) assert.ok(Math.abs(hit.logprob - c.logprobs[t]) < 1e-4);
  });
});

test('topLogprobs: greedy picks the top-1 token; the option does not change the text', async () => {
  const base = { ...DEFAULT_GENERATE, maxNewTokens: 6, ignoreEos: true, greedy: true };
  const plain = (await engine.generate([prompt], base)).results[0].completions[0];
  const withTop = (await engine.generate([prompt], { ...base, topLogprobs: 2 })).results[0]
    .completions[0];
  assert.deepEqual(withTop.tokenIds, plain.tokenIds);
  assert.equal(plain.topLogprobs, undefined);
  withTop.topLogprobs!.forEach((top, t) => assert.equal(top[0].id, withTop.tokenIds[t]));
});

test('topLogprobs: 0 gives token texts and empty lists; out of range is refused', async () => {
  const opts = { ...DEFAULT_GENERATE, maxNewTokens: 3, topLogprobs: 0 };
  const c = (await engine.generate([prompt], opts)).results[0].completions[0];
  assert.ok(c.topLogprobs!.every((t) => t.length === 0));
  assert.equal(c.tokens!.length, c.tokenIds.length);
  await assert.rejects(engine.generate([prompt], { ...opts, topLogprobs: 21 }), /topLogprobs/);
});

test('seeds: prompt i draws from seeds[i], as it would alone with that seed', async () => {
  const base = { ...DEFAULT_GENERATE, maxNewTokens: 5, ignoreEos: true };
  const other = { text: 'Once upon a time' };
  const alone = (await engine.generate([prompt], { ...base, seed: 7 })).results[0];
  const batched = await engine.generate([other, prompt], { ...base, seed: 0, seeds: [1, 7] });
  assert.deepEqual(batched.results[1].completions[0].tokenIds, alone.completions[0].tokenIds);
  await assert.rejects(engine.generate([prompt], { ...base, seeds: [1, 2] }), /seeds has 2/);
});

test('onText: the pieces of each candidate add up to its text, stop strings included', async () => {
  const opts = { ...DEFAULT_GENERATE, n: 3, maxNewTokens: 12, seed: 5, stopStrings: ['e'] };
  const got = new Map<string, string>();
  const { results } = await engine.generate([prompt, prompt], opts, undefined, (i, c, text) =>
    got.set(`${i}/${c}`, (got.get(`${i}/${c}`) ?? '') + text),
  );
  results.forEach((r, i) =>
    r.completions.forEach((c, j) => assert.equal(got.get(`${i}/${j}`) ?? '', c.text)),
  );
});

test('batchPrompts: prompts of different lengths decode together, each as it would alone', async () => {
  const prompts = [{ text: 'Hi' }, { text: 'A much longer prompt than the first one' }, prompt];
  for (const over of [{ greedy: true }, { temperature: 0.9, topP: 0.9, n: 2 }]) {
    const opts = { ...DEFAULT_GENERATE, maxNewTokens: 8, ignoreEos: true, seed: 9, ...over };
    const alone = await engine.generate(prompts, opts);
    const texts: string[] = [];
    const batched = await engine.generate(
      prompts,
      { ...opts, batchPrompts: true, topLogprobs: 2 },
      undefined,
      (i, c, t) => (texts[i * opts.n + c] = (texts[i * opts.n + c] ?? '') + t),
    );
    assert.deepEqual(
      batched.results.map((r) => r.completions.map((c) => c.tokenIds)),
      alone.results.map((r) => r.completions.map((c) => c.tokenIds)),
    );
    batched.results.forEach((r, i) =>
      r.completions.forEach((c, j) => {
        const a = alone.results[i].completions[j];
        c.logprobs.forEach((lp, t) => assert.ok(Math.abs(lp - a.logprobs[t]) < 1e-4));
        assert.equal(texts[i * opts.n + j] ?? '', c.text);
      }),
    );
    assert.equal(batched.results[1].promptTokenIds.length, alone.results[1].promptTokenIds.length);
  }
});

test('promptLogprobs: a generated continuation scores as generate reported it', async () => {
  const opts = { ...DEFAULT_GENERATE, maxNewTokens: 5, ignoreEos: true, seed: 2 };
  const r = (await engine.generate([prompt], opts)).results[0];
  const c = r.completions[0];
  const [scored, short] = await engine.promptLogprobs([
    { ids: [...r.promptTokenIds, ...c.tokenIds] },
    { ids: [5] },
  ]);
  assert.equal(scored.logprobs[0], null);
  assert.equal(scored.tokens.length, scored.ids.length);
  const tail = scored.logprobs.slice(r.promptTokenIds.length) as number[];
  tail.forEach((lp, t) =>
    assert.ok(Math.abs(lp - c.logprobs[t]) < 1e-4, `${lp} vs ${c.logprobs[t]}`),
  );
  assert.deepEqual(short.logprobs, [null]);
});
