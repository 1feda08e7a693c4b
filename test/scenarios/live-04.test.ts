/**
 * Notebook 04's live page leaves the seed out of what its unfragmented
 * computations depend on (lib/scenarios/live/04.ts): case04Run reads the seed
 * only to fragment memory, and the machine's PRNG streams drive only the
 * cache model's speculative fills and random evictions, whose probabilities
 * case 04 leaves at 0. These tests check that claim on the functions the page
 * calls: on two seeds, every unfragmented result is the same.
 */
import { describe, expect, it } from "vitest";
import { case04Run, case04Sweep } from "../../lib/scenarios/04-dma32-vmalloc.js";
import { case04AllocOutputs, case04PgtableOutputs, case04Vmalloc32Outputs, notebook04Cells } from "../../lib/scenarios/live/04.js";

const BASE = { ramGiB: 8, dmaMaskBits: 32, kernel: "v6.19", iommu: false, bufferSize: 2 ** 20, buffers: 2, swiotlbSize: 64 * 2 ** 20, strategy: "vmalloc" as const, seed: 1, fragmentFraction: 0 };

/** What a run shows, without the machine object (its trace and state are compared through the figures). */
function shown(r: ReturnType<typeof case04Run>): unknown {
  const { machine, device, params, ...rest } = r;
  return { ...rest, buffers: rest.buffers.map(({ sgl, ...b }) => b), trace: machine.trace.length, cost: machine.trace.costSince(0) };
}

describe("notebook 04 live: the seed is read only by fragmentation", () => {
  it("an unfragmented run and a sweep give the same figures on seeds 1 and 0xdeadbeef", () => {
    for (const strategy of ["vmalloc", "zone-dma32"] as const) {
      expect(shown(case04Run({ ...BASE, strategy, seed: 0xdeadbeef }))).toEqual(shown(case04Run({ ...BASE, strategy })));
    }
    expect(case04Sweep({ ...BASE, seed: 0xdeadbeef }, [2 ** 20], ["vmalloc", "noncontiguous"])).toEqual(case04Sweep(BASE, [2 ** 20], ["vmalloc", "noncontiguous"]));
    expect(shown(case04Run({ ...BASE, iommu: true, strategy: "iommu", seed: 5 }))).toEqual(shown(case04Run({ ...BASE, iommu: true, strategy: "iommu" })));
  });

  it("the page-table, vmalloc_32() and allocator tables are the same on seeds 1 and 7", () => {
    const s7 = { ...BASE, seed: 7 };
    expect(case04PgtableOutputs(s7, ["v5.10", "v5.13"])).toEqual(case04PgtableOutputs(BASE, ["v5.10", "v5.13"]));
    expect(case04Vmalloc32Outputs(s7)).toEqual(case04Vmalloc32Outputs(BASE));
    expect(case04AllocOutputs(s7)).toEqual(case04AllocOutputs(BASE));
  });

  it("a fragmented run reads the seed: the page keeps the seed in its dependencies then", () => {
    const asked: string[][] = [];
    const cells = notebook04Cells({ ...BASE, bufferSize: 64 * 1024, ramGiB: 4, fragmentFraction: 0.5, seed: 9, pgtableReleases: ["v5.13"] }, (deps) => {
      asked.push([...deps]);
      return true;
    });
    cells.next();
    expect(asked[0]).toContain("seed");
    const unfragmented: string[][] = [];
    const cells0 = notebook04Cells({ ...BASE, pgtableReleases: ["v5.13"] }, (deps) => {
      unfragmented.push([...deps]);
      return true;
    });
    for (const _ of cells0);
    expect(unfragmented.length).toBeGreaterThan(0);
    for (const d of unfragmented) expect(d).not.toContain("seed");
  });
});

describe("case04Sweep: machines that store no trace events give case04Run's figures", () => {
  it("mapped, bounced and failing runs", () => {
    // swiotlb=4 MiB holds 2048 slots: 1024 bounced 4 KiB pages, so three 2 MiB vmalloc buffers (1536 pages) fill it
    for (const base of [BASE, { ...BASE, swiotlbSize: 4 * 2 ** 20, buffers: 3 }]) {
      for (const strategy of ["vmalloc", "zone-dma32"] as const) {
        const size = 2 * 2 ** 20;
        const [row] = case04Sweep(base, [size], [strategy]);
        const r = case04Run({ ...base, strategy, bufferSize: size });
        expect(r.machine.trace.length).toBeGreaterThan(0);
        expect(row).toEqual({ strategy, bufferMiB: 2, ok: r.ok, reason: r.reason, bouncedMiBPerFrame: r.bouncedBytesPerFrame / 2 ** 20, costPerFrameUs: Math.round(r.costPerFrameNs) / 1000, swiotlbSlotsUsed: r.swiotlbSlotsUsed, swiotlbSlots: r.swiotlbSlots, pagesAbove4G: r.pagesAbove4G });
      }
    }
    const [full] = case04Sweep({ ...BASE, swiotlbSize: 4 * 2 ** 20, buffers: 3 }, [2 * 2 ** 20], ["vmalloc"]);
    expect(full!.ok).toBe(false);
    expect(full!.reason).toContain("swiotlb buffer is full");
  });
});
