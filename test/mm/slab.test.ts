import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { createMachine } from "../../lib/platform/machine.js";
import { archDmaMinAlign, kfree, kmalloc, kmallocClasses, kmallocMinAlign, ksize } from "../../lib/mm/slab.js";
import { virtToPhys } from "../../lib/mm/linear-map.js";

function arm64(kernel: string) {
  const p = JSON.parse(readFileSync("data/platforms/arm64-server.json", "utf8"));
  return createMachine(p, { kernel });
}

describe("kmalloc minimum alignment per arch and release", () => {
  it("arm64 before v6.5: ARCH_KMALLOC_MINALIGN = ARCH_DMA_MINALIGN = 128", () => {
    expect(kmallocMinAlign(arm64("v6.4"))).toBe(128);
  });
  it("arm64 from v6.5 (4ab5f8ec7d71) with swiotlb: 8; without swiotlb: the cache line (64)", () => {
    expect(kmallocMinAlign(arm64("v6.5"))).toBe(8);
    expect(kmallocMinAlign(arm64("v6.19"), { swiotlbAllocated: false })).toBe(64);
    expect(archDmaMinAlign(arm64("v6.19"))).toBe(128);
  });
  it("ARMv7: ARCH_DMA_MINALIGN = L1_CACHE_BYTES = 64 (ARM_L1_CACHE_SHIFT_6)", () => {
    const m = createMachine("am335x-beaglebone-black");
    expect(kmallocMinAlign(m)).toBe(64);
    expect(archDmaMinAlign(m)).toBe(64);
  });
  it("x86-64: 8; parisc: max(16, dcache stride 128) = 128", () => {
    expect(kmallocMinAlign(createMachine("x86-64-pc"))).toBe(8);
    expect(kmallocMinAlign(createMachine("parisc-c8000"))).toBe(128);
  });
});

describe("kmalloc placement", () => {
  it("size classes drop those below the minimum alignment, and 96/192 when not multiples of it", () => {
    // ARMv7 (64): 64, 128, 192, 256, 512, 1024, 2048, 4096, 8192 (2 pages).
    expect(kmallocClasses(createMachine("am335x-beaglebone-black"))).toEqual([64, 128, 192, 256, 512, 1024, 2048, 4096, 8192]);
    // arm64 v6.4 (128): 128, 256, ...
    expect(kmallocClasses(arm64("v6.4"))[0]).toBe(128);
    expect(kmallocClasses(arm64("v6.4"))).not.toContain(192);
  });

  it("two small objects share a 64-byte line on arm64 v6.19 but not on v6.4", () => {
    const a = arm64("v6.19");
    const p1 = virtToPhys(a, kmalloc(a, 20)!);
    const p2 = virtToPhys(a, kmalloc(a, 20)!);
    // kmalloc-32: consecutive objects 32 bytes apart, same 64-byte line.
    expect(p2 - p1).toBe(32);
    expect(Math.floor(p1 / 64)).toBe(Math.floor(p2 / 64));
    const b = arm64("v6.4");
    const q1 = virtToPhys(b, kmalloc(b, 20)!);
    const q2 = virtToPhys(b, kmalloc(b, 20)!);
    expect(q2 - q1).toBe(128);
  });

  it("objects live in the linear map above 4 GiB on the arm64 server (bank at 0x8000000000)", () => {
    const a = arm64("v6.19");
    expect(virtToPhys(a, kmalloc(a, 4096)!)).toBe(0x8004000000);
  });

  it("large requests are page aligned to their order; kfree reuses objects LIFO; ksize reports the class", () => {
    const m = createMachine("am335x-beaglebone-black");
    const big = kmalloc(m, 3 * 4096 + 1)!; // 4 pages, aligned to 4 pages = 16 KiB
    expect(virtToPhys(m, big) % 16384).toBe(0);
    const x = kmalloc(m, 100)!;
    expect(ksize(m, x)).toBe(128);
    kfree(m, x);
    expect(kmalloc(m, 120)).toBe(x);
  });

  it("bad input: size 0 and a double free are rejected", () => {
    const m = createMachine("am335x-beaglebone-black");
    expect(() => kmalloc(m, 0)).toThrow(/size/);
    const x = kmalloc(m, 64)!;
    kfree(m, x);
    expect(() => kfree(m, x)).toThrow(/live pointer/);
  });
});
