import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createPrng } from "../../lib/core/prng.js";
import {
  DMA_BIT_MASK,
  MAX_ADDR,
  ModelConfigError,
  __fls,
  alignDown,
  alignUp,
  andMask,
  bitsOfMask,
  clearMask,
  crossesBoundary,
  fls,
  fmtSize,
  hex,
  ilog2,
  isAligned,
  isLowMask,
  isPowerOf2,
  minNotZero,
  roundupPowOfTwo,
  rounddownPowOfTwo,
  u32,
  wrapToMask,
} from "../../lib/core/index.js";

// BigInt is the independent oracle here: exact at any width, with real bitwise operators.
const B = (x: number) => BigInt(x);

describe("fls / __fls / ilog2 (include/linux/bitops.h, log2.h)", () => {
  it("matches the definition on small values", () => {
    // fls(0) = 0; fls(1) = 1; fls(0x80000000) = 32 (the kernel's documented examples)
    expect(fls(0)).toBe(0);
    expect(fls(1)).toBe(1);
    expect(fls(0x80000000)).toBe(32);
    expect(__fls(1)).toBe(0);
    expect(ilog2(4096)).toBe(12);
    expect(ilog2(4097)).toBe(12);
  });
  it("is exact above 2^32, where 32-bit operators would truncate", () => {
    expect(fls(2 ** 32)).toBe(33);
    expect(fls(2 ** 40 + 1)).toBe(41);
    expect(fls(2 ** 52)).toBe(53);
    expect(fls(MAX_ADDR)).toBe(53);
    expect(ilog2(2 ** 52 - 1)).toBe(51);
  });
  it("agrees with BigInt bit length for every integer below 2^53", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_ADDR }), (x) => {
        expect(fls(x)).toBe(B(x).toString(2).length);
      }),
    );
  });
  it("rejects negatives and fractions naming the argument", () => {
    expect(() => fls(-1)).toThrow(ModelConfigError);
    expect(() => fls(1.5)).toThrow(/fls\(x\)/);
    expect(() => ilog2(0)).toThrow(/ilog2\(x\)/);
  });
});

describe("roundup/rounddown_pow_of_two", () => {
  it("rounds the thread's 80K up to 128K", () => {
    // 81920 = 0x14000; the next power of two is 0x20000 = 131072
    expect(roundupPowOfTwo(81920)).toBe(131072);
    expect(roundupPowOfTwo(65536)).toBe(65536);
    expect(roundupPowOfTwo(1)).toBe(1);
    expect(rounddownPowOfTwo(81920)).toBe(65536);
  });
  it("works up to 2^52", () => {
    expect(roundupPowOfTwo(2 ** 51 + 1)).toBe(2 ** 52);
    expect(roundupPowOfTwo(2 ** 32 + 1)).toBe(2 ** 33);
    expect(() => roundupPowOfTwo(2 ** 52 + 2)).toThrow(ModelConfigError);
  });
  it("is the smallest power of two >= x (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 52 }), (x) => {
        const r = roundupPowOfTwo(x);
        expect(isPowerOf2(r)).toBe(true);
        expect(r >= x && r / 2 < x).toBe(true);
      }),
    );
  });
});

describe("ALIGN / ALIGN_DOWN / IS_ALIGNED", () => {
  it("aligns addresses above 4 GiB without truncation", () => {
    // 0x1_2345_6789 aligned up to 4K: 0x1_2345_7000; down: 0x1_2345_6000
    expect(alignUp(0x123456789, 4096)).toBe(0x123457000);
    expect(alignDown(0x123456789, 4096)).toBe(0x123456000);
    expect(isAligned(0x100000000, 4096)).toBe(true);
    expect(isAligned(0x100000800, 4096)).toBe(false);
  });
  it("agrees with BigInt masking (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 52 }), fc.integer({ min: 0, max: 30 }), (x, k) => {
        const a = 2 ** k;
        const m = BigInt(a - 1);
        expect(B(alignDown(x, a))).toBe(B(x) & ~m);
        expect(B(alignUp(x, a))).toBe((B(x) + m) & ~m);
      }),
    );
  });
  it("rejects a non-power-of-two alignment", () => {
    expect(() => alignUp(10, 3)).toThrow(/alignUp\(a\).*power of two/);
  });
});

describe("DMA_BIT_MASK and mask helpers", () => {
  it("gives the kernel's limits", () => {
    expect(DMA_BIT_MASK(32)).toBe(0xffffffff);
    expect(DMA_BIT_MASK(24)).toBe(0xffffff);
    expect(DMA_BIT_MASK(40)).toBe(2 ** 40 - 1);
    // a 64-bit mask means no limit: saturated at 2^53 - 1
    expect(DMA_BIT_MASK(64)).toBe(MAX_ADDR);
    expect(() => DMA_BIT_MASK(0)).toThrow(ModelConfigError);
    expect(() => DMA_BIT_MASK(65)).toThrow(/DMA_BIT_MASK\(n\)/);
  });
  it("masks above 2^32 exactly", () => {
    // 0x1_ffff_1234 & 0xffff_ffff = 0xffff_1234 ; & ~0xffff = 0x1_ffff_0000
    expect(andMask(0x1ffff1234, 0xffffffff)).toBe(0xffff1234);
    expect(clearMask(0x1ffff1234, 0xffff)).toBe(0x1ffff0000);
    expect(andMask(2 ** 50 + 5, MAX_ADDR)).toBe(2 ** 50 + 5);
    expect(bitsOfMask(0xffffffff)).toBe(32);
    expect(isLowMask(0xfff)).toBe(true);
    expect(isLowMask(0xff0)).toBe(false);
    expect(() => andMask(1, 0xff0)).toThrow(/2\^k - 1/);
  });
  it("andMask agrees with BigInt & (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_ADDR }), fc.integer({ min: 1, max: 52 }), (x, k) => {
        const mask = 2 ** k - 1;
        expect(B(andMask(x, mask))).toBe(B(x) & B(mask));
      }),
    );
  });
  it("wraps like unsigned C arithmetic", () => {
    // (0xffffffff - 0x14000 + 1) & 0xffffffff: the boundary padding formula of dma-iommu
    expect(wrapToMask(0xffffffff - 0x14000 + 1, 0xffffffff)).toBe(0xfffec000);
    expect(wrapToMask(-81920, 0xffffffff)).toBe(0xfffec000);
    expect(u32(2 ** 32 + 7)).toBe(7);
    expect(u32(-1)).toBe(0xffffffff);
  });
  it("minNotZero ignores a zero operand (include/linux/minmax.h)", () => {
    expect(minNotZero(0, 5)).toBe(5);
    expect(minNotZero(7, 0)).toBe(7);
    expect(minNotZero(7, 5)).toBe(5);
  });
});

describe("crossesBoundary (segment boundary mask rule)", () => {
  it("detects a 64K segment crossing a 64K boundary", () => {
    // [0xf000, 0xf000 + 0x10000) spans 0xf000..0x1efff: crosses 0x10000
    expect(crossesBoundary(0xf000, 0x10000, 0xffff)).toBe(true);
    expect(crossesBoundary(0x10000, 0x10000, 0xffff)).toBe(false);
  });
  it("works for a 4 GiB boundary above 2^32", () => {
    // [0x1_ffff_f000, +0x2000) ends at 0x2_0000_0fff: crosses 0x2_0000_0000
    expect(crossesBoundary(0x1fffff000, 0x2000, 0xffffffff)).toBe(true);
    expect(crossesBoundary(0x200000000, 0x2000, 0xffffffff)).toBe(false);
    expect(crossesBoundary(0x1fffff000, 0x2000, MAX_ADDR)).toBe(false);
  });
});

describe("formatting", () => {
  it("hex is 0x + the base-16 digits of a safe integer >= 0, String(x) for anything else", () => {
    // Hand values: each digit group written out.
    expect(hex(0)).toBe("0x0");
    expect(hex(15)).toBe("0xf");
    expect(hex(16)).toBe("0x10");
    expect(hex(255)).toBe("0xff");
    expect(hex(256)).toBe("0x100");
    expect(hex(0x9c027e40)).toBe("0x9c027e40");
    expect(hex(2 ** 53 - 1)).toBe("0x1fffffffffffff");
    expect(hex(-1)).toBe("-1");
    expect(hex(1.5)).toBe("1.5");
    expect(hex(2 ** 53)).toBe("9007199254740992");
    // The rule itself, on seeded random integers of every width.
    const p = createPrng(12);
    for (let i = 0; i < 5000; i++) {
      const x = Math.floor(p.nextFloat() * 2 ** (1 + (i % 53)));
      expect(hex(x)).toBe("0x" + x.toString(16));
    }
  });

  it("prints hex and sizes", () => {
    expect(hex(0xb0000000)).toBe("0xb0000000");
    expect(hex(2 ** 40)).toBe("0x10000000000");
    expect(fmtSize(81920)).toBe("80K");
    expect(fmtSize(147456)).toBe("144K");
    expect(fmtSize(0x08000000)).toBe("128M");
  });
});

describe("withAttr (attrs | bit without a bitwise operator)", () => {
  it("sets a bit once, keeps the others", async () => {
    const { withAttr, DMA_ATTR_SKIP_CPU_SYNC, DMA_ATTR_NO_WARN } = await import("../../lib/core/dma-types.js");
    // 0 | 32 = 32; 32 | 32 = 32; 256 | 32 = 288 (hand-computed OR of disjoint bits).
    expect(withAttr(0, DMA_ATTR_SKIP_CPU_SYNC)).toBe(32);
    expect(withAttr(32, DMA_ATTR_SKIP_CPU_SYNC)).toBe(32);
    expect(withAttr(DMA_ATTR_NO_WARN, DMA_ATTR_SKIP_CPU_SYNC)).toBe(288);
  });
});

describe("orderBase2 (order_base_2, include/linux/log2.h)", () => {
  it("is ceil(log2 n), exact above 2^32", async () => {
    const { orderBase2 } = await import("../../lib/core/arith.js");
    // ceil(log2 1) = 0, ceil(log2 3) = 2, log2 4 = 2, ceil(log2 5) = 3; 2^40 -> 40, 2^40 + 1 -> 41.
    expect([1, 3, 4, 5].map(orderBase2)).toEqual([0, 2, 2, 3]);
    expect(orderBase2(2 ** 40)).toBe(40);
    expect(orderBase2(2 ** 40 + 1)).toBe(41);
    expect(() => orderBase2(0)).toThrow(/orderBase2\(n\)/);
  });
});

describe("isLowMask remembers the last masks it accepted without changing any answer", () => {
  it("masks and non-masks in any order, above 2^32 too, agree with BigInt: x + 1 a power of two (or MAX_ADDR)", () => {
    const lowMask = fc.integer({ min: 0, max: 53 }).map((k) => (k === 53 ? MAX_ADDR : 2 ** k - 1));
    const other = fc.oneof(fc.integer({ min: -5, max: 2 ** 40 }), fc.constantFrom(NaN, 0.5, -0, 2 ** 53, 0xff0, 2 ** 33));
    fc.assert(
      fc.property(fc.array(fc.oneof(lowMask, other), { minLength: 1, maxLength: 40 }), (xs) => {
        for (const x of xs) {
          const want = Number.isSafeInteger(x) && x >= 0 && (x === MAX_ADDR || (BigInt(x) & BigInt(x + 1)) === 0n);
          expect(isLowMask(x), String(x)).toBe(want);
        }
      }),
      { numRuns: 300, seed: 5 },
    );
  });
});
