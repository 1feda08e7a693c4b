import { describe, expect, it } from "vitest";
import { createMachine } from "../../lib/platform/machine.js";
import { KernelOops, ModelConfigError } from "../../lib/core/errors.js";
import { buddyOf } from "../../lib/mm/page-alloc.js";
import { vfreeBuddy, vmalloc32, vmallocBuddy, vmallocToSg } from "../../lib/mm/vmalloc32.js";

const MiB = 2 ** 20;
const pc8g = (kernel: string) => createMachine("x86-64-pc-8g", { kernel });

// x86-64, 8 GiB (0-3 GiB, 4-9 GiB). Managed ZONE_DMA32 pages start at 48 MiB (pfn 12288): 16-48 MiB is
// the kernel image / early allocations in the model; ZONE_DMA managed pages start at 1 MiB (pfn 256);
// ZONE_NORMAL starts at 4 GiB (pfn 0x100000). Lowest pfn first inside a zone.
describe("vmalloc_32 per release (GFP_VMALLOC32 and the implicit __GFP_HIGHMEM)", () => {
  it("v4.11: GFP_DMA32 | GFP_KERNEL, no highmem flag: ZONE_DMA32 pages from 48 MiB", () => {
    const m = pc8g("v4.11");
    const b = vmalloc32(m, MiB)!;
    expect(b.pfns.length).toBe(256);
    expect(b.pfns[0]! * 4096).toBe(48 * MiB);
    expect(new Set(b.zones)).toEqual(new Set(["ZONE_DMA32"]));
    expect(b.badZoneCombination).toBe(false);
  });

  it("v4.12 (19809c2da28a): DMA32 | HIGHMEM is GFP_ZONE_BAD -> zone 0 = ZONE_DMA from 1 MiB", () => {
    const m = pc8g("v4.12");
    const b = vmalloc32(m, MiB)!;
    expect(b.badZoneCombination).toBe(true);
    expect(b.pfns[0]! * 4096).toBe(MiB);
    expect(new Set(b.zones)).toEqual(new Set(["ZONE_DMA"]));
  });

  it("v4.12: a 16 MiB vmalloc_32 fails (ZONE_DMA manages 15 MiB, nothing below it) and gives every page back", () => {
    const m = pc8g("v4.12");
    const al = buddyOf(m);
    const before = al.freePageCount();
    expect(vmalloc32(m, 16 * MiB)).toBeNull();
    expect(al.freePageCount()).toBe(before);
  });

  it("v4.19 (704b862f9efd): no highmem flag with GFP_DMA32: ZONE_DMA32 again", () => {
    const b = vmalloc32(pc8g("v4.19"), 16 * MiB)!;
    expect(b.pfns[0]! * 4096).toBe(48 * MiB);
    expect(b.pfns.every((p) => p * 4096 < 2 ** 32)).toBe(true);
  });

  it("plain vmalloc takes ZONE_NORMAL: pages from 4 GiB up, above the 32-bit mask", () => {
    const b = vmallocBuddy(pc8g("v4.19"), 2 * MiB)!;
    expect(b.pfns[0]! * 4096).toBe(2 ** 32);
    expect(b.pfns[511]! * 4096).toBe(2 ** 32 + 511 * 4096);
    expect(new Set(b.zones)).toEqual(new Set(["ZONE_NORMAL"]));
  });
});

describe("vmalloc_to_sg", () => {
  it("one PAGE_SIZE entry per page, from vmalloc_to_page, last entry marked", () => {
    const m = pc8g("v6.19");
    const b = vmallocBuddy(m, 3 * 4096 + 100)!; // 4 pages
    const sg = vmallocToSg(m, b.va, 4)!;
    expect(sg.map((s) => s.pfn)).toEqual(b.pfns);
    expect(sg.every((s) => s.length === 4096 && s.offset === 0)).toBe(true);
    expect(sg.map((s) => s.isLast)).toEqual([false, false, false, true]);
  });

  it("returns null past the mapped pages (the guard page is not mapped)", () => {
    const m = pc8g("v6.19");
    const b = vmallocBuddy(m, 4096)!;
    expect(vmallocToSg(m, b.va, 2)).toBeNull();
  });

  it("BUG_ON(PageHighMem): on 32-bit ARM v4.12 vmalloc_32 pages come from ZONE_HIGHMEM and vmalloc_to_sg oopses", () => {
    // 32-bit: GFP_VMALLOC32 = GFP_KERNEL before the 2018 fix; v4.12 adds __GFP_HIGHMEM -> ZONE_HIGHMEM first.
    const m = createMachine("exynos5422-odroidxu4", { kernel: "v4.12" });
    const b = vmalloc32(m, 8192)!;
    expect(new Set(b.zones)).toEqual(new Set(["ZONE_HIGHMEM"]));
    expect(() => vmallocToSg(m, b.va, 2)).toThrow(KernelOops);
  });

  it("32-bit ARM v4.19 (GFP_DMA32 | GFP_KERNEL, DMA32 -> ZONE_NORMAL without ZONE_DMA32): lowmem pages, no oops", () => {
    const m = createMachine("exynos5422-odroidxu4", { kernel: "v4.19" });
    const b = vmalloc32(m, 8192)!;
    expect(new Set(b.zones)).toEqual(new Set(["ZONE_NORMAL"]));
    expect(vmallocToSg(m, b.va, 2)!.length).toBe(2);
  });
});

describe("vfree and bad input", () => {
  it("vfree gives the pages back; a second vfree is rejected with nothing changed", () => {
    const m = pc8g("v6.19");
    const al = buddyOf(m);
    const before = al.freePageCount();
    const b = vmalloc32(m, 64 * 1024)!;
    expect(al.freePageCount()).toBe(before - 16);
    vfreeBuddy(m, b.va);
    expect(al.freePageCount()).toBe(before);
    expect(() => vfreeBuddy(m, b.va)).toThrow(ModelConfigError);
    expect(al.freePageCount()).toBe(before);
  });

  it("rejects size 0 and nrPages 0 before any change", () => {
    const m = pc8g("v6.19");
    const al = buddyOf(m);
    const before = al.freePageCount();
    expect(() => vmalloc32(m, 0)).toThrow(ModelConfigError);
    expect(() => vmallocToSg(m, 0, 0)).toThrow(ModelConfigError);
    expect(al.freePageCount()).toBe(before);
  });
});
