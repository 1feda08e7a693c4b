import { describe, expect, it } from "vitest";
import { ModelConfigError } from "../../lib/core/errors.js";
import { case04Run, case04SameRun, case04Sweep, case04SweepRow, case04SweepRowAs, case04Vipt, case04ZoneMap, type Case04Params, type Case04Strategy } from "../../lib/scenarios/04-dma32-vmalloc.js";
import { viptStaleChartSpec, zoneMapChartSpec } from "../../lib/viz/zones.js";

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

  it("an 8 MiB pool (swiotlb=4096 slots) holds exactly 2048 bounced pages: 2 x 4 MiB fits, 2 x 4.25 MiB does not", () => {
    // (the 64 MiB default behaves the same at 16384 pages; a smaller pool keeps the copies quick)
    const fits = case04Run({ kernel: "v6.19", strategy: "vmalloc", bufferSize: 4 * MiB, buffers: 2, swiotlbSize: 8 * MiB });
    expect(fits.ok).toBe(true);
    expect(fits.swiotlbSlots).toBe(4096);
    expect(fits.swiotlbSlotsUsed).toBe(4096);
    // the pool sits at 3 GiB - 8 MiB
    expect(fits.swiotlbStart).toBe(3 * GiB - 8 * MiB);
    const full = case04Run({ kernel: "v6.19", strategy: "vmalloc", bufferSize: 4.25 * MiB, buffers: 2, swiotlbSize: 8 * MiB });
    expect(full.ok).toBe(false);
    expect(full.buffers[0]!.ok).toBe(true);
    expect(full.buffers[1]!.ok).toBe(false);
    expect(full.reason).toContain("swiotlb buffer is full");
    // dma_direct_map_sg unmapped the entries it had mapped: only buffer 0's 4.25 MiB / 2 KiB = 2176 slots remain
    expect(full.swiotlbSlotsUsed).toBe(2176);
    // the kernel's warning, from the trace: 4 KiB entries, v5.1+ format with the slot counts (4096 total, all used)
    expect(full.machine.trace.ofKind("swiotlb_full")[0]!.msg).toMatch(/swiotlb buffer is full \(sz: 4096 bytes\), total 4096 \(slots\), used 4096 \(slots\)/);
    // a 16 MiB pool (swiotlb=8192) holds both
    expect(case04Run({ kernel: "v6.19", strategy: "vmalloc", bufferSize: 4.25 * MiB, buffers: 2, swiotlbSize: 16 * MiB }).ok).toBe(true);
  });

  it("the frame's cost comes from the trace: the sync calls and every byte swiotlb copies back", () => {
    const r = case04Run({ kernel: "v4.19", strategy: "vmalloc", bufferSize: MiB, buffers: 1 });
    // 256 entries, each bounced: 256 x 30 ns + 1 MiB x 0.4 ns (data/costs/x86-64-pc.json)
    expect(r.bouncedBytesPerFrame).toBe(MiB);
    expect(r.costPerFrameNs).toBeCloseTo(256 * 30 + MiB * 0.4, 6);
    const evs = r.machine.trace.ofKind("dma_sync_for_cpu");
    expect(evs).toHaveLength(256);
    expect(evs.every((e) => e.data["copiedBytes"] === 4096)).toBe(true);
    // the card's writes reached the CPU through the bounce: the first page reads the device's token
    const pa = r.buffers[0]!.pagePhys[0]!;
    expect(r.machine.cpuCache.cpuRead(pa, 4096).map((x) => x.label)).toEqual(["dev:1"]);
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
    // opts.keepEvents is a boolean or absent (a string "no" would otherwise be read as true)
    expect(() => case04Run({}, { keepEvents: "no" as unknown as boolean })).toThrow(/case04Run\(opts\.keepEvents\)/);
    expect(() => case04Run({ fragmentFraction: 1 })).toThrow(ModelConfigError);
    expect(() => case04Run({ strategy: "nope" as never })).toThrow(ModelConfigError);
  });

  it("the sweep skips iommu without VT-d and reports the pool running out", () => {
    const rows = case04Sweep({ kernel: "v6.19", buffers: 2, swiotlbSize: 8 * MiB }, [2 * MiB, 8 * MiB], ["vmalloc", "iommu"]);
    expect(rows.map((r) => r.strategy)).toEqual(["vmalloc", "vmalloc"]);
    // 2 x 2 MiB = 4 MiB of bounces fit the 8 MiB pool; 2 x 8 MiB do not
    expect(rows.map((r) => r.ok)).toEqual([true, false]);
    expect(rows[0]!.bouncedMiBPerFrame).toBe(4);
  });

  it("vmalloc32 and zone-dma32 are the same run on x86-64 (vmalloc_32 passes GFP_KERNEL | GFP_DMA32 with ZONE_DMA32, every release); other strategies are not", () => {
    for (const kernel of ["v4.4", "v4.12", "v4.13", "v6.19"]) {
      const m = case04Run({ kernel, buffers: 1, bufferSize: MiB, strategy: "vmalloc32" }, { keepEvents: false }).machine;
      expect(case04SameRun(m, "vmalloc32", "zone-dma32")).toBe(true);
      expect(case04SameRun(m, "zone-dma32", "vmalloc32")).toBe(true);
      // vmalloc() passes GFP_KERNEL (with __GFP_HIGHMEM before v4.12): another zonelist
      expect(case04SameRun(m, "vmalloc", "vmalloc32")).toBe(false);
      expect(case04SameRun(m, "noncontiguous", "dma_alloc_sg")).toBe(false);
      expect(case04SameRun(m, "dma_alloc_sg", "dma_alloc_sg")).toBe(true);
    }
  });

  it("the sweep runs vmalloc32 once for both: every row is the one a run of its own strategy gives, failures worded per allocator", () => {
    const cases: Array<[Partial<Case04Params>, number[]]> = [
      [{ kernel: "v6.19", buffers: 2 }, [MiB, 16 * MiB]],
      // v4.12: GFP_DMA32 | __GFP_HIGHMEM falls to ZONE_DMA (15 MiB managed): 16 MiB fails in both
      [{ kernel: "v4.12", buffers: 1 }, [MiB, 16 * MiB]],
      // 1 GiB of RAM (less the 64 MiB pool) cannot hold a 1 GiB buffer: every strategy runs out of pages
      [{ kernel: "v5.4", ramGiB: 1, buffers: 1 }, [GiB]],
    ];
    const strategies: Case04Strategy[] = ["vmalloc", "vmalloc32", "zone-dma32"];
    for (const [base, sizes] of cases) {
      const rows = case04Sweep(base, sizes, strategies);
      const own = strategies.flatMap((s) => sizes.map((size) => case04SweepRow(case04Run({ ...base, strategy: s, bufferSize: size }, { keepEvents: false }))));
      expect(rows).toEqual(own);
    }
    // an allocation failure names the call each strategy makes (v4.12, and 1 GiB of RAM on v5.4)
    const fails = [...case04Sweep({ kernel: "v4.12", buffers: 1 }, [16 * MiB], ["vmalloc32", "zone-dma32"]), ...case04Sweep({ kernel: "v5.4", ramGiB: 1, buffers: 1 }, [GiB], ["zone-dma32", "vmalloc32"])];
    expect(fails.map((r) => [r.strategy, r.ok, r.reason])).toEqual([
      ["vmalloc32", false, "vmalloc_32 failed: no pages left in the zonelist"],
      ["zone-dma32", false, "vmalloc failed: no pages left in the zonelist"],
      ["zone-dma32", false, "vmalloc failed: no pages left in the zonelist"],
      ["vmalloc32", false, "vmalloc_32 failed: no pages left in the zonelist"],
    ]);
    // a run's row as another strategy: null when their runs differ
    const r = case04Run({ kernel: "v6.19", buffers: 1, bufferSize: MiB, strategy: "vmalloc32" }, { keepEvents: false });
    expect(case04SweepRowAs(r, "vmalloc")).toBeNull();
    expect(case04SweepRowAs(r, "vmalloc32")).toEqual(case04SweepRow(r));
    expect(case04SweepRowAs(r, "zone-dma32")).toEqual({ ...case04SweepRow(r), strategy: "zone-dma32" });
  });

  it("vmalloc and iommu are the same run behind VT-d (both map a vmalloc() buffer through iommu-dma), not without it", () => {
    for (const kernel of ["v4.4", "v5.4", "v6.19"]) {
      const on = case04Run({ kernel, iommu: true, buffers: 1, bufferSize: MiB, strategy: "iommu" }, { keepEvents: false }).machine;
      expect(case04SameRun(on, "vmalloc", "iommu")).toBe(true);
      expect(case04SameRun(on, "iommu", "vmalloc")).toBe(true);
      // another zonelist (vmalloc_32: GFP_DMA32), another allocator (dma_alloc_noncontiguous): other calls
      expect(case04SameRun(on, "iommu", "vmalloc32")).toBe(false);
      expect(case04SameRun(on, "iommu", "noncontiguous")).toBe(false);
      // without VT-d the card goes through dma-direct and swiotlb; the iommu strategy is refused there
      const off = case04Run({ kernel, buffers: 1, bufferSize: MiB, strategy: "vmalloc" }, { keepEvents: false }).machine;
      expect(case04SameRun(off, "vmalloc", "iommu")).toBe(false);
    }
  });

  it("behind VT-d the sweep runs vmalloc once for vmalloc and iommu: each row is the one a run of its own strategy gives", () => {
    const cases: Array<[Partial<Case04Params>, number[]]> = [
      [{ kernel: "v6.19", iommu: true, buffers: 2 }, [MiB, 16 * MiB]],
      [{ kernel: "v4.4", iommu: true, buffers: 2 }, [MiB]],
      // a 24-bit card behind the IOMMU has 16 MiB of IOVA space: the second 16 MiB buffer finds none
      [{ kernel: "v5.4", iommu: true, dmaMaskBits: 24, buffers: 2 }, [MiB, 16 * MiB]],
      // 1 GiB of RAM cannot hold a 1 GiB buffer: vmalloc() runs out of pages for both
      [{ kernel: "v5.4", iommu: true, ramGiB: 1, buffers: 1 }, [GiB]],
    ];
    const strategies: Case04Strategy[] = ["vmalloc", "iommu"];
    const oks: boolean[] = [];
    for (const [base, sizes] of cases) {
      const rows = case04Sweep(base, sizes, strategies);
      const own = strategies.flatMap((s) => sizes.map((size) => case04SweepRow(case04Run({ ...base, strategy: s, bufferSize: size }, { keepEvents: false }))));
      expect(rows).toEqual(own);
      oks.push(...rows.map((r) => r.ok));
    }
    // the cases reach failures as well as successes: IOVA space and pages
    expect(oks).toContain(false);
    expect(oks).toContain(true);
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

describe("case 04, VIPT variant on parisc: the vmalloc alias needs invalidate_kernel_vmap_range", () => {
  it("without it the CPU reads stale lines through the vmalloc alias; with it, the device's data", () => {
    // 64 KiB = 16 pages = 512 lines of 128 bytes (parisc-c8000: 128-byte lines, 4 MiB ways -> 1024 colours)
    const without = case04Vipt(false, 64 * 1024);
    expect(without.linearColour).not.toBe(without.vmallocColour); // two aliases, two colours
    expect(without.staleLines).toBe(512);
    expect(without.freshLines).toBe(0);
    // one stale_read event per page (each page carries its own device token)
    expect(without.staleReadEvents).toBe(16);
    // dma_unmap_sg: 16 calls x 100 ns + purge of 512 lines x 10 ns (data/costs/parisc-c8000.json)
    expect(without.costNs).toBe(16 * 100 + 512 * 10);
    const withInv = case04Vipt(true, 64 * 1024);
    expect(withInv.staleLines).toBe(0);
    expect(withInv.freshLines).toBe(512);
    expect(withInv.staleReadEvents).toBe(0);
    // + flush_data_cache: the whole-cache flush, 500 us (wholeCacheFlushNs)
    expect(withInv.costNs).toBe(16 * 100 + 512 * 10 + 500000);
    const spec = viptStaleChartSpec([without, withInv], "t");
    expect(spec.$schema).toBe("https://vega.github.io/schema/vega-lite/v5.json");
  });

  it("rejects a bad size", () => {
    expect(() => case04Vipt(true, 100)).toThrow(ModelConfigError);
  });
});

describe("case 04 explains a failure from the event that happened (issue 10 item 7)", () => {
  it("a 24-bit card: the pool lies above the mask, so the reason is swiotlb addr overflow, not a full pool", () => {
    // The x86-64 swiotlb pool sits below 4 GiB but far above 16 MiB (DMA_BIT_MASK(24) = 0xffffff):
    // swiotlb_map finds slots, then the bounce buffer fails dma_capable itself (kernel/dma/swiotlb.c,
    // swiotlb_map: "swiotlb addr ... overflow"). The pool is nowhere near full.
    const r = case04Run({ dmaMaskBits: 24 });
    expect(r.ok).toBe(false);
    expect(r.reason).toContain("swiotlb addr overflow");
    expect(r.reason).not.toContain("buffer is full");
    expect(r.machine.trace.ofKind("swiotlb_full")).toHaveLength(0);
  });
});

describe("case 04: saa7146 behind VT-d builds its table from the CPU lengths before e56429b09d5e (v5.13)", () => {
  // 1 MiB buffer = 256 vmalloc pages. iommu_dma_map_sg lays them out contiguously and __finalise_sg merges
  // up to dma_get_max_seg_size = 64 KiB (no dma_parms): 256 / 16 = 16 DMA segments S0..S15.
  // Before v5.13 the driver writes one entry per segment (list->length of the i-th CPU entry is 4096):
  // entry k = start of S_k for k < 16, then entries 16..255 are copies of S15's start. The right entry for
  // frame page k is S_(k/16) + (k mod 16) * 4 KiB. Right only for k = 0 (S0) and k = 240 (S15): 254 wrong.
  it("v5.12 (VT-d on dma-iommu since v5.11): 254 of 256 frame pages go to the wrong IOVA, all of them mapped", () => {
    const r = case04Run({ kernel: "v5.12", strategy: "iommu", iommu: true, bufferSize: MiB, buffers: 1 });
    expect(r.buffers[0]!.dmaSegments).toBe(16);
    expect(r.buffers[0]!.misdirected).toBe(254);
    expect(r.buffers[0]!.unmappedEntries).toBe(0);
    expect(r.ok).toBe(false);
    expect(r.reason).toContain("254 of 256 frame pages go to the wrong IOVA");
  });
  it("v5.13: sg_dma_len gives 16 entries per segment, all 256 right", () => {
    const r = case04Run({ kernel: "v5.13", strategy: "iommu", iommu: true, bufferSize: MiB, buffers: 1 });
    expect(r.buffers[0]!.misdirected).toBe(0);
    expect(r.ok).toBe(true);
  });
  it("v5.10: VT-d still had intel_map_sg (no merging in the kernel), so the old loop was right", () => {
    const r = case04Run({ kernel: "v5.10", strategy: "iommu", iommu: true, bufferSize: MiB, buffers: 1 });
    expect(r.buffers[0]!.misdirected).toBe(0);
    expect(r.ok).toBe(true);
  });
  it("without an IOMMU (dma-direct, one segment per page) the old loop is right on v5.12", () => {
    const r = case04Run({ kernel: "v5.12", strategy: "zone-dma32", bufferSize: MiB, buffers: 1 });
    expect(r.buffers[0]!.dmaSegments).toBe(256);
    expect(r.buffers[0]!.misdirected).toBe(0);
  });
});
