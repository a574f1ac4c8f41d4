import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import {
  DEFAULT_SAMPLING,
  greedyToken,
  logSoftmax,
  logSumExp,
  sampleFromGraph,
  sampleToken,
  validateSampling,
  type SamplingOptions,
} from '../../src/engine/generate/sampling.js';
import { StopStringMatcher } from '../../src/engine/generate/stop.js';
import { nucleusTokens } from '../../src/engine/generate/top-p.js';
import { isPipelineError } from '../../src/core/errors.js';
import { throwsCode } from '../helpers/errors.js';

// ---- helpers ------------------------------------------------------------------------------------

function opts(o: Partial<SamplingOptions>): SamplingOptions {
  return { ...DEFAULT_SAMPLING, ...o };
}

function draws(n: number, seed: number, f: (rng: Rng) => number): number[] {
  const rng = new Rng(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(f(rng));
  return out;
}

/** Reference softmax in float64 (what transformers computes after its warpers). */
function softmax(x: ArrayLike<number>): number[] {
  const max = Math.max(...Array.from(x));
  const e = Array.from(x, (v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/**
 * Reference warpers written the slow, obvious way (full sorts), following transformers'
 * TemperatureLogitsWarper -> TopKLogitsWarper -> TopPLogitsWarper, for comparison.
 */
function referenceProbs(logits: Float32Array, o: SamplingOptions): number[] {
  let scores = Array.from(logits, (v) => v / o.temperature);
  if (o.topK > 0 && o.topK < scores.length) {
    const kth = [...scores].sort((a, b) => b - a)[o.topK - 1];
    scores = scores.map((v) => (v < kth ? -Infinity : v));
  }
  let p = softmax(scores);
  if (o.topP < 1) {
    const order = p.map((_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
    const keep = new Set<number>();
    let before = 0;
    for (const i of order) {
      if (before >= o.topP) break;
      keep.add(i);
      before += p[i];
    }
    const s = [...keep].reduce((a, i) => a + p[i], 0);
    p = p.map((v, i) => (keep.has(i) ? v / s : 0));
  }
  return p;
}

function counts(tokens: number[], size: number): number[] {
  const c = new Array<number>(size).fill(0);
  for (const t of tokens) c[t]++;
  return c;
}

/**
 * Pearson chi-square goodness of fit. The draws are seeded, so this is deterministic; the
 * critical value (p = 1e-4, Wilson-Hilferty) only guards against a real mismatch.
 */
function assertFits(observed: number[], probs: number[], label: string): void {
  const n = observed.reduce((a, b) => a + b, 0);
  let stat = 0;
  let df = -1;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) {
      assert.equal(observed[i], 0, `${label}: token ${i} has probability 0 but was drawn`);
      continue;
    }
    const e = n * probs[i];
    stat += (observed[i] - e) ** 2 / e;
    df++;
  }
  assert.ok(df >= 1, `${label}: nothing to compare`);
  const z = 3.719;
  const crit = df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
  assert.ok(
    stat < crit,
    `${label}: chi-square ${stat.toFixed(2)} >= ${crit.toFixed(2)} (df ${df})`,
  );
}

function randomLogits(n: number, seed: number, scale = 3): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    // Box-Muller: roughly normal logits, like a model's.
    const u = 1 - rng.nextFloat();
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
  }
  return out;
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

// ---- Rng ---------------------------------------------------------------------------------------

describe('Rng', () => {
  test('matches the reference splitmix64 + xoshiro128** C code', () => {
    // Computed with splitmix64.c / xoshiro128starstar.c (state = lo/hi halves of 2 splitmix outputs).
    const expected: [number | bigint, number[]][] = [
      [0, [3737715805, 2584255861, 2876756834, 3286328325, 1553311962]],
      [42, [1776835114, 4165204688, 17111135, 2317295270, 2792088233]],
      [0xffffffffffffffffn, [477689756, 2493998634, 555695776, 607808419, 61340979]],
    ];
    for (const [seed, values] of expected) {
      const rng = new Rng(seed);
      assert.deepEqual(
        values.map(() => rng.nextU32()),
        values,
        `seed ${seed}`,
      );
    }
  });

  test('number and bigint seeds agree; integers are taken modulo 2^64', () => {
    const a = draws(20, 0, (r) => r.nextU32());
    assert.deepEqual(
      draws(20, 0, (r) => r.nextU32()),
      a,
    );
    const b = new Rng(-1);
    const c = new Rng(0xffffffffffffffffn);
    for (let i = 0; i < 20; i++) assert.equal(b.nextU32(), c.nextU32());
    const d = new Rng(42);
    const e = new Rng(42n + (1n << 64n));
    for (let i = 0; i < 20; i++) assert.equal(d.nextU32(), e.nextU32());
  });

  test('same seed gives the same sequence, different seeds differ', () => {
    const a = draws(1000, 1234, (r) => r.nextFloat());
    const b = draws(1000, 1234, (r) => r.nextFloat());
    const c = draws(1000, 1235, (r) => r.nextFloat());
    assert.deepEqual(a, b);
    assert.ok(a.filter((v, i) => v === c[i]).length === 0);
  });

  test('nextFloat is in [0, 1), uniform-looking, with 53-bit resolution', () => {
    const xs = draws(20000, 7, (r) => r.nextFloat());
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    assert.ok(xs.every((x) => Number.isInteger(x * 2 ** 53)));
    assert.ok(
      xs.some((x) => !Number.isInteger(x * 2 ** 32)),
      'more than 32 bits',
    );
    const bins = counts(
      xs.map((x) => Math.floor(x * 10)),
      10,
    );
    assertFits(bins, new Array(10).fill(0.1), 'deciles');
    const u32 = draws(20000, 7, (r) => r.nextU32());
    assert.ok(u32.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32));
  });

  test('fork streams are deterministic, independent of parent draws and of each other', () => {
    const parent = new Rng(99);
    const child0 = new Array<number>(100).fill(0);
    const f0 = parent.fork(0);
    for (let i = 0; i < 100; i++) child0[i] = f0.nextU32();
    // Drawing from the parent does not change what its children produce.
    for (let i = 0; i < 500; i++) parent.nextFloat();
    const again = parent.fork(0);
    assert.deepEqual(
      child0.map(() => again.nextU32()),
      child0,
    );
    const fresh = new Rng(99).fork(0);
    assert.deepEqual(
      child0.map(() => fresh.nextU32()),
      child0,
    );

    const p2 = new Rng(99);
    const parentSeq = child0.map(() => p2.nextU32());
    const f1 = new Rng(99).fork(1);
    const child1 = child0.map(() => f1.nextU32());
    assert.notDeepEqual(child1, child0);
    assert.notDeepEqual(parentSeq, child0);
    assert.notDeepEqual(
      draws(100, 100, (r) => r.nextU32()),
      child1,
    ); // not just seed + 1

    const ab = new Rng(5).fork(1).fork(2).nextU32();
    const ba = new Rng(5).fork(2).fork(1).nextU32();
    assert.notEqual(ab, ba);

    // Sibling streams are uncorrelated.
    const s = new Rng(3);
    const x = s.fork(0);
    const y = s.fork(1);
    const n = 20000;
    let sx = 0;
    let sy = 0;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < n; i++) {
      const a = x.nextFloat();
      const b = y.nextFloat();
      sx += a;
      sy += b;
      sxy += a * b;
      sxx += a * a;
      syy += b * b;
    }
    const r = (n * sxy - sx * sy) / Math.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
    assert.ok(Math.abs(r) < 0.03, `correlation ${r}`);
  });

  test('rejects non-integer seeds and bad fork streams', () => {
    throwsCode(() => new Rng(1.5), 'E_RNG_SEED', /integer/);
    throwsCode(() => new Rng(NaN), 'E_RNG_SEED');
    throwsCode(() => new Rng(1).fork(-1), 'E_RNG_SEED', /fork stream/);
    throwsCode(() => new Rng(1).fork(0.5), 'E_RNG_SEED');
  });
});

// ---- options and log-softmax -------------------------------------------------------------------

describe('validateSampling', () => {
  test('defaults are temperature 1, top-p 1, top-k off, not greedy, and valid', () => {
    assert.deepEqual({ ...DEFAULT_SAMPLING }, { temperature: 1, topP: 1, topK: 0, greedy: false });
    validateSampling(DEFAULT_SAMPLING);
    validateSampling(opts({ temperature: 0, topP: 0.01, topK: 50, greedy: true }));
  });

  test('names the offending option', () => {
    const cases: [Partial<SamplingOptions>, RegExp][] = [
      [{ temperature: -0.1 }, /temperature/],
      [{ temperature: NaN }, /temperature/],
      [{ temperature: Infinity }, /temperature/],
      [{ topP: 0 }, /topP/],
      [{ topP: 1.01 }, /topP/],
      [{ topP: NaN }, /topP/],
      [{ topK: -1 }, /topK/],
      [{ topK: 2.5 }, /topK/],
      [{ greedy: 'yes' as unknown as boolean }, /greedy/],
    ];
    for (const [o, re] of cases)
      throwsCode(() => validateSampling(opts(o)), 'E_SAMPLING_OPTION', re);
    assert.throws(
      () => validateSampling(opts({ topP: 0 })),
      (e: unknown) => isPipelineError(e) && /top_p/.test(e.hint ?? ''),
      'the hint gives the pipeline-file name',
    );
  });

  test('sampleToken validates its options too', () => {
    throwsCode(
      () => sampleToken(new Float32Array(4), 0, 4, opts({ topK: -2 }), new Rng(1)),
      'E_SAMPLING_OPTION',
      /topK/,
    );
  });
});

describe('logSoftmax', () => {
  test('matches a float64 reference, row by row, and is stable for large logits', () => {
    const x = new Float32Array([1000, 1001, 999, -5, 0, 3, 2, 1]);
    const a = logSoftmax(x, 0, 3);
    const ref = [1000, 1001, 999].map((v) => v - 1001 - Math.log(Math.exp(-1) + 1 + Math.exp(-2)));
    a.forEach((v, i) => assert.ok(Math.abs(v - ref[i]) < 1e-12));
    const out = new Float64Array(10);
    const b = logSoftmax(x, 3, 5, out);
    assert.equal(b, out);
    const p = softmax([-5, 0, 3, 2, 1]);
    for (let i = 0; i < 5; i++) assert.ok(Math.abs(out[i] - Math.log(p[i])) < 1e-12);
    assert.ok(
      Math.abs(logSumExp(x, 0, 3) - (1001 + Math.log(Math.exp(-1) + 1 + Math.exp(-2)))) < 1e-9,
    );
    assert.equal(logSumExp(new Float32Array([-Infinity, -Infinity]), 0, 2), -Infinity);
  });

  test('rejects slices outside the array and short outputs', () => {
    const x = new Float32Array(8);
    throwsCode(() => logSoftmax(x, 4, 5), 'E_SAMPLING_INPUT');
    throwsCode(() => logSoftmax(x, 0, 0), 'E_SAMPLING_INPUT');
    throwsCode(() => logSoftmax(x, 0, 8, new Float64Array(4)), 'E_SAMPLING_INPUT');
  });
});

// ---- sampleToken -------------------------------------------------------------------------------

describe('sampleToken', () => {
  test('greedy and temperature 0 are argmax, lowest id on ties, and draw nothing', () => {
    for (let seed = 0; seed < 20; seed++) {
      const x = randomLogits(500, seed);
      const best = argmax(x);
      const rng = new Rng(1);
      assert.equal(sampleToken(x, 0, 500, opts({ greedy: true, temperature: 2 }), rng).token, best);
      assert.equal(sampleToken(x, 0, 500, opts({ temperature: 0 }), rng).token, best);
      assert.equal(sampleToken(x, 0, 500, opts({ temperature: 5e-324 }), rng).token, best);
      assert.equal(rng.nextU32(), new Rng(1).nextU32(), 'greedy consumed randomness');
    }
    const tied = new Float32Array([1, 5, 2, 5, 5]);
    assert.equal(sampleToken(tied, 0, 5, opts({ greedy: true }), new Rng(0)).token, 1);
  });

  test('top-k = 1 equals argmax', () => {
    const rng = new Rng(11);
    for (let seed = 0; seed < 50; seed++) {
      const x = randomLogits(1000, 100 + seed);
      assert.equal(
        sampleToken(x, 0, 1000, opts({ topK: 1, temperature: 1.5 }), rng).token,
        argmax(x),
      );
    }
  });

  test('top-k = k only ever draws the k largest logits, and all of them', () => {
    const x = randomLogits(2000, 5, 1);
    const k = 7;
    const best = Array.from(x.keys())
      .sort((a, b) => x[b] - x[a])
      .slice(0, k);
    const rng = new Rng(3);
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++)
      seen.add(sampleToken(x, 0, 2000, opts({ topK: k, temperature: 3 }), rng).token);
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      [...best].sort((a, b) => a - b),
    );
  });

  test('top-k keeps tokens tied with the k-th logit (transformers semantics)', () => {
    const x = new Float32Array([3, 2, 0, 2, 1]);
    const rng = new Rng(8);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(sampleToken(x, 0, 5, opts({ topK: 2 }), rng).token);
    assert.deepEqual([...seen].sort(), [0, 1, 3]);
  });

  test('top-p keeps the smallest set reaching top_p', () => {
    // Probabilities 0.5, 0.3, 0.15, 0.05 at scrambled ids inside a larger vocab of -inf logits.
    const x = new Float32Array(10).fill(-Infinity);
    const ids = [6, 2, 9, 0];
    [0.5, 0.3, 0.15, 0.05].forEach((p, i) => (x[ids[i]] = Math.log(p)));
    const run = (topP: number): number[] => {
      const rng = new Rng(21);
      const out: number[] = [];
      for (let i = 0; i < 20000; i++) out.push(sampleToken(x, 0, 10, opts({ topP }), rng).token);
      return counts(out, 10);
    };
    const c80 = run(0.8);
    assert.deepEqual(
      c80.flatMap((n, i) => (n > 0 ? [i] : [])),
      [2, 6],
    );
    assertFits(
      c80,
      Array.from({ length: 10 }, (_, i) => (i === 6 ? 0.5 / 0.8 : i === 2 ? 0.3 / 0.8 : 0)),
      'top_p 0.8',
    );
    const c81 = run(0.81);
    assert.deepEqual(
      c81.flatMap((n, i) => (n > 0 ? [i] : [])),
      [2, 6, 9],
    );
    assertFits(
      c81,
      Array.from(
        { length: 10 },
        (_, i) => (({ 6: 0.5, 2: 0.3, 9: 0.15 }) as Record<number, number>)[i] ?? 0,
      ).map((p) => p / 0.95),
      'top_p 0.81',
    );
    assert.deepEqual(
      run(0.5).flatMap((n, i) => (n > 0 ? [i] : [])),
      [6],
    );
    assert.deepEqual(
      run(1e-9).flatMap((n, i) => (n > 0 ? [i] : [])),
      [6],
    );
  });

  test('top-p over a large vocabulary matches a full-sort reference', () => {
    const V = 5000;
    const N = 10000;
    const x = randomLogits(V, 77, 1); // flat enough for nuclei of hundreds to thousands of tokens
    for (const o of [opts({ topP: 0.3 }), opts({ topP: 0.9, temperature: 0.7 })]) {
      const ref = referenceProbs(x, o);
      const rng = new Rng(4);
      const got: number[] = [];
      for (let i = 0; i < N; i++) got.push(sampleToken(x, 0, V, o, rng).token);
      const c = counts(got, V);
      for (let i = 0; i < V; i++) if (c[i] > 0) assert.ok(ref[i] > 0, `token ${i} outside nucleus`);
      // Fit over the tokens with enough expected draws; the rest pooled into one bin.
      const big = ref.flatMap((p, i) => (p * N >= 10 ? [i] : []));
      const bigSet = new Set(big);
      const obs = big.map((i) => c[i]);
      const probs = big.map((i) => ref[i]);
      const rest = 1 - probs.reduce((a, b) => a + b, 0);
      if (rest > 1e-6) {
        obs.push(got.filter((t) => !bigSet.has(t)).length);
        probs.push(rest);
      }
      assertFits(obs, probs, `top_p ${o.topP}`);
    }
  });

  test('the nucleus is exactly the full-sort reference set, through every radix path', () => {
    // Reference: rank by weight (ties: lower id), keep a token while the mass ranked above it is
    // below top_p (minus the float32 tolerance) of the total; the top token always.
    const reference = (w: Float32Array, topP: number): number[] => {
      const order = Array.from(w, (_, t) => t).sort((a, b) => w[b] - w[a] || a - b);
      let total = 0;
      for (const x of w) total += x;
      const target = Math.max((topP - 1e-6) * total, Number.MIN_VALUE);
      const kept: number[] = [];
      let before = 0;
      for (const t of order) {
        if (before >= target) break;
        kept.push(t);
        before += w[t];
      }
      return kept.filter((t) => w[t] > 0).sort((a, b) => a - b);
    };
    const rand = new Rng(99);
    const rows: [string, Float32Array][] = [
      ['peaked', Float32Array.from({ length: 5000 }, () => Math.exp(-12 * rand.nextFloat()))],
      ['flat', Float32Array.from({ length: 60000 }, () => Math.exp(-0.5 * rand.nextFloat()))],
      // Every weight in one float32 bucket and in the first float64 radix level: the ranking
      // narrows through the deeper levels.
      ['narrow', Float32Array.from({ length: 60000 }, () => 0.5 + 1e-4 * rand.nextFloat())],
      // Few distinct values: ties inside and across buckets, broken by token id.
      [
        'ties',
        Float32Array.from({ length: 20000 }, () => Math.exp(-Math.floor(rand.nextFloat() * 8) / 4)),
      ],
      ['equal', new Float32Array(50000).fill(1)],
      ['underflow', Float32Array.from({ length: 3000 }, (_, t) => (t % 3 === 0 ? 0 : 1 / (t + 1)))],
    ];
    for (const [name, w] of rows)
      for (const topP of [1e-9, 0.1, 0.5, 0.9, 0.95, 0.999])
        assert.deepEqual(nucleusTokens(w, topP), reference(w, topP), `${name} top_p ${topP}`);
    assert.equal(nucleusTokens(new Float32Array(50000).fill(1), 0.5).length, 25000);
  });

  test('top-p breaks ties by lower token id', () => {
    // A flat distribution: the nucleus of mass 0.5 is exactly the 500 lowest ids.
    const V = 1000;
    const x = new Float32Array(V).fill(0.25);
    const rng = new Rng(13);
    const seen = new Set<number>();
    for (let i = 0; i < 3000; i++) seen.add(sampleToken(x, 0, V, opts({ topP: 0.5 }), rng).token);
    assert.ok(Math.max(...seen) < 500, `drew ${Math.max(...seen)}`);
    assert.ok(seen.size > 440, `only ${seen.size} distinct tokens`);
  });

  test('temperature, top-k and top-p combined match the reference warpers', () => {
    const x = randomLogits(400, 31, 1.5);
    const o = opts({ temperature: 0.8, topK: 40, topP: 0.85 });
    const ref = referenceProbs(x, o);
    const rng = new Rng(12);
    const got: number[] = [];
    for (let i = 0; i < 20000; i++) got.push(sampleToken(x, 0, 400, o, rng).token);
    assertFits(counts(got, 400), ref, 'combined');
  });

  test('at temperature 1 the frequencies match the softmax probabilities', () => {
    const p = [0.4, 0.25, 0.15, 0.1, 0.07, 0.03];
    const x = new Float32Array(p.map((v) => Math.log(v) + 3));
    const rng = new Rng(2024);
    const got: number[] = [];
    for (let i = 0; i < 20000; i++) got.push(sampleToken(x, 0, 6, DEFAULT_SAMPLING, rng).token);
    assertFits(counts(got, 6), softmax(x), 'temperature 1');
  });

  test('temperature reshapes the distribution like logits / T', () => {
    const x = new Float32Array([2, 1, 0.5, 0, -1]);
    for (const temperature of [0.5, 2]) {
      const rng = new Rng(6);
      const got: number[] = [];
      for (let i = 0; i < 20000; i++)
        got.push(sampleToken(x, 0, 5, opts({ temperature }), rng).token);
      assertFits(
        counts(got, 5),
        softmax(Array.from(x, (v) => v / temperature)),
        `T=${temperature}`,
      );
    }
  });

  test('logprob is log-softmax of the raw logits, whatever the sampling options', () => {
    const V = 300;
    const x = randomLogits(V, 9);
    const lsm = logSoftmax(x, 0, V);
    const settings = [
      DEFAULT_SAMPLING,
      opts({ temperature: 0.3 }),
      opts({ temperature: 2.5, topK: 20 }),
      opts({ topP: 0.5 }),
      opts({ greedy: true }),
    ];
    const freq: number[][] = [];
    for (const o of settings) {
      const rng = new Rng(10);
      const got: number[] = [];
      for (let i = 0; i < 3000; i++) {
        const r = sampleToken(x, 0, V, o, rng);
        assert.ok(Math.abs(r.logprob - lsm[r.token]) < 1e-12, `logprob of ${r.token}`);
        got.push(r.token);
      }
      freq.push(counts(got, V));
    }
    // Temperature changes what is drawn (not how it is scored).
    const best = argmax(x);
    assert.ok(freq[1][best] > freq[0][best] + 300, 'T=0.3 favours the argmax more than T=1');
  });

  test('a given log-partition scores like the host sum and draws the same tokens', () => {
    const V = 500;
    const x = randomLogits(V, 11);
    const lse = logSumExp(x, 0, V);
    const lsm = logSoftmax(x, 0, V);
    for (const o of [
      DEFAULT_SAMPLING,
      opts({ temperature: 0.7 }),
      opts({ temperature: 1.3, topK: 40 }),
      opts({ temperature: 0.8, topP: 0.9 }),
      opts({ greedy: true }),
    ]) {
      const a = new Rng(12);
      const b = new Rng(12);
      for (let i = 0; i < 500; i++) {
        const host = sampleToken(x, 0, V, o, a);
        // The decoder graph computes the partition in float32: off by about one ulp.
        const given = sampleToken(x, 0, V, o, b, Math.fround(lse));
        assert.equal(given.token, host.token, `draw ${i} with ${JSON.stringify(o)}`);
        assert.ok(Math.abs(given.logprob - lsm[given.token]) < 1e-5, `logprob of ${given.token}`);
      }
    }
    throwsCode(
      () => sampleToken(x, 0, V, opts({ greedy: true }), new Rng(1), NaN),
      'E_SAMPLING_LOGITS',
      /cannot sample from logits containing NaN/,
    );
  });

  test('weights from the graph (float32) draw the same tokens as the host exp', () => {
    const V = 500;
    const x = randomLogits(V, 21);
    let max = -Infinity;
    for (const v of x) max = Math.max(max, v);
    const lse = Math.fround(logSumExp(x, 0, V));
    for (const o of [
      DEFAULT_SAMPLING,
      opts({ temperature: 0.7 }),
      opts({ temperature: 1.3, topK: 40 }),
      opts({ temperature: 0.8, topP: 0.9 }),
    ]) {
      const w = Float32Array.from(x, (l) => Math.exp((l - max) / o.temperature));
      const a = new Rng(5);
      const b = new Rng(5);
      for (let i = 0; i < 500; i++) {
        const host = sampleToken(x, 0, V, o, a, lse);
        const given = sampleToken(x, 0, V, o, b, lse, w);
        assert.equal(given.token, host.token, `draw ${i} with ${JSON.stringify(o)}`);
        assert.equal(given.logprob, host.logprob);
      }
      // sampleFromGraph skips the max and total passes: same draws, same log-probs.
      const c = new Rng(6);
      const d = new Rng(6);
      for (let i = 0; i < 500; i++) {
        const ref = sampleToken(x, 0, V, o, c, lse, w);
        const fast = sampleFromGraph(x, 0, V, o, d, { logSumExp: lse, maxLogit: max, weights: w });
        assert.deepEqual(fast, ref, `draw ${i} with ${JSON.stringify(o)}`);
      }
    }
    const row = { logSumExp: lse, maxLogit: max, weights: Float32Array.from(x, () => 1) };
    for (const [bad, code] of [
      [{ ...row, weights: Float32Array.from(x, (_, i) => (i === 7 ? NaN : 1)) }, /NaN/],
      [{ ...row, maxLogit: Infinity }, /Infinity/],
      [{ ...row, logSumExp: NaN }, /NaN/],
    ] as const)
      for (const topP of [1, 0.9])
        throwsCode(
          () => sampleFromGraph(x, 0, V, opts({ topP }), new Rng(1), bad),
          'E_SAMPLING_LOGITS',
          code,
        );
    throwsCode(
      () => sampleToken(x, 0, V, DEFAULT_SAMPLING, new Rng(1), lse, new Float32Array(V - 1)),
      'E_SAMPLING_INPUT',
      /sampling weights hold 499 values but the logits 500/,
    );
    const nan = Float32Array.from(x, () => NaN);
    throwsCode(
      () => sampleToken(x, 0, V, DEFAULT_SAMPLING, new Rng(1), lse, nan),
      'E_SAMPLING_LOGITS',
      /NaN/,
    );
  });

  test('greedyToken from graph statistics equals a greedy sampleToken, errors included', () => {
    const V = 500;
    for (let seed = 0; seed < 10; seed++) {
      const x = randomLogits(V, seed);
      const lse = Math.fround(logSumExp(x, 0, V));
      const arg = argmax(x);
      const host = sampleToken(x, 0, V, opts({ greedy: true }), new Rng(0), lse);
      assert.deepEqual(greedyToken(arg, x[arg], lse), host);
    }
    for (const max of [Infinity, -Infinity, NaN])
      throwsCode(() => greedyToken(0, max, 1), 'E_SAMPLING_LOGITS', /cannot sample from logits/);
    throwsCode(() => greedyToken(0, 1, NaN), 'E_SAMPLING_LOGITS', /containing NaN/);
  });

  test('same seed gives the same tokens; one draw per sampled token', () => {
    const x = randomLogits(1000, 1);
    const o = opts({ temperature: 0.9, topP: 0.95, topK: 100 });
    const a = draws(200, 55, (r) => sampleToken(x, 0, 1000, o, r).token);
    const b = draws(200, 55, (r) => sampleToken(x, 0, 1000, o, r).token);
    const c = draws(200, 56, (r) => sampleToken(x, 0, 1000, o, r).token);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    for (const oo of [o, DEFAULT_SAMPLING, opts({ topK: 1 }), opts({ topP: 1e-6 })]) {
      const r1 = new Rng(3);
      sampleToken(x, 0, 1000, oo, r1);
      const r2 = new Rng(3);
      r2.nextFloat();
      assert.equal(r1.nextU32(), r2.nextU32());
    }
  });

  test('reads one row of a batch at an offset', () => {
    const V = 50;
    const rows = [randomLogits(V, 1), randomLogits(V, 2), randomLogits(V, 3)];
    const batch = new Float32Array(3 * V);
    rows.forEach((r, i) => batch.set(r, i * V));
    for (let i = 0; i < 3; i++) {
      const a = sampleToken(batch, i * V, V, opts({ topK: 10 }), new Rng(i));
      const b = sampleToken(rows[i], 0, V, opts({ topK: 10 }), new Rng(i));
      assert.deepEqual(a, b);
      assert.equal(
        sampleToken(batch, i * V, V, opts({ greedy: true }), new Rng(0)).token,
        argmax(rows[i]),
      );
    }
  });

  test('fork streams make a candidate independent of its batch', () => {
    const x = randomLogits(500, 4);
    const root = new Rng(1234);
    const alone = new Array<number>(50).fill(0);
    const s = root.fork(2);
    for (let i = 0; i < 50; i++) alone[i] = sampleToken(x, 0, 500, DEFAULT_SAMPLING, s).token;
    // Interleave candidate 2 with candidates 0..3 drawn in a different order.
    const streams = [3, 1, 2, 0].map((c) => ({ c, rng: root.fork(c), out: [] as number[] }));
    for (let i = 0; i < 50; i++)
      for (const st of streams) st.out.push(sampleToken(x, 0, 500, DEFAULT_SAMPLING, st.rng).token);
    assert.deepEqual(streams.find((st) => st.c === 2)!.out, alone);
  });

  test('tiny temperatures sample only among tied maxima', () => {
    const x = new Float32Array([1, 4, 4, 3.99, 0]);
    const rng = new Rng(0);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++)
      seen.add(sampleToken(x, 0, 5, opts({ temperature: 1e-4 }), rng).token);
    assert.deepEqual([...seen].sort(), [1, 2]);
  });

  test('rejects non-finite logits and bad slices', () => {
    const rng = new Rng(0);
    throwsCode(
      () => sampleToken(new Float32Array([0, NaN, 1]), 0, 3, DEFAULT_SAMPLING, rng),
      'E_SAMPLING_LOGITS',
    );
    throwsCode(
      () => sampleToken(new Float32Array([0, Infinity]), 0, 2, DEFAULT_SAMPLING, rng),
      'E_SAMPLING_LOGITS',
    );
    throwsCode(
      () => sampleToken(new Float32Array(3).fill(-Infinity), 0, 3, DEFAULT_SAMPLING, rng),
      'E_SAMPLING_LOGITS',
    );
    throwsCode(
      () => sampleToken(new Float32Array(3), 1, 3, DEFAULT_SAMPLING, rng),
      'E_SAMPLING_INPUT',
    );
  });
});

// ---- StopStringMatcher -------------------------------------------------------------------------

function runMatcher(stops: string[], chunks: string[]): { text: string; stopped: boolean } {
  const m = new StopStringMatcher(stops);
  let text = '';
  let stopped = false;
  for (const c of chunks) {
    const r = m.push(c);
    text += r.emit;
    stopped = r.stopped;
    if (stopped) break;
  }
  return { text: text + m.flush(), stopped };
}

describe('StopStringMatcher', () => {
  test('passes text through when there are no stop strings', () => {
    const m = new StopStringMatcher([]);
    assert.deepEqual(m.push('abc'), { emit: 'abc', stopped: false });
    assert.equal(m.flush(), '');
  });

  test('ends the text before a stop string inside one chunk', () => {
    const m = new StopStringMatcher(['\nUser:']);
    assert.deepEqual(m.push('Sure.\nUser: more'), { emit: 'Sure.', stopped: true });
    assert.equal(m.matched, '\nUser:');
    assert.equal(m.stopped, true);
    assert.deepEqual(m.push('ignored'), { emit: '', stopped: true });
    assert.equal(m.flush(), '');
  });

  test('finds a stop string across chunk boundaries, holding back only a possible prefix', () => {
    const m = new StopStringMatcher(['\nUser:']);
    assert.deepEqual(m.push('Hello wor'), { emit: 'Hello wor', stopped: false });
    assert.deepEqual(m.push('ld\nUs'), { emit: 'ld', stopped: false });
    assert.deepEqual(m.push('e'), { emit: '', stopped: false });
    assert.deepEqual(m.push('r: hi'), { emit: '', stopped: true });
  });

  test('releases held text once it can no longer start a stop string', () => {
    const m = new StopStringMatcher(['abc']);
    assert.deepEqual(m.push('xab'), { emit: 'x', stopped: false });
    assert.deepEqual(m.push('d'), { emit: 'abd', stopped: false });
    assert.deepEqual(m.push('a'), { emit: '', stopped: false });
    assert.equal(m.flush(), 'a', 'flush releases the held tail at the end of generation');
    assert.equal(m.flush(), '');
  });

  test('the earliest stop string wins, whatever the list order', () => {
    const r = runMatcher(['END', '</s>'], ['one </s> two END']);
    assert.deepEqual(r, { text: 'one ', stopped: true });
    const m = new StopStringMatcher(['y', 'xyz']);
    assert.deepEqual(m.push('axyz'), { emit: 'a', stopped: true });
    assert.equal(m.matched, 'xyz');
  });

  test('overlapping prefixes: a failed partial match can start another', () => {
    assert.deepEqual(runMatcher(['aab'], ['a', 'a', 'a', 'b', 'c']), { text: 'a', stopped: true });
    assert.deepEqual(runMatcher(['abac'], ['ab', 'a', 'b', 'ac']), { text: 'ab', stopped: true });
    assert.deepEqual(runMatcher(['ab', 'abc'], ['xa', 'bc']), { text: 'x', stopped: true });
    assert.deepEqual(runMatcher(['</s>', '</stop>'], ['a</s', 't', 'op>']), {
      text: 'a',
      stopped: true,
    });
    // Stops as soon as a stop string is complete, even if a longer one that began earlier
    // might still have completed.
    assert.deepEqual(runMatcher(['<', 'x<y'], ['x<', 'y']), { text: 'x', stopped: true });
    assert.deepEqual(runMatcher(['<', 'x<y'], ['x<y']), { text: '', stopped: true });
    assert.deepEqual(runMatcher(['</s>', '</stop>'], ['a</st', 'x']), {
      text: 'a</stx',
      stopped: false,
    });
  });

  test('agrees with a brute-force reference on random text and random chunkings', () => {
    const rng = new Rng(42);
    const alphabet = 'ab\n<';
    for (let trial = 0; trial < 2000; trial++) {
      const nStops = 1 + (rng.nextU32() % 3);
      const stops: string[] = [];
      for (let s = 0; s < nStops; s++) {
        let t = '';
        const len = 1 + (rng.nextU32() % 4);
        for (let i = 0; i < len; i++) t += alphabet[rng.nextU32() % alphabet.length];
        stops.push(t);
      }
      let text = '';
      const len = rng.nextU32() % 30;
      for (let i = 0; i < len; i++) text += alphabet[rng.nextU32() % alphabet.length];
      const chunks: string[] = [];
      for (let i = 0; i < text.length;) {
        const n = rng.nextU32() % 5; // empty chunks too
        chunks.push(text.slice(i, i + n));
        i += n;
      }
      // Reference: after each delta, look for complete stop strings in all the text so far.
      let expected = { text, stopped: false };
      let sofar = '';
      for (const c of chunks) {
        sofar += c;
        const cuts = stops.map((s) => sofar.indexOf(s)).filter((p) => p >= 0);
        if (cuts.length > 0) {
          expected = { text: sofar.slice(0, Math.min(...cuts)), stopped: true };
          break;
        }
      }
      assert.deepEqual(runMatcher(stops, chunks), expected, JSON.stringify({ stops, chunks }));
    }
  });

  test('emits text as soon as it cannot be part of a stop string', () => {
    const m = new StopStringMatcher(['###']);
    let emitted = '';
    for (const ch of 'no hashes here') emitted += m.push(ch).emit;
    assert.equal(emitted, 'no hashes here');
  });

  test('rejects empty stop strings', () => {
    throwsCode(() => new StopStringMatcher(['ok', '']), 'E_SAMPLING_OPTION', /non-empty/);
  });
});
