/**
 * Seeded pseudo-random generators. Every random choice in the model takes one
 * of these, so the same seed gives the same machine, the same trace and the
 * same notebook results.
 *
 * The state is a 32-bit unsigned integer, not an address, so 32-bit bitwise
 * arithmetic is exactly what is wanted here.
 */
import { checkInt } from "./arith.js";

/** A seeded source of random numbers. */
export interface Prng {
  /** The next value, an integer in [0, 2^32). */
  nextU32(): number;
  /** An integer in [0, n) for 1 <= n <= 2^32 (modulo reduction, as the kernel's prandom users do). */
  nextInt(n: number): number;
  /** A float in [0, 1). */
  nextFloat(): number;
  /**
   * Optional: advance the stream by `n` draws (an integer in [0, 2^53))
   * without computing them, as `n` calls of {@link nextU32} whose values are
   * dropped would: the draws after it are the same. A generator that cannot
   * jump ahead cheaply leaves it undefined (callers then draw).
   * @throws ModelConfigError for a negative, fractional or unsafe `n` (the stream is unchanged).
   */
  skip?(n: number): void;
}

/**
 * xorshift32 (Marsaglia 2003): x ^= x << 13; x ^= x >> 17; x ^= x << 5, the
 * new state is returned. This exact generator drives the IOVA benchmark
 * workload, so results can be compared op by op with the kernel C run
 * (docs/benchmarks.md).
 * @throws ModelConfigError for a seed outside [1, 2^32) (0 is a fixed point).
 */
export function xorshift32(seed: number): Prng {
  // The state lives in a one-slot Uint32Array, not in a closure variable: a
  // 32-bit unsigned state is above the small-integer range half the time, and
  // V8 boxes such a number in a fresh heap object on every store to a
  // closure variable (one garbage object per draw); a typed-array slot holds
  // it unboxed, and wraps modulo 2^32 as `>>> 0` did.
  const s = new Uint32Array(1);
  s[0] = checkInt("xorshift32(seed)", seed, 1, 0xffffffff);
  const next = (): number => {
    let x = s[0]!;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    s[0] = x;
    return s[0]!;
  };
  return {
    nextU32: next,
    nextInt(n: number) {
      checkInt("nextInt(n)", n, 1, 2 ** 32);
      return next() % n;
    },
    nextFloat() {
      return next() / 2 ** 32;
    },
  };
}

/**
 * mulberry32: a small, well-mixed 32-bit generator for general model use
 * (fragmentation, speculative cache fills, workloads). Any integer seed in
 * [0, 2^32) is valid.
 * @throws ModelConfigError for a seed outside [0, 2^32).
 */
export function createPrng(seed: number): Prng {
  // State in a one-slot Uint32Array (see xorshift32: no boxed number per draw); the slot wraps modulo 2^32.
  const s = new Uint32Array(1);
  s[0] = checkInt("seed", seed, 0, 0xffffffff);
  const next = (): number => {
    s[0] = s[0]! + 0x6d2b79f5;
    let t = s[0]!;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    nextU32: next,
    nextInt(n: number) {
      checkInt("nextInt(n)", n, 1, 2 ** 32);
      return next() % n;
    },
    nextFloat() {
      return next() / 2 ** 32;
    },
    // mulberry32's state is a counter stepped by 0x6d2b79f5 per draw, so n
    // draws add n * 0x6d2b79f5 modulo 2^32 (Math.imul: the low 32 bits of
    // the product, exact; n reduced modulo 2^32 first, exactly).
    skip(n: number) {
      if (!(Number.isSafeInteger(n) && n >= 0)) checkInt("skip(n)", n, 0, Number.MAX_SAFE_INTEGER);
      s[0] = s[0]! + (Math.imul(n % 2 ** 32, 0x6d2b79f5) >>> 0);
    },
  };
}
