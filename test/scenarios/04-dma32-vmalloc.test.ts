import { describe, expect, it } from "vitest";
import { ModelConfigError } from "../../lib/core/errors.js";
import { case04Run, case04Sweep, case04ZoneMap } from "../../lib/scenarios/04-dma32-vmalloc.js";
import { zoneMapChartSpec } from "../../lib/viz/zones.js";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

describe("case 04: vmalloc pages above 4 GiB, no IOMMU", () => {
  it("bounces every page through swiotlb: slots, bytes and the cost per frame by hand", () => {
    const r = case04Run({ kernel: "v6.19", strategy: "vmalloc", bufferSize: 4 * MiB, buffers: 2 });
    expect(r.ok).toBe(true);
    // vmalloc() -> ZONE_NORMAL from 4 GiB: all 2 x 1024 pages above the 32-bit mask
    expect(r.pages).toBe(2048);
    expect(r.pagesAbove4G).toBe(2048);
    // each 4 KiB entry bounces: 4096 / 2048 = 2 slots; 2048 entries -> 4096 slots of 32768 (64 MiB / 2 KiB)
    expect(r.swiotlbSlots).toBe(32768);
    expect(r.swiotlbSlotsUsed).toBe(4096);
    // pool placed at the top of RAM below 4 GiB: 3 GiB - 64 MiB
    expect(r.swiotlbStart).toBe(3 * GiB - 64 * MiB);
    expect(r.buffers[0]!.deviceAddrs[0]).toBe(3 * GiB - 64 * MiB);
    // per frame: 8 MiB copied back at 0.4 ns/byte + 2048 sync calls at 30 ns (data/costs/x86-64-pc.json)
    expect(r.bouncedBytesPerFrame).toBe(8 * MiB);
    expect(r.costPerFrameNs).toBeCloseTo(8 * MiB * 0.4 + 2048 * 30, 6);
    expect(r.buffers.every((b) => b.truncated === 0)).toBe(true);
  });

  it("the 64 MiB pool holds exactly 16384 bounced pages: 2 x 32 MiB fits, 2 x 33 MiB does not", () => {
    const fits = case04Run({ kernel: "v6.19", strategy: "vmalloc", bufferSize: 32 * MiB, buffers: 2 });
    expect(fits.ok).toBe(true);
    expect(fits.swiotlbSlotsUsed).toBe(32768);
    const full = case04Run({ kernel: "v6.19", strategy: "vmalloc", bufferSize: 33 * MiB, buffers: 2 });
    expect(full.ok).toBe(false);
    expect(full.buffers[0]!.ok).toBe(true);
    expect(full.buffers[1]!.ok).toBe(false);
    expect(full.reason).toContain("swiotlb buffer is full");
    // the failed map released its slots: only buffer 0's 33 MiB / 2 KiB = 16896 remain
    expect(full.swiotlbSlotsUsed).toBe(16896);
    // a 128 MiB pool (swiotlb=65536) holds both
    expect(case04Run({ kernel: "v6.19", strategy: "vmalloc", bufferSize: 33 * MiB, buffers: 2, swiotlbSize: 128 * MiB }).ok).toBe(true);
  });
});

describe("case 04: the fixes", () => {
  it("iommu: any page works, every device address below 4 GiB, nothing bounced", () => {
    const r = case04Run({ kernel: "v6.19", strategy: "iommu", iommu: true, bufferSize: 4 * MiB, buffers: 1 });
    expect(r.ok).toBe(true);
    expect(r.pagesAbove4G).toBe(1024);
    expect(r.bouncedBytesPerFrame).toBe(0);
    expect(r.buffers[0]!.deviceAddrs.every((a) => a + 4095 <= 0xffffffff)).toBe(true);
    expect(r.swiotlbSlots).toBe(0);
  });

  it("zone-dma32 and vmalloc_32 (v4.19): pages below 4 GiB, no bounce; the cost is only the sync calls", () => {
    for (const s of ["zone-dma32", "vmalloc32"] as const) {
      const r = case04Run({ kernel: "v4.19", strategy: s, bufferSize: 4 * MiB, buffers: 2 });
      expect(r.ok).toBe(true);
      expect(r.pagesAbove4G).toBe(0);
      expect(r.swiotlbSlotsUsed).toBe(0);
      expect(r.costPerFrameNs).toBe(2048 * 30);
    }
  });

  it("vmalloc_32 on v4.12: the bad zone combination confines it to ZONE_DMA (15 MiB managed): 16 MiB fails", () => {
    const r = case04Run({ kernel: "v4.12", strategy: "vmalloc32", bufferSize: 16 * MiB, buffers: 1 });
    expect(r.ok).toBe(false);
    expect(r.reason).toContain("vmalloc_32 failed");
  });

  it("noncontiguous: absent before v5.13; one DMA segment up to 4 MiB on dma-direct; any size behind the IOMMU", () => {
    expect(case04Run({ kernel: "v5.12", strategy: "noncontiguous" }).reason).toContain("does not exist before v5.13");
    const d = case04Run({ kernel: "v6.19", strategy: "noncontiguous", bufferSize: 4 * MiB, buffers: 1 });
    expect(d.ok).toBe(true);
    expect(d.buffers[0]!.dmaSegments).toBe(1);
    expect(d.costPerFrameNs).toBe(30);
    expect(case04Run({ kernel: "v6.19", strategy: "noncontiguous", bufferSize: 8 * MiB, buffers: 1 }).ok).toBe(false);
    const i = case04Run({ kernel: "v6.19", strategy: "noncontiguous", iommu: true, bufferSize: 8 * MiB, buffers: 1 });
    expect(i.ok).toBe(true);
    expect(i.buffers[0]!.tables).toBe(2); // 2048 pages / 1024 entries
  });

  it("dma_alloc_sg (proposed, never merged) works on v4.19 as a what-if", () => {
    expect(case04Run({ kernel: "v4.19", strategy: "dma_alloc_sg", bufferSize: MiB, buffers: 1 }).ok).toBe(true);
  });
});

describe("case 04: parameters, sweep and chart data", () => {
  it("rejects bad parameters before building anything", () => {
    expect(() => case04Run({ bufferSize: 0 })).toThrow(ModelConfigError);
    expect(() => case04Run({ strategy: "iommu", iommu: false })).toThrow(ModelConfigError);
    expect(() => case04Run({ ramGiB: 0 })).toThrow(ModelConfigError);
    expect(() => case04Run({ fragmentFraction: 1 })).toThrow(ModelConfigError);
    expect(() => case04Run({ strategy: "nope" as never })).toThrow(ModelConfigError);
  });

  it("the sweep skips iommu without VT-d and reports the pool running out", () => {
    const rows = case04Sweep({ kernel: "v6.19", buffers: 2 }, [16 * MiB, 64 * MiB], ["vmalloc", "iommu"]);
    expect(rows.map((r) => r.strategy)).toEqual(["vmalloc", "vmalloc"]);
    expect(rows.map((r) => r.ok)).toEqual([true, false]);
    expect(rows[0]!.bouncedMiBPerFrame).toBe(32);
  });

  it("the zone map marks pages beyond the mask and draws the mask line at 4 GiB", () => {
    const r = case04Run({ kernel: "v6.19", strategy: "vmalloc", bufferSize: MiB, buffers: 1 });
    const z = case04ZoneMap(r);
    expect(z.maskLine).toBe(2 ** 32);
    const pages = z.bars.filter((b) => b.lane === "buffer pages");
    expect(pages).toEqual([expect.objectContaining({ start: 2 ** 32, end: 2 ** 32 + MiB, kind: "above mask" })]);
    expect(z.bars.filter((b) => b.lane === "zones").map((b) => b.kind)).toEqual(["ZONE_DMA", "ZONE_DMA32", "ZONE_NORMAL"]);
    const spec = zoneMapChartSpec(z);
    expect(spec.$schema).toBe("https://vega.github.io/schema/vega-lite/v5.json");
  });

  it("fragmentation is deterministic per seed", () => {
    const a = case04Run({ kernel: "v6.19", strategy: "zone-dma32", bufferSize: 64 * 1024, buffers: 1, fragmentFraction: 0.5, seed: 9, ramGiB: 4 });
    const b = case04Run({ kernel: "v6.19", strategy: "zone-dma32", bufferSize: 64 * 1024, buffers: 1, fragmentFraction: 0.5, seed: 9, ramGiB: 4 });
    expect(a.buffers[0]!.pagePhys).toEqual(b.buffers[0]!.pagePhys);
    // scattered: not one contiguous run
    const p = a.buffers[0]!.pagePhys;
    expect(p.some((x, i) => i > 0 && x !== p[i - 1]! + 4096)).toBe(true);
  });
});
