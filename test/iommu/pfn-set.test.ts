import { describe, it, expect } from "vitest";
import { createPrng } from "../../lib/core/prng.js";
import { PfnSet } from "../../lib/iommu/iova-rcache.js";

// PfnSet is the typed-array set behind the rcache misuse checks; its expected
// behaviour is a JavaScript Set's: the test replays the same operations on both.
describe("PfnSet (rcache misuse-check bookkeeping)", () => {
  it("agrees with a Set over random add/delete/has, with colliding, aligned and large pfns and growth", () => {
    const rng = createPrng(12);
    const s = new PfnSet();
    const ref = new Set<number>();
    // Pool: multiples of 1023 (all share home slot 0 at capacity 1024), 32-aligned pfns, pfns near 2^52, pfn 0.
    const pool: number[] = [0];
    for (let i = 1; i <= 300; i++) pool.push(i * 1023, i * 32, 2 ** 52 - i * 64);
    for (let step = 0; step < 20000; step++) {
      const pfn = pool[rng.nextInt(pool.length)]!;
      const op = rng.nextInt(10);
      if (op < 5) {
        s.add(pfn);
        ref.add(pfn);
      } else if (op < 8) {
        expect(s.delete(pfn)).toBe(ref.delete(pfn));
      } else {
        expect(s.has(pfn)).toBe(ref.has(pfn));
      }
      expect(s.size).toBe(ref.size);
    }
    for (const pfn of pool) expect(s.has(pfn)).toBe(ref.has(pfn));
  });
});
