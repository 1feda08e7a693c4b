/**
 * A zone's free lists (BuddyZone: addFree, removeFree, popFree, isFreeHead,
 * freeHeads, freePages) against a plain reference: per order, a set of head
 * pfns, popFree taking the lowest (the model's rule: the lowest free block of
 * the order), freeHeads listing them ascending, freePages the sum of 2^order
 * over the heads. Random operation sequences (fast-check) on a zone span
 * that starts mid-block, with pfns above 2^32 / 4096 (addresses above 4 GiB)
 * and heads freed, taken and freed again (the heap keeps stale entries).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { BuddyZone } from "../../lib/mm/page-alloc.js";

type Op = { k: "add" | "remove" | "pop" | "has"; order: number; block: number };

const START = 0x100000 + 3; // a span starting mid-block: pfn 1 MiB pages + 3 (4 GiB + 12 KiB)
const END = START + 5000;

describe("BuddyZone free lists", () => {
  it("match a set per order: lowest first, membership, counts (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ k: fc.constantFrom("add" as const, "remove" as const, "pop" as const, "has" as const), order: fc.integer({ min: 0, max: 4 }), block: fc.integer({ min: 0, max: 400 }) }), { maxLength: 300 }),
        (ops: Op[]) => {
          const z = new BuddyZone("ZONE_NORMAL", START, END);
          const ref = Array.from({ length: 11 }, () => new Set<number>());
          let refPages = 0;
          for (const o of ops) {
            const size = 2 ** o.order;
            // an aligned head inside the span
            const p = (Math.ceil(START / size) + (o.block % Math.floor((END - START) / size - 1))) * size;
            if (p + size > END) continue;
            const s = ref[o.order]!;
            if (o.k === "add") {
              if (s.has(p)) continue;
              z.addFree(p, o.order);
              s.add(p);
              refPages += size;
            } else if (o.k === "remove") {
              const had = s.delete(p);
              if (had) refPages -= size;
              expect(z.removeFree(p, o.order)).toBe(had);
            } else if (o.k === "pop") {
              const want = s.size ? Math.min(...s) : null;
              if (want !== null) {
                s.delete(want);
                refPages -= size;
              }
              expect(z.popFree(o.order)).toBe(want);
            } else expect(z.isFreeHead(p, o.order)).toBe(s.has(p));
            expect(z.freePages).toBe(refPages);
          }
          for (let order = 0; order < 11; order++) {
            expect(z.freeHeads(order)).toEqual([...ref[order]!].sort((a, b) => a - b));
            expect(z.buddyinfo()[order]).toBe(ref[order]!.size);
          }
        },
      ),
      { numRuns: 200, seed: 21 },
    );
  });

  it("a pfn that heads no block of the order in the span is not free, and cannot be added", () => {
    const z = new BuddyZone("ZONE_NORMAL", START, END);
    // START is not 2-aligned: no order-1 block starts there; below and past the span: none
    expect(z.isFreeHead(START, 1)).toBe(false);
    expect(z.removeFree(START - 8, 3)).toBe(false);
    expect(z.isFreeHead(END + 16, 4)).toBe(false);
    expect(() => z.addFree(START, 1)).toThrow(/order-1 block inside the zone/);
    expect(z.freePages).toBe(0);
  });
});
