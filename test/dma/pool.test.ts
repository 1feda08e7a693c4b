import { describe, expect, it } from "vitest";
import { KernelOops } from "../../lib/core/errors.js";
import { cmaInitReservedMem } from "../../lib/mm/cma.js";
import { genPoolAvail, genPoolSize } from "../../lib/mm/genalloc.js";
import {
  DEFAULT_DMA_COHERENT_POOL_SIZE,
  arm32AllocFromPool,
  arm32AtomicPoolInit,
  arm32DmaAllocator,
  arm32FreeFromPool,
  atomicPoolWorkFn,
  defaultAtomicPoolSize,
  dmaAllocFromPool,
  dmaAtomicPoolInit,
  dmaFreeFromPool,
  type AtomicPoolZone,
} from "../../lib/dma/pool.js";

const K = 1024;
const MiB = 1048576;
const PAGE = 4096;

describe("32-bit ARM atomic pool (arch/arm/mm/dma-mapping.c)", () => {
  it("the thread's number: 256 KiB default (DEFAULT_DMA_COHERENT_POOL_SIZE = SZ_256K)", () => {
    expect(DEFAULT_DMA_COHERENT_POOL_SIZE).toBe(256 * K);
  });

  it("without CMA: remapped GFP_DMA pages, one 64-page chunk, order-aligned first fit", () => {
    const ap = arm32AtomicPoolInit({ kernel: "v5.4", allocPages: () => 0x2fc00000 });
    // virt 0xf0000000 is not a kernel value: it is the model's placeholder remap address
    // (the default mapVirt of lib/dma/pool.ts when the caller gives none); phys is allocPages' answer.
    expect([ap.backing, ap.mapping, ap.size, ap.phys, ap.virt]).toEqual(["remap", "vmap", 262144, 0x2fc00000, 0xf0000000]);
    expect(genPoolSize(ap.pool!)).toBe(262144);
    // 256 KiB / 4 KiB = 64 granules. 1 page -> bit 0; 3 pages -> roundup 4 -> bit 4.
    expect(arm32AllocFromPool(ap, PAGE)).toEqual({ virt: 0xf0000000, phys: 0x2fc00000 });
    expect(arm32AllocFromPool(ap, 3 * PAGE)).toEqual({ virt: 0xf0000000 + 4 * PAGE, phys: 0x2fc00000 + 4 * PAGE });
    // 256 KiB needs all 64 granules from bit 0: impossible now.
    expect(arm32AllocFromPool(ap, 256 * K)).toBeNull();
    // anything above 256 KiB never fits the default pool.
    expect(arm32FreeFromPool(ap, 0xf0000000, PAGE)).toBe(true);
    expect(arm32FreeFromPool(ap, 0xf0000000 + 4 * PAGE, 3 * PAGE)).toBe(true);
    expect(arm32AllocFromPool(ap, 300 * K)).toBeNull();
    expect(arm32AllocFromPool(ap, 256 * K)).toEqual({ virt: 0xf0000000, phys: 0x2fc00000 });
    expect(genPoolAvail(ap.pool!)).toBe(0);
  });

  it("coherent_pool=1M and a failed backing allocation", () => {
    expect(arm32AtomicPoolInit({ kernel: "v6.19", coherentPool: "1M", allocPages: () => 0x10000000 }).size).toBe(MiB);
    const bad = arm32AtomicPoolInit({ kernel: "v6.19" });
    expect(bad.pool).toBeNull();
    expect(arm32AllocFromPool(bad, PAGE)).toBeNull();
    expect(() => arm32AtomicPoolInit({ kernel: "v6.19", coherentPool: "lots" })).toThrow(/coherent_pool=/);
  });

  it("with a default CMA area in lowmem: __dma_remap of 64 linear-map PTEs; in highmem: a vmap", () => {
    const cma = cmaInitReservedMem({ kernel: "v6.19", base: 0x2c000000, size: 64 * MiB }).cma!;
    // get_order(256 KiB) = 6 <= CMA_ALIGNMENT 8: 64 pages at pfn 0x2c000 (the area start).
    const ap = arm32AtomicPoolInit({ kernel: "v6.19", cma, lowmemLimit: 0x2f800000 });
    expect([ap.backing, ap.mapping, ap.phys, ap.remappedPtes]).toEqual(["cma", "dma_remap", 0x2c000000, 64]);
    // page_address: 0xc0000000 + 0x2c000000 - PHYS_OFFSET (0).
    expect(ap.virt).toBe(0xec000000);
    const cma2 = cmaInitReservedMem({ kernel: "v6.19", base: 0x2c000000, size: 64 * MiB }).cma!;
    const hi = arm32AtomicPoolInit({ kernel: "v6.19", cma: cma2, lowmemLimit: 0x20000000 });
    expect([hi.mapping, hi.remappedPtes, hi.virt]).toEqual(["vmap", 0, 0xf0000000]);
  });

  it("double free BUGs", () => {
    const ap = arm32AtomicPoolInit({ kernel: "v5.4", allocPages: () => 0x2fc00000 });
    const a = arm32AllocFromPool(ap, PAGE)!;
    arm32FreeFromPool(ap, a.virt, PAGE);
    expect(() => arm32FreeFromPool(ap, a.virt, PAGE)).toThrow(KernelOops);
  });

  it("__dma_alloc allocator choice", () => {
    expect(arm32DmaAllocator({ allowBlock: true, hasCmaArea: true, isCoherent: false })).toBe("cma");
    expect(arm32DmaAllocator({ allowBlock: false, hasCmaArea: true, isCoherent: false })).toBe("pool");
    expect(arm32DmaAllocator({ allowBlock: false, hasCmaArea: true, isCoherent: true })).toBe("simple");
    expect(arm32DmaAllocator({ allowBlock: true, hasCmaArea: false, isCoherent: false })).toBe("remap");
    expect(arm32DmaAllocator({ allowBlock: true, hasCmaArea: true, isCoherent: true })).toBe("cma");
  });
});

describe("generic atomic pools (kernel/dma/remap.c v5.4, kernel/dma/pool.c)", () => {
  it("default size: 256 KiB in v5.4; 128 KiB per GiB, clamped to [128 KiB, 4 MiB] from v5.8", () => {
    expect(defaultAtomicPoolSize("v5.4", 2097152)).toBe(256 * K);
    // 1 GiB = 262144 pages / 8192 = 32 pages = 128 KiB.
    expect(defaultAtomicPoolSize("v6.19", 262144)).toBe(128 * K);
    // 512 MiB: 16 pages = 64 KiB, raised to 128 KiB.
    expect(defaultAtomicPoolSize("v6.19", 131072)).toBe(128 * K);
    // 8 GiB: 256 pages = 1 MiB.
    expect(defaultAtomicPoolSize("v5.10", 2097152)).toBe(MiB);
    // 64 GiB: 2048 pages, clamped to MAX_ORDER_NR_PAGES 1024 = 4 MiB.
    expect(defaultAtomicPoolSize("v6.19", 16777216)).toBe(4 * MiB);
  });

  const bases: Record<AtomicPoolZone, number> = { dma: 0x01000000, dma32: 0x80000000, kernel: 0x100000000 };

  it("v5.4: one pool from GFP_DMA32 pages (no ZONE_DMA), 256 KiB, any gfp uses it", () => {
    const p = dmaAtomicPoolInit({ kernel: "v5.4", totalRamPages: 1048576, zones: { dma32: { managed: true }, normal: { managed: true } }, allocPages: (z) => bases[z] });
    expect(p.single).toBe(true);
    expect(p.poolSize).toEqual({ dma: 0, dma32: 256 * K, kernel: 0 });
    const r = dmaAllocFromPool(p, 8 * K, "kernel");
    expect(r.alloc).toEqual({ virt: bases.dma32 + 2 ** 47, phys: bases.dma32, zone: "dma32" });
  });

  it("v6.19, 4 GiB, all zones managed: three 512 KiB pools; GFP_DMA32 takes dma32", () => {
    // 4 GiB = 1048576 pages / 8192 = 128 pages = 512 KiB; get_order(512 KiB) = 7 -> one 512 KiB chunk each.
    const p = dmaAtomicPoolInit({
      kernel: "v6.19",
      totalRamPages: 1048576,
      zones: { dma: { managed: true }, dma32: { managed: true }, normal: { managed: true } },
      allocPages: (z) => bases[z],
    });
    expect(p.atomicPoolSize).toBe(512 * K);
    expect(p.poolSize).toEqual({ dma: 512 * K, dma32: 512 * K, kernel: 512 * K });
    expect(dmaAllocFromPool(p, PAGE, "dma32").alloc!.phys).toBe(bases.dma32);
    expect(dmaAllocFromPool(p, PAGE, "kernel").alloc!.phys).toBe(bases.kernel);
  });

  it("a zone without managed pages, per release", () => {
    const zones = { dma: { managed: false }, dma32: { managed: true }, normal: { managed: true } };
    const alloc = (z: AtomicPoolZone) => (z === "dma" ? null : bases[z]);
    // v5.10: the dma pool is attempted (CONFIG_ZONE_DMA) and fails: -ENOMEM; GFP_DMA finds no pool.
    const p510 = dmaAtomicPoolInit({ kernel: "v5.10", totalRamPages: 262144, zones, allocPages: alloc });
    expect([p510.initRet, p510.pools.dma]).toEqual([-12, null]);
    expect(dmaAllocFromPool(p510, PAGE, "dma")).toEqual({ alloc: null, warning: "Failed to get suitable pool" });
    // v5.17: no dma pool, no error; GFP_DMA falls to the kernel pool, then dma32.
    const p517 = dmaAtomicPoolInit({ kernel: "v5.17", totalRamPages: 262144, zones, allocPages: alloc });
    expect(p517.initRet).toBe(0);
    expect(dmaAllocFromPool(p517, PAGE, "dma").alloc!.zone).toBe("kernel");
    // with a phys_addr_ok that rejects the kernel pool (above 4 GiB), the next pool (dma32) serves it.
    const ok = (phys: number) => phys < 2 ** 32;
    expect(dmaAllocFromPool(p517, PAGE, "dma", ok).alloc!.zone).toBe("dma32");
    // v6.19: GFP_DMA chain dma -> dma32 -> kernel: dma32 first.
    const p619 = dmaAtomicPoolInit({ kernel: "v6.19", totalRamPages: 262144, zones, allocPages: alloc });
    expect(dmaAllocFromPool(p619, PAGE, "dma").alloc!.zone).toBe("dma32");
  });

  it("v6.19 with no managed ZONE_NORMAL: no kernel pool, plain gfp falls back to dma32", () => {
    const zones = { dma32: { managed: true }, normal: { managed: false } };
    const p68 = dmaAtomicPoolInit({ kernel: "v6.8", totalRamPages: 262144, zones, allocPages: (z) => bases[z] });
    expect(p68.pools.kernel).not.toBeNull();
    const p = dmaAtomicPoolInit({ kernel: "v6.19", totalRamPages: 262144, zones, allocPages: (z) => bases[z] });
    expect(p.pools.kernel).toBeNull();
    expect(dmaAllocFromPool(p, PAGE, "kernel").alloc!.zone).toBe("dma32");
  });

  it("expansion: avail below atomic_pool_size schedules the work, which doubles the pool with a new head chunk", () => {
    let next = 0x40000000;
    const p = dmaAtomicPoolInit({
      kernel: "v6.19",
      totalRamPages: 262144,
      zones: { normal: { managed: true } },
      allocPages: (_z, order) => {
        const a = next;
        next += PAGE * 2 ** order;
        return a;
      },
      mapVirt: (phys) => phys + 0x80000000,
    });
    // 1 GiB: 128 KiB pool, one chunk at 0x40000000.
    expect(p.poolSize.kernel).toBe(128 * K);
    const a = dmaAllocFromPool(p, 64 * K, "kernel").alloc!;
    expect(a.phys).toBe(0x40000000);
    // avail 64 KiB < 128 KiB.
    expect(p.workPending).toBe(true);
    // the work expands by gen_pool_size (128 KiB): get_order = 5, one new chunk at 0x40020000.
    expect(atomicPoolWorkFn(p)).toEqual({ dma: 0, dma32: 0, kernel: 128 * K });
    expect(p.poolSize.kernel).toBe(256 * K);
    expect(p.workPending).toBe(false);
    // newest chunk first: a 4 KiB request lands at the start of the new chunk.
    expect(dmaAllocFromPool(p, PAGE, "kernel").alloc!.phys).toBe(0x40020000);
    expect(dmaFreeFromPool(p, a.virt, 64 * K)).toBe(true);
    expect(dmaFreeFromPool(p, 0x1234, PAGE)).toBe(false);
  });

  it("atomic_pool_expand drops one order at a time when pages are short", () => {
    // 128 KiB wants order 5; only order <= 3 (32 KiB) succeeds.
    const p = dmaAtomicPoolInit({ kernel: "v6.19", totalRamPages: 262144, zones: { normal: { managed: true } }, allocPages: (_z, order) => (order <= 3 ? 0x50000000 : null) });
    expect(p.poolSize.kernel).toBe(32 * K);
    expect(dmaAllocFromPool(p, 64 * K, "kernel")).toEqual({ alloc: null, warning: "DMA pool exhausted" });
  });

  it("CMA is used when the default area lies in the zone (cma_in_zone)", () => {
    const p = dmaAtomicPoolInit({
      kernel: "v6.19",
      totalRamPages: 262144,
      zones: { normal: { managed: true } },
      allocPages: () => 0x50000000,
      cmaAlloc: () => 0x2c000000,
      cmaInZone: () => true,
    });
    expect(dmaAllocFromPool(p, PAGE, "kernel").alloc!.phys).toBe(0x2c000000);
  });
});
