import { describe, expect, it } from "vitest";
import {
  DMA_MAPPING_ERROR,
  ModelConfigError,
  Trace,
  createPrng,
  dmaAddr,
  dmaMappingError,
  errnoName,
  ENOMEM,
  ENXIO,
  fmtVirtAddr,
  parseVirtAddr,
  physAddr,
  xorshift32,
} from "../../lib/core/index.js";

describe("addresses", () => {
  it("validates and brands", () => {
    expect(physAddr(0xb0000000)).toBe(0xb0000000);
    expect(() => physAddr(-1)).toThrow(ModelConfigError);
    expect(() => dmaAddr(2 ** 53)).toThrow(/dmaAddr/);
    expect(dmaMappingError(DMA_MAPPING_ERROR)).toBe(true);
    expect(dmaMappingError(dmaAddr(0))).toBe(false);
  });
  it("round-trips 64-bit kernel VAs through the 48-bit representation", () => {
    // arm64 VA_BITS=48 since v5.4: PAGE_OFFSET = 0xffff000000000000 -> low 48 bits 0
    expect(parseVirtAddr("0xffff000000000000", 48)).toBe(0);
    // x86-64 direct map base 0xffff888000000000 -> low 48 bits 0x888000000000
    const x = parseVirtAddr("0xffff888000000000", 48);
    expect(x).toBe(0x888000000000);
    expect(fmtVirtAddr(x, 48)).toBe("0xffff888000000000");
    expect(fmtVirtAddr(0xc0000000, 32)).toBe("0xc0000000");
    // bit 47 may be clear in a kernel address on arm64: PAGE_OFFSET itself
    expect(fmtVirtAddr(0, 48)).toBe("0xffff000000000000");
    // a user-space address is not a kernel VA
    expect(() => parseVirtAddr("0x00007fff00000000", 48)).toThrow(/top 16 bits all ones/);
  });
});

describe("errno", () => {
  it("names kernel return values", () => {
    expect(errnoName(-ENOMEM)).toBe("-ENOMEM");
    expect(errnoName(-ENXIO)).toBe("-ENXIO");
    expect(ENOMEM).toBe(12); // include/uapi/asm-generic/errno-base.h
    expect(errnoName(0)).toBe("0");
  });
});

describe("seeded PRNGs", () => {
  it("xorshift32 follows Marsaglia's recurrence", () => {
    // Hand computation from seed 1 (all mod 2^32):
    // x = 1; x ^= x << 13 -> 0x2001; x ^= x >> 17 -> 0x2001; x ^= x << 5 -> 0x2001 ^ 0x40020 = 0x42021
    const r = xorshift32(1);
    expect(r.nextU32()).toBe(0x42021);
    expect(() => xorshift32(0)).toThrow(ModelConfigError);
  });
  it("is deterministic per seed and differs across seeds", () => {
    const a = createPrng(42);
    const b = createPrng(42);
    const c = createPrng(43);
    const sa = Array.from({ length: 8 }, () => a.nextU32());
    const sb = Array.from({ length: 8 }, () => b.nextU32());
    const sc = Array.from({ length: 8 }, () => c.nextU32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
    for (const v of sa) expect(v >= 0 && v < 2 ** 32).toBe(true);
    expect(() => a.nextInt(0)).toThrow(/nextInt\(n\)/);
  });
});

describe("trace", () => {
  it("records events and advances the clock by their cost", () => {
    const t = new Trace();
    t.record({ fn: "iommu_dma_map_sg", kind: "map_sg", msg: "alloc", costNs: 100 });
    const e = t.record({ fn: "iommu_dma_map_sg", kind: "iommu_map", msg: "map", costNs: 50, level: "info" });
    t.record({ fn: "sg_page", kind: "oops", msg: "Unable to handle kernel paging request", level: "fault" });
    expect(e.seq).toBe(1);
    expect(e.timeNs).toBe(100);
    expect(t.nowNs).toBe(150);
    expect(t.costSince(1)).toBe(50);
    expect(t.faults().map((x) => x.kind)).toEqual(["oops"]);
    expect(() => t.record({ fn: "x", kind: "warn", msg: "z", costNs: -1 })).toThrow(ModelConfigError);
    expect(t.length).toBe(3); // the rejected record changed nothing
  });

  it("kinds are a closed union (TraceKind): a misspelt kind fails to compile", () => {
    const t = new Trace();
    // @ts-expect-error "dma_mpa" is no TraceKind
    t.record({ fn: "dma_map_page", kind: "dma_mpa", msg: "typo" });
    // @ts-expect-error "swiotlb_ful" is no TraceKind
    expect(t.ofKind("swiotlb_ful")).toEqual([]);
    expect(t.ofKind("dma_map", "swiotlb_full")).toEqual([]);
  });
});

describe("Trace.onRecord", () => {
  it("sees every event, stored or not, after the clock advanced", () => {
    for (const keepEvents of [true, false]) {
      const t = new Trace({ keepEvents });
      const seen: Array<[string, number]> = [];
      t.onRecord = (ev) => seen.push([ev.msg, t.nowNs]);
      t.record({ fn: "f", kind: "dma_map", msg: "a", costNs: 5 });
      t.record({ fn: "f", kind: "dma_map", msg: "b", costNs: 7 });
      // clock after each: 5, then 5 + 7
      expect(seen).toEqual([["a", 5], ["b", 12]]);
      expect(t.length).toBe(keepEvents ? 2 : 0);
    }
  });
});
