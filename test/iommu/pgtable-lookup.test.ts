/**
 * IoPgtable.lookup and anyMapped (lib/iommu/io-pgtable.ts) against a scan of
 * every mapped page: the page covering an address is the one whose
 * [iova, iova + size) contains it (pages never overlap), whatever sizes are
 * mapped, after any sequence of iommu_map / iommu_unmap calls. The table
 * tries only the page sizes it holds and keys pages by IOVA page number;
 * the scan knows neither.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Trace } from "../../lib/core/trace.js";
import { createIommu, iommuDomainAlloc, type IommuDomain } from "../../lib/iommu/domain.js";
import { IOMMU_READ, IOMMU_WRITE, iommuIovaToPhys, iommuMap, iommuUnmap, type IoPte } from "../../lib/iommu/io-pgtable.js";

const K = 1024;
const M = 1024 * K;
const RW = IOMMU_READ + IOMMU_WRITE;

function domainOf(driver: string, kernel: string): IommuDomain {
  const iommu = createIommu({ name: "u0", driver, granule: 4 * K, apertureBits: 48 });
  return iommuDomainAlloc(iommu, "DMA", { kernel, trace: new Trace({ keepEvents: false }) });
}

/** The mapped page containing `a`, by scanning every page. */
function scan(d: IommuDomain, a: number): IoPte | null {
  for (const p of d.pgtable.ptes.values()) if (p.iova <= a && a < p.iova + p.size) return p;
  return null;
}

// An operation on a window of 8 MiB placed above 4 GiB (IOVAs that are not small integers): map or unmap
// `pages` granules at granule `at`, to physical block `phys` (2 MiB) at the IOVA's offset in its 2 MiB block,
// `skew` granules further: unskewed, 2 MiB pages are written where a whole aligned block is mapped.
const op = fc.record({ map: fc.boolean(), at: fc.integer({ min: 0, max: 2047 }), pages: fc.integer({ min: 1, max: 1024 }), phys: fc.integer({ min: 0, max: 63 }), skew: fc.integer({ min: 0, max: 1 }) });

describe("the IOMMU page table finds the page covering an address as a scan of its pages does", () => {
  // arm-smmu-v3 (4 KiB, 2 MiB, 1 GiB pages), intel-iommu before v5.15 (every power of two advertised,
  // hardware pages written: 4 KiB and 2 MiB here), and from v5.15 (4 KiB, 2 MiB, 1 GiB)
  for (const [driver, kernel] of [["arm-smmu-v3", "v6.19"], ["intel-iommu", "v5.4"], ["intel-iommu", "v6.19"]] as const) {
    it(`${driver} ${kernel}: lookup, iova_to_phys and anyMapped after random maps and unmaps`, () => {
      const sizesSeen = new Set<number>();
      fc.assert(
        fc.property(fc.array(op, { minLength: 1, maxLength: 25 }), fc.array(fc.integer({ min: 0, max: 8 * M - 1 }), { minLength: 20, maxLength: 20 }), (ops, probes) => {
          const d = domainOf(driver, kernel);
          const base = 2 ** 33;
          for (const o of ops) {
            const iova = base + o.at * 4 * K;
            const size = Math.min(o.pages, 2048 - o.at) * 4 * K;
            if (o.map) iommuMap(d, iova, 2 ** 32 + o.phys * 2 * M + ((o.at + o.skew) % 512) * 4 * K, size, RW);
            else iommuUnmap(d, iova, size);
            for (const p of d.pgtable.ptes.values()) sizesSeen.add(p.size);
            for (const off of probes) {
              const a = base + off;
              const want = scan(d, a);
              expect(d.pgtable.lookup(a)).toBe(want);
              expect(iommuIovaToPhys(d, a)).toBe(want === null ? null : want.paddr + (a - want.iova));
            }
            // anyMapped over a granule-aligned range: true iff a scanned page overlaps it
            const lo = base + o.at * 4 * K;
            const want = [...d.pgtable.ptes.values()].some((p) => p.iova < lo + size && p.iova + p.size > lo);
            expect(d.pgtable.anyMapped(lo, size)).toBe(want);
          }
        }),
        { seed: 20261204, numRuns: 60 },
      );
      // the runs reached 2 MiB pages as well as 4 KiB ones
      expect(sizesSeen.has(4 * K)).toBe(true);
      expect(sizesSeen.has(2 * M)).toBe(true);
    });
  }
});
