/**
 * The generators keep their state in a typed-array slot (lib/core/prng.ts)
 * instead of a closure variable: the streams must be exactly those of the
 * earlier closure implementations, kept here verbatim as references.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ModelConfigError, createPrng, xorshift32 } from "../../lib/core/index.js";

/** mulberry32 with its state in a closure variable (lib/core/prng.ts before the typed-array slot). */
function refMulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** xorshift32 (Marsaglia 2003) with its state in a closure variable. */
function refXorshift32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

describe("PRNG streams against the closure-state references", () => {
  it("createPrng: nextU32, nextFloat and nextInt draw the reference stream for any seed", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.array(fc.integer({ min: 1, max: 2 ** 32 }), { minLength: 1, maxLength: 40 }), (seed, ns) => {
        const p = createPrng(seed);
        const r = refMulberry32(seed);
        for (const n of ns) {
          expect(p.nextU32()).toBe(r());
          expect(p.nextFloat()).toBe(r() / 2 ** 32);
          expect(p.nextInt(n)).toBe(r() % n);
        }
      }),
      { numRuns: 300 },
    );
  });
  it("xorshift32: the reference stream for any seed in [1, 2^32)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xffffffff }), fc.array(fc.integer({ min: 1, max: 2 ** 32 }), { minLength: 1, maxLength: 40 }), (seed, ns) => {
        const p = xorshift32(seed);
        const r = refXorshift32(seed);
        for (const n of ns) {
          expect(p.nextU32()).toBe(r());
          expect(p.nextFloat()).toBe(r() / 2 ** 32);
          expect(p.nextInt(n)).toBe(r() % n);
        }
      }),
      { numRuns: 300 },
    );
  });
  it("long streams at the seed extremes (0, 1, 2^31, 2^32 - 1) match for 100,000 draws", () => {
    for (const seed of [0, 1, 2 ** 31, 0xffffffff]) {
      const p = createPrng(seed);
      const r = refMulberry32(seed);
      for (let i = 0; i < 100000; i++) if (p.nextU32() !== r()) throw new Error(`createPrng(${seed}) differs at draw ${i}`);
      if (seed === 0) continue;
      const q = xorshift32(seed);
      const rx = refXorshift32(seed);
      for (let i = 0; i < 100000; i++) if (q.nextU32() !== rx()) throw new Error(`xorshift32(${seed}) differs at draw ${i}`);
    }
  });
});

describe("createPrng().skip(n): the stream n draws on", () => {
  it("skip(n) then draws equal n dropped draws then draws (n up to 3,000)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 6 }), (seed, ks) => {
        const p = createPrng(seed);
        const r = refMulberry32(seed);
        for (const k of ks) {
          p.skip!(k);
          for (let i = 0; i < k; i++) r();
          expect(p.nextU32()).toBe(r());
        }
      }),
      { numRuns: 200 },
    );
  });
  it("large n: the state moves by n * 0x6d2b79f5 modulo 2^32 (computed with BigInt)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (seed, k) => {
        const p = createPrng(seed);
        p.skip!(k);
        const state = Number((BigInt(seed) + BigInt(k) * 0x6d2b79f5n) % 2n ** 32n);
        const r = refMulberry32(state);
        expect(p.nextU32()).toBe(r());
        expect(p.nextU32()).toBe(r());
      }),
      { numRuns: 500 },
    );
  });
  it("refuses a negative, fractional or unsafe n and leaves the stream as it was", () => {
    const p = createPrng(5);
    const r = refMulberry32(5);
    for (const bad of [-1, 1.5, 2 ** 53, Number.NaN]) expect(() => p.skip!(bad)).toThrow(ModelConfigError);
    expect(p.nextU32()).toBe(r());
  });
  it("xorshift32 has no skip (its callers draw)", () => {
    expect(xorshift32(1).skip).toBeUndefined();
  });
});

