import { describe, expect, it } from "vitest";
import { ModelConfigError } from "../../lib/core/errors.js";
import { createMachine } from "../../lib/platform/machine.js";
import { dmaAllocAttrs, dmaFreeCoherent } from "../../lib/dma/mapping.js";
import { archDmaAllocHooksOf, armDmaAllocBoot, armDmaAllocStateOf } from "../../lib/dma/arch/arm-dma-alloc.js";
import { genPoolAvail } from "../../lib/mm/genalloc.js";

// dma_alloc_attrs on 32-bit ARM through the arch hooks (lib/dma/arch/arm-dma-alloc.ts).
//
// Raspberry Pi 2 (data/platforms/bcm2836-rpi-2-b.json + arm32 sidecar): RAM from phys 0,
// PAGE_OFFSET 0xc0000000, PHYS_OFFSET 0, so page_address(phys) = 0xc0000000 + phys; the USB
// controller's dma-ranges map phys 0 to bus 0xc0000000, so phys_to_dma(phys) = 0xc0000000 + phys.
// Default CMA area 64 MiB at 0x2c000000, CONFIG_CMA_ALIGNMENT 8, coherent_pool 256 KiB.
//
// atomic_pool_init (arch/arm/mm/dma-mapping.c): 256 KiB = 64 pages from the default CMA area with
// align = min(get_order(256 KiB) = 6, CMA_ALIGNMENT 8) = 6: the first 64-page-aligned free run, the
// area's base 0x2c000000; lowmem, so its linear-map PTEs are remapped (__dma_remap) and the pool's
// address is page_address = 0xec000000.
const RPI = "bcm2836-rpi-2-b";
const USB = "3f980000.usb";
const POOL = 0x2c000000;
const BUS = 0xc0000000;

function rpi(kernel: string) {
  const m = createMachine(RPI, { kernel });
  return { m, dev: m.device(USB) };
}

describe("Raspberry Pi 2: __dma_alloc's allocator choice through dma_alloc_attrs", () => {
  it("v6.19 (dma-direct -> arch_dma_alloc): GFP_KERNEL takes CMA, GFP_ATOMIC the atomic pool", () => {
    const { m, dev } = rpi("v6.19");
    // 64 KiB = 16 pages, align order 4: the pool holds pfns 0x2c000..0x2c03f, so the first free 16-page run is 0x2c040000.
    const a = dmaAllocAttrs(dev, 65536)!;
    expect(a.how).toBe("cma");
    expect(a.dmaHandle).toBe(BUS + 0x2c040000);
    expect(a.cpuAddr).toBe(0xc0000000 + 0x2c040000);
    // GFP_ATOMIC 16 KiB: pool offset 0.
    const b = dmaAllocAttrs(dev, 16384, 0, { blocking: false })!;
    expect(b.how).toBe("atomic-pool");
    expect(b.dmaHandle).toBe(BUS + POOL);
    expect(b.cpuAddr).toBe(0xc0000000 + POOL);
    expect(m.trace.events().some((e) => e.fn === "arch_dma_alloc" && e.kind === "alloc_coherent")).toBe(true);
  });

  it("v5.4 (arm_dma_ops, 2-level kernel): the same allocators, reached through arm_dma_alloc", () => {
    const { m, dev } = rpi("v5.4");
    expect(dmaAllocAttrs(dev, 65536)!.dmaHandle).toBe(BUS + 0x2c040000);
    expect(dmaAllocAttrs(dev, 16384, 0, { blocking: false })!.dmaHandle).toBe(BUS + POOL);
    expect(m.trace.events().filter((e) => e.fn === "arm_dma_alloc" && e.kind === "alloc_coherent")).toHaveLength(2);
  });

  it("the pool: gen_pool_first_fit_order_align offsets, NULL when full, reuse after free", () => {
    const { m, dev } = rpi("v6.19");
    const atomic = (n: number) => dmaAllocAttrs(dev, n, 0, { blocking: false });
    // 16 KiB (order 2) at 0; 4 KiB (order 0) at the next page 0x4000; 16 KiB must be 16 KiB aligned:
    // 0x5000 is taken-free but misaligned, so 0x8000.
    const x = atomic(16384)!;
    const y = atomic(4096)!;
    const z = atomic(16384)!;
    expect([x.dmaHandle, y.dmaHandle, z.dmaHandle].map((h) => h - BUS - POOL)).toEqual([0, 0x4000, 0x8000]);
    // 256 KiB - 16 - 4 - 16 = 220 KiB left.
    const st = armDmaAllocStateOf(m.mm)!;
    expect(genPoolAvail(st.pool.pool!)).toBe(262144 - 36864);
    // A 5 KiB request is PAGE_ALIGNed to 8 KiB (order 1): first 8 KiB-aligned free run is 0x6000.
    expect(atomic(5000)!.dmaHandle - BUS - POOL).toBe(0x6000);
    // 256 KiB cannot fit any more (order 6 needs the whole pool): NULL.
    expect(atomic(262144)).toBeNull();
    // Freeing the first block puts offset 0 back.
    dmaFreeCoherent(dev, 16384, x.cpuAddr, x.dmaHandle);
    expect(atomic(16384)!.dmaHandle - BUS - POOL).toBe(0);
  });

  it("16 GFP_ATOMIC requests of 16 KiB fill the 256 KiB pool; the 17th gets NULL", () => {
    const { dev } = rpi("v6.19");
    const got: (number | null)[] = [];
    for (let i = 0; i < 17; i++) {
      const b = dmaAllocAttrs(dev, 16384, 0, { blocking: false });
      got.push(b ? b.dmaHandle - BUS - POOL : null);
    }
    expect(got.slice(0, 16)).toEqual(Array.from({ length: 16 }, (_, i) => i * 16384));
    expect(got[16]).toBeNull();
  });

  it("freeing a CMA buffer returns its pages: the same request gets the same address", () => {
    const { dev } = rpi("v6.19");
    const a = dmaAllocAttrs(dev, 65536)!;
    dmaFreeCoherent(dev, 65536, a.cpuAddr, a.dmaHandle);
    expect(dmaAllocAttrs(dev, 65536)!.dmaHandle).toBe(BUS + 0x2c040000);
  });

  it("cma=0: GFP_KERNEL takes the remap allocator (vmalloc address), GFP_ATOMIC a pool built from ordinary pages", () => {
    const { m, dev } = rpi("v6.19");
    armDmaAllocBoot(m.mm, { noCma: true });
    // The page source's first free block is 16 MiB above RAM start (phys 0): the pool's 64 pages (order 6) at
    // 0x01000000, then the remap allocator's 16 pages (order 4) at 0x01040000.
    const a = dmaAllocAttrs(dev, 65536)!;
    expect(a.how).toBe("remap");
    expect(m.mm.isVmallocAddr(a.cpuAddr)).toBe(true);
    expect(a.dmaHandle).toBe(BUS + 0x01040000);
    const b = dmaAllocAttrs(dev, 4096, 0, { blocking: false })!;
    expect(b.how).toBe("atomic-pool");
    expect(b.dmaHandle).toBe(BUS + 0x01000000);
    expect(m.mm.isVmallocAddr(b.cpuAddr)).toBe(true);
    dmaFreeCoherent(dev, 65536, a.cpuAddr, a.dmaHandle);
    expect(m.mm.vmapSpace.find(a.cpuAddr)).toBeFalsy();
  });

  it("coherent_pool=64K: the fifth 16 KiB GFP_ATOMIC request gets NULL", () => {
    const { m, dev } = rpi("v6.19");
    armDmaAllocBoot(m.mm, { coherentPool: 65536 });
    const r = [0, 1, 2, 3, 4].map(() => dmaAllocAttrs(dev, 16384, 0, { blocking: false }));
    expect(r.map((b) => b !== null)).toEqual([true, true, true, true, false]);
  });

  it("a coherent device: v5.4 arm_coherent_dma_ops uses CMA or the simple allocator; v6.19 dma-direct's generic pages", () => {
    const old = rpi("v5.4");
    old.dev.dmaCoherent = true;
    expect(dmaAllocAttrs(old.dev, 65536)!.how).toBe("cma");
    // __dma_alloc: not blocking, coherent -> the simple allocator (linear map, page source order 0 at 16 MiB).
    const s = dmaAllocAttrs(old.dev, 4096, 0, { blocking: false })!;
    expect(s.how).toBe("linear-map");
    expect(s.cpuAddr).toBe(0xc0000000 + 0x01000000);
    const nu = rpi("v6.19");
    nu.dev.dmaCoherent = true;
    // dma_direct_alloc for a coherent device never calls arch_dma_alloc: the generic path (page source, linear map).
    expect(dmaAllocAttrs(nu.dev, 4096)!.how).toBe("linear-map");
    expect(nu.m.trace.events().some((e) => e.fn === "dma_direct_alloc" && e.kind === "alloc_coherent")).toBe(true);
  });
});

describe("restricted-dma-pool per release (lib/dma/arm32-restricted.ts facts)", () => {
  // A 4 MiB restricted pool at 0x2a000000 for the Pi's USB controller (the sidecar has none).
  const pool = { device: USB, base: 0x2a000000, size: 4194304 };
  function run(kernel: string) {
    const { m, dev } = rpi(kernel);
    armDmaAllocBoot(m.mm, { restricted: pool });
    return { m, b: dmaAllocAttrs(dev, 65536) };
  }
  it("v5.10: no restricted pools yet; v5.15 2-level: arm_dma_ops ignore the pool: CMA", () => {
    expect(run("v5.10").b!.dmaHandle).toBe(BUS + 0x2c040000);
    expect(run("v5.15").b!.dmaHandle).toBe(BUS + 0x2c040000);
  });
  it("v6.3 (dma-direct, before ARCH_HAS_DMA_ALLOC): NULL without a message", () => {
    const r = run("v6.3");
    expect(r.b).toBeNull();
    expect(r.m.trace.events().some((e) => e.kind === "warn")).toBe(false);
  });
  it("v6.8 / v6.19: NULL and the warning", () => {
    for (const k of ["v6.8", "v6.19"]) {
      const r = run(k);
      expect(r.b).toBeNull();
      expect(r.m.trace.events().filter((e) => e.kind === "warn").map((e) => e.msg)).toEqual(["coherent DMA allocations not supported on this platform."]);
    }
  });
  it("Exynos (LPAE): v5.15 hands out the pool's pages through the cacheable linear map; v5.17 NULL; v4.19 arm_dma_ops and CMA", () => {
    // The machine's Exynos layout: PAGE_OFFSET 0xc0000000, PHYS_OFFSET 0x40000000, no DMA offset.
    const ex = (kernel: string) => {
      const m = createMachine("exynos5422-odroidxu4", { kernel });
      armDmaAllocBoot(m.mm, { restricted: { device: "gsc", base: 0x60000000, size: 4194304 } });
      return { m, dev: m.device("gsc") };
    };
    const a = ex("v5.15");
    const b1 = dmaAllocAttrs(a.dev, 65536)!;
    expect(b1.how).toBe("restricted-pool");
    expect(b1.dmaHandle).toBe(0x60000000);
    expect(b1.cpuAddr).toBe(0xc0000000 + 0x60000000 - 0x40000000);
    // first fit at page stride: the next 8 KiB starts right after the 64 KiB.
    expect(dmaAllocAttrs(a.dev, 8192)!.dmaHandle).toBe(0x60010000);
    dmaFreeCoherent(a.dev, 65536, b1.cpuAddr, b1.dmaHandle);
    expect(dmaAllocAttrs(a.dev, 65536)!.dmaHandle).toBe(0x60000000);
    expect(dmaAllocAttrs(ex("v5.17").dev, 65536)).toBeNull();
    // v4.19: no restricted pools, LPAE still on arm_dma_ops (absent v5.0.1): __dma_alloc's CMA. The sidecar's
    // area is 0xa9400000; the pool's 64 pages take its base, so 64 KiB lands at 0xa9440000 (no DMA offset).
    const old = ex("v4.19");
    expect(dmaAllocAttrs(old.dev, 65536)!.dmaHandle).toBe(0xa9440000);
    expect(old.m.trace.events().some((e) => e.fn === "arm_dma_alloc")).toBe(true);
  });
});

describe("other arches and boards keep the generic allocation", () => {
  it("only 32-bit ARM has allocation hooks", () => {
    expect(archDmaAllocHooksOf("arm")!.name).toBe("arm");
    expect(archDmaAllocHooksOf("arm64")).toBeNull();
    expect(archDmaAllocHooksOf("x86_64")).toBeNull();
    expect(archDmaAllocHooksOf("parisc")).toBeNull();
  });
  it("an ARM board without an arm32 sidecar (AM335x) stays on dma-direct's generic allocation", () => {
    const m = createMachine("am335x-beaglebone-black", { kernel: "v6.19" });
    const dev = m.device("47401c00.usb");
    // generic dma_direct_alloc for a non-coherent device: the page source's first block (16 MiB above RAM start
    // 0x80000000), remapped in vmalloc space.
    const b = dmaAllocAttrs(dev, 4096)!;
    expect(b.how).toBe("remap");
    expect(b.dmaHandle).toBe(0x81000000);
    expect(armDmaAllocStateOf(m.mm)).toBeNull();
  });
});

describe("bad input", () => {
  it("a non-boolean blocking flag is refused before any change", () => {
    const { m, dev } = rpi("v6.19");
    expect(() => dmaAllocAttrs(dev, 4096, 0, { blocking: "no" as unknown as boolean })).toThrow(ModelConfigError);
    expect(m.trace.events().filter((e) => e.kind === "alloc_coherent")).toHaveLength(0);
  });
  it("armDmaAllocBoot: once per machine, ARM only, sizes checked", () => {
    const { m } = rpi("v6.19");
    expect(() => armDmaAllocBoot(m.mm, { coherentPool: 5000 })).toThrow(ModelConfigError);
    expect(() => armDmaAllocBoot(m.mm, { cmaSize: 1048576 })).toThrow(ModelConfigError);
    expect(() => armDmaAllocBoot(m.mm, { restricted: { device: USB, base: 0x2a000100, size: 4096 } })).toThrow(ModelConfigError);
    armDmaAllocBoot(m.mm, {});
    expect(() => armDmaAllocBoot(m.mm, {})).toThrow(ModelConfigError);
    expect(() => armDmaAllocBoot(createMachine("x86-64-pc", {}).mm, {})).toThrow(ModelConfigError);
  });
  it("freeing with the wrong handle is refused and the buffer stays live", () => {
    const { dev } = rpi("v6.19");
    const a = dmaAllocAttrs(dev, 65536)!;
    expect(() => dmaFreeCoherent(dev, 65536, a.cpuAddr, (a.dmaHandle + 4096) as typeof a.dmaHandle)).toThrow(ModelConfigError);
    dmaFreeCoherent(dev, 65536, a.cpuAddr, a.dmaHandle);
  });
});
