// Seeded, reproducible randomness for generation. A run's `seed` must reproduce the same
// candidates on any machine and any Node version, so Math.random is never used.
//
// Generator: xoshiro128** 1.1 (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c),
// 32-bit arithmetic only, so each draw is a handful of Math.imul/shift ops with no BigInt.
// Seeding: the 64-bit seed is expanded by splitmix64 (https://prng.di.unimi.it/splitmix64.c), as
// the xoshiro authors recommend, so nearby seeds (0, 1, 2, ...) still give unrelated streams.
// State words are the low then high halves of the first two splitmix64 outputs; the tests pin
// outputs computed with the reference C code.

import { fail } from './errors.js';

const MASK64 = (1n << 64n) - 1n;
const GOLDEN_GAMMA = 0x9e3779b97f4a7c15n;
// Distinguishes fork derivation from plain seeding, so fork(s) of seed k is not new Rng(k + s).
const FORK_SALT = 0x2545f4914f6cdd1dn;

/** splitmix64's output function: a bijective 64-bit mixer (Stafford's variant 13). */
function mix64(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

function toSeed64(seed: number | bigint): bigint {
  if (typeof seed === 'bigint') return BigInt.asUintN(64, seed);
  if (typeof seed !== 'number' || !Number.isInteger(seed))
    fail(
      'E_RNG_SEED',
      `random seed must be an integer, got ${String(seed)}`,
      'use a whole number such as 1234 (negative values and bigints are reduced modulo 2^64)',
    );
  return BigInt.asUintN(64, BigInt(seed));
}

export class Rng {
  /** The 64-bit seed this stream was built from; children are derived from it, not from state. */
  readonly seed: bigint;
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** Integers (number or bigint, any sign) are taken modulo 2^64; other values are rejected. */
  constructor(seed: number | bigint) {
    this.seed = toSeed64(seed);
    let x = this.seed;
    x = (x + GOLDEN_GAMMA) & MASK64;
    const a = mix64(x);
    x = (x + GOLDEN_GAMMA) & MASK64;
    const b = mix64(x);
    this.s0 = Number(a & 0xffffffffn);
    this.s1 = Number(a >> 32n);
    this.s2 = Number(b & 0xffffffffn);
    this.s3 = Number(b >> 32n);
    // All-zero is xoshiro's one fixed point. splitmix64 is a bijection on consecutive counters,
    // so two zero outputs in a row cannot happen; the guard only documents the invariant.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Uniform integer in [0, 2^32). */
  nextU32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 = s1 ^ this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /**
   * Uniform double in [0, 1) with 53 random bits (two draws): every value is a multiple of
   * 2^-53, so it is never 1 and `u * total` never reaches `total` by rounding up from 1.
   */
  nextFloat(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /**
   * An independent child stream, e.g. one per candidate of a prompt, so a candidate's tokens do
   * not depend on which other candidates share its batch or in what order they are sampled.
   * The child depends only on this stream's seed and `stream`, never on how many numbers have
   * been drawn here, and `a.fork(i).fork(j)` differs from `a.fork(j).fork(i)`.
   */
  fork(stream: number): Rng {
    if (!Number.isSafeInteger(stream) || stream < 0)
      fail(
        'E_RNG_SEED',
        `fork stream must be a non-negative integer, got ${String(stream)}`,
        'number child streams 0, 1, 2, ... (e.g. the candidate index)',
      );
    return new Rng(mix64(this.seed ^ mix64((BigInt(stream) + FORK_SALT) & MASK64)));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A shuffled copy (Fisher-Yates) drawn from `rng`: the same draws for the same seed, everywhere. */
export function shuffled<T>(rng: Rng, xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * `n` draws of N(0, std²) by Box-Muller (two per pair of uniforms), as float32: transformers'
 * _init_weights draws normal(0, initializer_range) for Linear and Embedding weights.
 */
export function normals(rng: Rng, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - rng.nextFloat();
    const v = rng.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}
