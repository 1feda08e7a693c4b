/**
 * BuddyAllocator.reserve takes a free block lying inside the range whole
 * instead of page by page. Taking pages one by one, lowest first, splits each
 * block and frees halves that later pages of the range take again, so the
 * result must be the same free lists (the same heads of each order: freeHeads
 * lists them lowest first) and the same pages recorded live.
 * The reference here is the page-by-page reservation: reserve(p, 1) for each
 * page, after checking every page with isFree.
 */
import { describe, expect, it } from "vitest";
import { createPrng } from "../../lib/core/prng.js";
import { ModelConfigError } from "../../lib/core/errors.js";
import { buddyOf, type BuddyAllocator } from "../../lib/mm/page-alloc.js";
import { createMachine } from "../../lib/platform/machine.js";
import { loadPlatformProfile } from "../../lib/platform/profile.js";

function fresh(fragmentSeed: number | null): BuddyAllocator {
  const prof = loadPlatformProfile("x86-64-pc-8g");
  const b = buddyOf(createMachine({ ...prof, ram: [{ base: 0, size: 2 ** 30 }] }, { kernel: "v6.19" }));
  if (fragmentSeed !== null) b.fragment(fragmentSeed, 0.3);
  return b;
}

function state(b: BuddyAllocator): unknown {
  return { zones: b.zones.map((z) => ({ name: z.name, free: z.freePages, heads: Array.from({ length: 11 }, (_, o) => z.freeHeads(o)) })), used: b.usedPages(), free: b.freePageCount() };
}

function pageByPage(b: BuddyAllocator, pfn: number, pages: number): void {
  for (let p = pfn; p < pfn + pages; p++) if (!b.isFree(p)) throw new ModelConfigError("reserve(pfn, pages)", pfn, "a range of free pages");
  for (let p = pfn; p < pfn + pages; p++) b.reserve(p, 1);
}

describe("BuddyAllocator.reserve and isFreeRange: whole blocks, same result as page by page", () => {
  it("on fresh and fragmented memory, ranges of 1 to 5000 pages", () => {
    const rng = createPrng(42);
    let reserved = 0;
    for (let trial = 0; trial < 6; trial++) {
      const frag = trial % 2 ? trial : null;
      const a = fresh(frag);
      const c = fresh(frag);
      for (let k = 0; k < 5; k++) {
        const pfn = rng.nextInt(262144 - 5000);
        const pages = 1 + rng.nextInt(k < 3 ? 5000 : 64);
        let allFree = true;
        for (let p = pfn; p < pfn + pages; p++) allFree = allFree && a.isFree(p);
        expect(c.isFreeRange(pfn, pages)).toBe(allFree);
        let ea = false;
        let ec = false;
        try {
          pageByPage(a, pfn, pages);
        } catch (e) {
          ea = e instanceof ModelConfigError;
        }
        try {
          c.reserve(pfn, pages);
        } catch (e) {
          ec = e instanceof ModelConfigError;
        }
        expect(ec).toBe(ea);
        if (!ea) reserved++;
        expect(state(c)).toEqual(state(a));
      }
      // the next allocations of every order come from the same blocks
      for (let o = 0; o <= 4; o++) expect(c.zones.map((z) => z.freeHeads(o).slice().sort((x, y) => x - y)[0])).toEqual(a.zones.map((z) => z.freeHeads(o).slice().sort((x, y) => x - y)[0]));
    }
    expect(reserved).toBeGreaterThan(5);
  });
});
