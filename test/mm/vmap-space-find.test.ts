/**
 * VmapSpace.find (lib/mm/vmalloc.ts) with its last-area cache against a
 * scan of list() written in the test: over random vmalloc/vfree sequences
 * (first-fit areas with guard pages), every address asked (inside areas,
 * in guard pages, between and outside them) finds the area whose
 * [start, start + size) holds it, or null; no two live areas overlap.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { VmapSpace, type VmArea } from "../../lib/mm/vmalloc.js";
import type { Pfn } from "../../lib/core/addr.js";

const PS = 4096;
// an x86-64 vmalloc space start (VMALLOC_START 0xffffc90000000000, stored modulo 2^48), 64 MiB of it
const START = 0xc90000000000;
const END = START + 64 * 2 ** 20;

function scan(areas: readonly VmArea[], va: number): VmArea | null {
  for (const a of areas) if (va >= a.start && va < a.start + a.size) return a;
  return null;
}

describe("VmapSpace.find with its last-area cache", () => {
  it("answers as a scan of the live areas over random alloc, free and lookups", () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant("alloc" as const), pages: fc.integer({ min: 1, max: 64 }) }),
      fc.record({ op: fc.constant("free" as const), i: fc.nat() }),
      fc.record({ op: fc.constant("find" as const), off: fc.integer({ min: -PS, max: 4 * 1024 * PS }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 150 }), (steps) => {
        const sp = new VmapSpace(START, END, PS);
        for (const x of steps) {
          if (x.op === "alloc") sp.alloc(x.pages * PS, { kind: "vmalloc", prot: "normal", pfns: Array.from({ length: x.pages }, (_, i) => i as Pfn) });
          else if (x.op === "free") {
            const live = sp.list();
            if (live.length) sp.free(live[x.i % live.length]!.start);
          } else {
            const va = START + x.off;
            expect(sp.find(va)).toBe(scan(sp.list(), va));
            // the next page too (the walk the cache serves), and the first byte of the guard page
            expect(sp.find(va + PS)).toBe(scan(sp.list(), va + PS));
          }
          const live = sp.list();
          for (let i = 1; i < live.length; i++) expect(live[i]!.start).toBeGreaterThanOrEqual(live[i - 1]!.start + live[i - 1]!.size);
        }
      }),
      { numRuns: 300 },
    );
  });
});
