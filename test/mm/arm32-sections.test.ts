import { describe, expect, it } from "vitest";
import { ModelConfigError } from "../../lib/core/errors.js";
import { loadPlatformProfile } from "../../lib/platform/profile.js";
import {
  ARM_SECTION_SIZE,
  arm32LinearMap,
  changeAttributes,
  dmaContiguousRemap,
  linearMapAttrAt,
  linearMapGranuleAt,
  pgdAlloc,
  spawnProcesses,
  staleSectionCopies,
} from "../../lib/mm/arm32-sections.js";

const MiB = 1048576;
const bbb = loadPlatformProfile("am335x-beaglebone-black");

// BeagleBone Black: 512 MiB at 0x80000000, PAGE_OFFSET 0xc0000000. lowmem limit =
// min(RAM end 0xa0000000, PHYS_OFFSET + (0xf0000000 - 0xc0000000)) = 0xa0000000.
describe("the ARM32 linear map in sections", () => {
  it("the thread's number: 1 MiB sections (2-level), 2 MiB blocks with LPAE", () => {
    expect(ARM_SECTION_SIZE).toBe(MiB);
    const m = arm32LinearMap(bbb);
    expect([m.sectionSize, m.lowmemLimit, m.sections]).toEqual([MiB, 0xa0000000, 512]);
    const l = arm32LinearMap(bbb, { lpae: true });
    expect([l.sectionSize, l.sections]).toEqual([2 * MiB, 256]);
    expect(linearMapGranuleAt(m, 0x80000000)).toBe("section");
  });

  it("pgd_alloc copies the kernel half: 520 pgd pairs (2-level, 3G/1G), 1 entry (LPAE)", () => {
    const m = arm32LinearMap(bbb);
    // TASK_SIZE = 0xc0000000 - 16 MiB = 0xbf000000; USER_PTRS_PER_PGD = 0xbf000000 / 2 MiB = 1528; 2048 - 1528 = 520.
    expect(pgdAlloc(m, "init").cost).toEqual({ pgdEntriesCopied: 520, bytesCopied: 4160 });
    const l = arm32LinearMap(bbb, { lpae: true });
    // USER_PTRS_PER_PGD = 0xc0000000 / 1 GiB = 3; 4 - 3 = 1.
    expect(pgdAlloc(l, "init").cost).toEqual({ pgdEntriesCopied: 1, bytesCopied: 8 });
    // VMSPLIT_2G (lpae.config): PAGE_OFFSET 0x80000000 -> 4 - 2 = 2.
    const l2 = arm32LinearMap(bbb, { lpae: true, pageOffset: 0x80000000, lowmemLimit: 0xa0000000 });
    expect(pgdAlloc(l2, "init").cost.pgdEntriesCopied).toBe(2);
  });

  it("dma_contiguous_remap of a 64 MiB CMA area at 0x9c000000", () => {
    const m = arm32LinearMap(bbb);
    const c = dmaContiguousRemap(m, [{ base: 0x9c000000, size: 64 * MiB }]);
    // 64 MiB / 2 MiB = 32 pmd_clear steps, each clearing 2 one-MiB words; 64 MiB / 4 KiB = 16384 PTEs.
    expect(c).toEqual({ entriesCleared: 64, pteTables: 32, ptesWritten: 16384, tlbFlushCalls: 1, tlbiOps: 16384, bytesRemapped: 64 * MiB });
    expect(linearMapGranuleAt(m, 0x9c000000)).toBe("pte");
    expect(linearMapGranuleAt(m, 0x9bf00000)).toBe("section");
    const l = arm32LinearMap(bbb, { lpae: true });
    expect(dmaContiguousRemap(l, [{ base: 0x9c000000, size: 64 * MiB }]).entriesCleared).toBe(32);
    // an area above lowmem is skipped.
    const m2 = arm32LinearMap(bbb, { lowmemLimit: 0x90000000 });
    expect(dmaContiguousRemap(m2, [{ base: 0x9c000000, size: 64 * MiB }]).bytesRemapped).toBe(0);
  });

  it("one 4 KiB page in the CMA area: one PTE, one flush, no matter how many processes", () => {
    const m = arm32LinearMap(bbb);
    dmaContiguousRemap(m, [{ base: 0x9c000000, size: 64 * MiB }]);
    spawnProcesses(m, 100);
    const c = changeAttributes(m, { phys: 0x9c001000, size: 4096 }, "noncacheable");
    expect(c).toEqual({ mechanism: "dma_remap", entriesWritten: 1, tlbFlushCalls: 1, tlbiOps: 1, processesTouched: 1, stopMachine: false, collateralBytes: 0 });
    expect(linearMapAttrAt(m, 1, 0x9c001000)).toBe("noncacheable");
    expect(linearMapAttrAt(m, 1, 0x9c002000)).toBe("cacheable");
    // 64 KiB: 16 PTEs.
    expect(changeAttributes(m, { phys: 0x9c010000, size: 65536 }, "writecombine").entriesWritten).toBe(16);
  });

  it("one 4 KiB page in section-mapped memory: every mm's section, under stop_machine", () => {
    const m = arm32LinearMap(bbb);
    spawnProcesses(m, 100);
    pgdAlloc(m, "threaded", 4);
    // user threads with an mm: 100 + 4 = 104; passes = 104 + active_mm + init_mm = 106.
    const c = changeAttributes(m, { phys: 0x80400000, size: 4096 }, "noncacheable");
    expect(c).toEqual({
      mechanism: "section_update",
      entriesWritten: 106,
      tlbFlushCalls: 106,
      // local_flush_tlb_kernel_range over 1 MiB: 256 invalidates each.
      tlbiOps: 106 * 256,
      // 101 user mms + init_mm.
      processesTouched: 102,
      stopMachine: true,
      collateralBytes: MiB - 4096,
    });
    expect(staleSectionCopies(m)).toEqual([]);
    expect(linearMapAttrAt(m, 50, 0x804ff000)).toBe("noncacheable");
  });

  it("LPAE: the 2 MiB block lives in init_mm's shared PMD table", () => {
    const l = arm32LinearMap(bbb, { lpae: true });
    spawnProcesses(l, 100);
    const c = changeAttributes(l, { phys: 0x80400000, size: 4096 }, "noncacheable");
    // the kernel loop still runs per mm (102 passes), each rewriting the same shared entry; 2 MiB / 4 KiB = 512 invalidates.
    expect([c.entriesWritten, c.tlbiOps, c.processesTouched, c.collateralBytes]).toEqual([102, 102 * 512, 1, 2 * MiB - 4096]);
  });

  it("changing init_mm alone leaves every 2-level process with the old attribute: a mismatched alias", () => {
    const m = arm32LinearMap(bbb);
    spawnProcesses(m, 3);
    const c = changeAttributes(m, { phys: 0x80000000, size: 2 * MiB }, "noncacheable", { onlyInitMm: true });
    expect([c.mechanism, c.entriesWritten, c.processesTouched]).toEqual(["section_update_init_only", 2, 1]);
    expect(staleSectionCopies(m)).toEqual([1, 2, 3]);
    expect(linearMapAttrAt(m, 0, 0x80000000)).toBe("noncacheable");
    expect(linearMapAttrAt(m, 2, 0x80000000)).toBe("cacheable");
    const l = arm32LinearMap(bbb, { lpae: true });
    spawnProcesses(l, 3);
    changeAttributes(l, { phys: 0x80000000, size: 2 * MiB }, "noncacheable", { onlyInitMm: true });
    expect(staleSectionCopies(l)).toEqual([]);
  });

  it("a range straddling the CMA area and a section goes the section way", () => {
    const m = arm32LinearMap(bbb);
    dmaContiguousRemap(m, [{ base: 0x9c000000, size: 64 * MiB }]);
    expect(changeAttributes(m, { phys: 0x9bfff000, size: 8192 }, "noncacheable").mechanism).toBe("section_update");
  });

  it("misuse is rejected", () => {
    const m = arm32LinearMap(bbb);
    expect(() => changeAttributes(m, { phys: 0xa0000000, size: 4096 }, "noncacheable")).toThrow(ModelConfigError);
    expect(() => changeAttributes(m, { phys: 0x80000000, size: 4096 }, "uncached" as never)).toThrow(/attr/);
    spawnProcesses(m, 1);
    expect(() => dmaContiguousRemap(m, [{ base: 0x9c000000, size: 64 * MiB }])).toThrow(/paging_init/);
    expect(() => arm32LinearMap(loadPlatformProfile("x86-64-pc"))).toThrow(ModelConfigError);
    expect(() => linearMapAttrAt(m, 99, 0x80000000)).toThrow(/pid/);
  });
});
