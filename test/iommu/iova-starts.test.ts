import { describe, it, expect } from "vitest";
import { createPrng } from "../../lib/core/prng.js";
import { IOVA_ANCHOR, allocIova, freeIova, initIovaDomain, iovaRanges, putIovaDomain, reserveIova, type IovaDomain } from "../../lib/iommu/iova.js";

// Once enabled (iovaDomainInitRcaches does it), the block index keeps a
// pfn_lo -> pfn_hi table of its ranges beside the blocks (the rcache free
// checks read it instead of searching). Expected value: the
// ranges the blocks hold (iovaRanges walks the blocks, not the map) plus the anchor.
function expectStartsMatchBlocks(d: IovaDomain): void {
  const want = new Map<number, number>([[IOVA_ANCHOR, IOVA_ANCHOR]]);
  for (const r of iovaRanges(d)) want.set(r.pfnLo, r.pfnHi);
  expect(new Map(d._ix.starts!.entries())).toEqual(want);
}

describe("IovaBlockIndex.starts follows the blocks", () => {
  for (const kernel of ["v4.14", "v5.4", "v6.19"]) {
    it(`${kernel}: random alloc / free / reserve (reserve grows ranges down), splits and merges`, () => {
      const rng = createPrng(7);
      const d = initIovaDomain(4096, 1, { kernel });
      const live: number[] = [];
      expect(d._ix.starts).toBeNull();
      for (let step = 0; step < 3000; step++) {
        // Enabled half-way: built from the ranges held, then kept.
        if (step === 1500) d._ix.enableStarts();
        const op = rng.nextInt(10);
        if (op < 5 || live.length === 0) {
          const r = allocIova(d, 1 + rng.nextInt(40), 0xfffff, rng.nextInt(2) === 0);
          if (r) live.push(r.pfnLo);
        } else if (op < 9) {
          const i = rng.nextInt(live.length);
          expect(freeIova(d, live[i]!)).not.toBeNull();
          live[i] = live[live.length - 1]!;
          live.pop();
        } else {
          // Reserve over a random window: overlapped ranges grow down to its start or it is inserted.
          const lo = 1 + rng.nextInt(0xff000);
          const r = reserveIova(d, lo, lo + rng.nextInt(64));
          // Rebuild the live list from the blocks (every range but the one just reserved may be freed).
          live.length = 0;
          for (const x of iovaRanges(d)) if (x.pfnLo !== r.pfnLo) live.push(x.pfnLo);
        }
        if (step >= 1500 && step % 97 === 0) expectStartsMatchBlocks(d);
      }
      expectStartsMatchBlocks(d);
      putIovaDomain(d);
      expect(d._ix.starts!.size).toBe(0);
    });
  }
});
