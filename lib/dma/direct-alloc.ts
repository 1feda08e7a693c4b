/**
 * The coherent-allocation half of dma-direct (kernel/dma/direct.c
 * dma_direct_alloc / dma_direct_free, v5.4.6 and v6.19, with kernel/dma/remap.c
 * of v5.4), reduced to what case 02 needs:
 *
 * - a **coherent** device gets pages from ordinary RAM within its coherent
 *   limit (dma_coherent_ok: min_not_zero(coherent_dma_mask, bus_dma_limit)),
 *   zeroed, and the **linear-map address** (no remap);
 * - a **non-coherent** arm64 device (CONFIG_DMA_DIRECT_REMAP; v5.4 via
 *   arch_dma_alloc in kernel/dma/remap.c, v5.8+ inside dma_direct_alloc) gets
 *   the same kind of pages, the linear alias cleaned (arch_dma_prep_coherent)
 *   and a **vmalloc-space** mapping with dma_pgprot (arm64 Normal-NC: "wc");
 * - the handle is phys_to_dma(page).
 * - a non-blocking request of a non-coherent device on a DMA_DIRECT_REMAP
 *   arch (arm64) comes from the generic atomic pools (lib/dma/pool.ts).
 * Not modelled: CMA, swiotlb allocation pools, memory encryption,
 * DMA_ATTR_NO_KERNEL_MAPPING. 32-bit ARM's arch_dma_alloc is reached from
 * dma_alloc_attrs (lib/dma/mapping.ts) through lib/dma/arch/arm-dma-alloc.ts.
 *
 * **Page source** (documented model choice: the buddy allocator is a later
 * issue). A deterministic first-fit allocator over RAM pages that have a
 * linear alias and are not in any reserved region, excluding the first 16 MiB
 * of the lowest bank (standing in for the kernel image and early
 * allocations). Requests take 2^get_order(size) pages, naturally aligned to
 * their size (as the buddy allocator's blocks are), lowest address first,
 * limited to the device's coherent DMA limit.
 */
import { checkInt, hex, minNotZero } from "../core/arith.js";
import type { DmaAddr, PhysAddr, Pfn, VirtAddr } from "../core/addr.js";
import { ModelConfigError } from "../core/errors.js";
import { dmaToPhys, physToDma, type Device } from "../platform/device.js";
import { mmOfDevice, type MemoryModel } from "../mm/memory.js";
import { dmaAllocFromPool, dmaAtomicPoolInit, dmaFreeFromPool, type AtomicPoolZone, type DmaAtomicPools } from "./pool.js";
import { vmallocPages, vunmapAny } from "../mm/remap.js";
import { pageSourceOf } from "../mm/page-source.js";

export { PageSource, pageSourceOf } from "../mm/page-source.js";
import { getOrder } from "./coherent.js";
import { archHooksOf } from "./arch/index.js";
import type { ArchCoherentHow } from "./arch/hooks.js";
import { GFP_DMA, GFP_DMA32, GFP_KERNEL, fmtGfp, gfp, gfpHas, gfpWithout, type GfpFlags } from "../mm/gfp.js";
import { buddyOf } from "../mm/page-alloc.js";

/** A coherent allocation: CPU address and DMA handle, as dma_alloc_attrs returns them. */
export interface CoherentBuffer {
  cpuAddr: VirtAddr;
  dmaHandle: DmaAddr;
  /** Bytes requested. */
  size: number;
  /** How the CPU address was made ("atomic-pool", "cma", "restricted-pool": an arch allocator, lib/dma/arch/hooks.ts ArchCoherentHow). */
  how: "dev-coherent-pool" | ArchCoherentHow;
}

const GENERIC_POOLS = new WeakMap<MemoryModel, DmaAtomicPools>();

/**
 * The machine's generic atomic pools (kernel/dma/pool.c dma_atomic_pool_init,
 * v5.4.6: kernel/dma/remap.c), built on first use with the release's rules
 * (lib/dma/pool.ts dmaAtomicPoolInit): totalram_pages from the profile's RAM,
 * a zone's pool when the machine has pages in it (the model does not tell a
 * configured-but-empty zone from an absent one), pages from the machine's
 * page source below the zone's end, each chunk remapped in vmalloc space
 * (dma_common_contiguous_remap, CONFIG_DMA_DIRECT_REMAP), no CMA. Model
 * choice: built at the first non-blocking allocation, not at postcore_initcall,
 * and atomic_pool_work never runs (the pools do not grow).
 */
export function dmaGenericPoolsOf(dev: Device): DmaAtomicPools {
  const mm = mmOfDevice(dev);
  const have = GENERIC_POOLS.get(mm);
  if (have) return have;
  const ps = mm.pageSize;
  const zones = mm.zones();
  const has = (n: string) => zones.some((z) => z.name === n);
  const endOf = (n: string) => zones.find((z) => z.name === n)?.end ?? Number.MAX_SAFE_INTEGER + 1;
  const limit: Record<AtomicPoolZone, number> = { dma: endOf("ZONE_DMA") - 1, dma32: endOf("ZONE_DMA32") - 1, kernel: Number.MAX_SAFE_INTEGER };
  const p = dmaAtomicPoolInit({
    kernel: dev.kernel.name,
    totalRamPages: Math.floor(mm.profile.ram.reduce((t, b) => t + b.size, 0) / ps),
    zones: { ...(has("ZONE_DMA") ? { dma: { managed: true } } : {}), ...(has("ZONE_DMA32") ? { dma32: { managed: true } } : {}), normal: { managed: has("ZONE_NORMAL") } },
    allocPages: (zone, order) => {
      const pfn = pageSourceOf(mm).alloc(order, limit[zone]);
      return pfn === null ? null : pfn * ps;
    },
    mapVirt: (phys, size) => {
      const pfns: Pfn[] = [];
      for (let i = 0; i < size / ps; i++) pfns.push((phys / ps + i) as Pfn);
      return vmallocPages(mm, size, pfns, "dma-remap", "wc", "dma_common_contiguous_remap") ?? 0;
    },
    pageSize: ps,
  });
  GENERIC_POOLS.set(mm, p);
  return p;
}

/**
 * dma_direct_alloc_from_pool (kernel/dma/direct.c v5.10.89, v6.19; v5.4.6:
 * arch_dma_alloc in kernel/dma/remap.c): the zone of
 * dma_direct_optimal_gfp_mask, dma_alloc_from_pool with dma_coherent_ok as
 * the phys check, handle phys_to_dma.
 */
function dmaDirectAllocFromPool(dev: Device, size: number): CoherentBuffer | null {
  const mm = mmOfDevice(dev);
  const aligned = Math.ceil(size / mm.pageSize) * mm.pageSize;
  const opt = dmaDirectOptimalGfpMask(dev);
  const zone: AtomicPoolZone = gfpHas(opt.gfp, "__GFP_DMA") ? "dma" : gfpHas(opt.gfp, "__GFP_DMA32") ? "dma32" : "kernel";
  const pools = dmaGenericPoolsOf(dev);
  const r = dmaAllocFromPool(pools, aligned, zone, (phys, sz) => dmaCoherentOk(dev, phys, sz));
  const handle = r.alloc ? physToDma(dev, r.alloc.phys as PhysAddr) : null;
  if (!r.alloc || handle === null) {
    dev.trace.record({ fn: "dma_direct_alloc", kind: "alloc_failed", level: "warn", msg: `${dev.name}: ${size} bytes, non-blocking: no atomic pool block${r.warning ? ` (${r.warning})` : ""}`, data: { size } });
    return null;
  }
  dev.trace.record({ fn: "dma_direct_alloc", kind: "alloc_coherent", msg: `${dev.name}: ${size} bytes from atomic_pool_${r.alloc.zone} at phys ${hex(r.alloc.phys)}, cpu ${mm.fmtVa(r.alloc.virt)} (non-blocking: dma_direct_alloc_from_pool)`, data: { phys: r.alloc.phys, virt: r.alloc.virt, size } });
  return { cpuAddr: r.alloc.virt as VirtAddr, dmaHandle: handle, size, how: "atomic-pool" };
}

/**
 * dma_direct_alloc(dev, size, &handle, gfp, attrs): non-blocking requests of
 * a non-coherent device on a CONFIG_DMA_DIRECT_REMAP arch (arm64) come from
 * the generic atomic pools ({@link dmaGenericPoolsOf}); everything else as
 * for blocking callers (pages below the coherent limit, remapped for a
 * non-coherent device).
 * @param opts.blocking gfpflags_allow_blocking(gfp), default true.
 * @returns the buffer, or null (no memory under the coherent limit; vmalloc
 * space exhausted; no atomic pool block).
 * @throws ModelConfigError for size < 1, before any change.
 */
export function dmaDirectAlloc(dev: Device, size: number, opts: { blocking?: boolean } = {}): CoherentBuffer | null {
  checkInt("dmaDirectAlloc(size)", size, 1);
  const mm = mmOfDevice(dev);
  const hooks = archHooksOf(mm.profile.arch);
  if (opts.blocking === false && hooks.dmaDirectRemap && !dev.dmaCoherent && !hooks.allDevicesCoherent) return dmaDirectAllocFromPool(dev, size);
  const ps = mm.pageSize;
  const order = getOrder(size, ps);
  const limit = minNotZero(dev.coherentDmaMask, dev.busDmaLimit);
  // dma_coherent_ok works on DMA addresses; convert the limit to a physical one (dma_to_phys).
  const physLimit = dmaToPhys(dev, limit as DmaAddr) ?? limit;
  const src = pageSourceOf(mm);
  const pfn = src.alloc(order, physLimit);
  if (pfn === null) {
    dev.trace.record({ fn: "dma_direct_alloc", kind: "alloc_failed", level: "warn", msg: `${dev.name}: no pages below ${hex(physLimit)} for ${size} bytes`, data: { size } });
    return null;
  }
  const pa = (pfn * ps) as PhysAddr;
  const handle = physToDma(dev, pa);
  if (handle === null) {
    src.free(pfn);
    return null;
  }
  const aligned = ps * 2 ** order;
  if (dev.dmaCoherent || archHooksOf(mm.profile.arch).allDevicesCoherent) {
    const cpu = mm.linearAddress(pa);
    dev.trace.record({ fn: "dma_direct_alloc", kind: "alloc_coherent", msg: `${dev.name}: ${size} bytes at phys ${hex(pa)}, linear map ${mm.fmtVa(cpu)} (coherent device: no remap)`, data: { phys: pa, virt: cpu, size } });
    return { cpuAddr: cpu, dmaHandle: handle, size, how: "linear-map" };
  }
  const pfns: Pfn[] = [];
  for (let i = 0; i < aligned / ps; i++) pfns.push((pfn + i) as Pfn);
  const va = vmallocPages(mm, aligned, pfns, "dma-remap", "wc", "dma_common_contiguous_remap");
  if (va === null) {
    src.free(pfn);
    return null;
  }
  dev.trace.record({
    fn: "dma_direct_alloc",
    kind: "alloc_remap",
    msg: `${dev.name}: ${size} bytes at phys ${hex(pa)}, alias cleaned (arch_dma_prep_coherent), remapped Normal-NC at ${mm.fmtVa(va)}`,
    data: { phys: pa, virt: va, size },
  });
  return { cpuAddr: va, dmaHandle: handle, size, how: "remap" };
}

/**
 * dma_direct_free(dev, size, cpu_addr, handle): unmap a remapped buffer and
 * return the pages.
 * @throws ModelConfigError if the handle does not decode to a live allocation.
 */
export function dmaDirectFree(dev: Device, size: number, cpuAddr: VirtAddr, handle: DmaAddr): void {
  checkInt("dmaDirectFree(size)", size, 1);
  checkInt("dmaDirectFree(cpuAddr)", cpuAddr);
  checkInt("dmaDirectFree(handle)", handle);
  const mm = mmOfDevice(dev);
  const pools = GENERIC_POOLS.get(mm);
  // dma_free_from_pool first (v5.10.89 dma_direct_free; v5.4.6 arch_dma_free).
  if (pools && dmaFreeFromPool(pools, cpuAddr, Math.ceil(size / mm.pageSize) * mm.pageSize)) {
    dev.trace.record({ fn: "dma_direct_free", kind: "free_coherent", msg: `${dev.name}: returned ${size} bytes at ${mm.fmtVa(cpuAddr)} to an atomic pool`, data: { virt: cpuAddr, size } });
    return;
  }
  const pa = dmaToPhys(dev, handle);
  if (pa === null) throw new ModelConfigError("dmaFreeCoherent(handle)", handle, "a handle returned by dmaAllocCoherent for this device");
  const pfn = Math.floor(pa / mm.pageSize);
  pageSourceOf(mm).free(pfn); // throws (before any change) for a bad handle
  if (mm.isVmallocAddr(cpuAddr)) vunmapAny(mm, cpuAddr);
  dev.trace.record({ fn: "dma_direct_free", kind: "free_coherent", msg: `${dev.name}: freed ${size} bytes at phys ${hex(pa)}`, data: { phys: pa, size } });
}

// ---------------------------------------------------------------- [zones / case 04] zone choice and retry

/**
 * zone_dma_limit of the machine, bytes, inclusive: the last byte of
 * ZONE_DMA (x86-64: 16 MiB - 1, DMA_BIT_MASK(24); arm64 v5.5+: the zone's
 * end from lib/mm/memory.ts), or DMA_BIT_MASK(24) when the machine has no
 * ZONE_DMA (the flag is then a no-op). Source: kernel/dma/direct.c
 * (v6.19 zone_dma_limit; v5.4 ARCH_ZONE_DMA_BITS, default 24).
 */
export function zoneDmaLimit(dev: Device): number {
  const mm = mmOfDevice(dev);
  const z = mm.zones().find((x) => x.name === "ZONE_DMA");
  return z ? z.end - 1 : 2 ** 24 - 1;
}

/**
 * dma_direct_optimal_gfp_mask(dev, &phys_limit) (kernel/dma/direct.c,
 * v5.4.6 __dma_direct_optimal_gfp_mask and v6.19): the physical limit is
 * dma_to_phys(min_not_zero(coherent_dma_mask, bus_dma_limit)); at or below
 * zone_dma_limit -> GFP_DMA, at or below 0xffffffff -> GFP_DMA32, else no
 * zone flag.
 * @returns the zone flags (a gfp set) and the physical limit, bytes inclusive.
 */
export function dmaDirectOptimalGfpMask(dev: Device): { gfp: GfpFlags; physLimit: number } {
  const limit = minNotZero(dev.coherentDmaMask, dev.busDmaLimit);
  const physLimit = dmaToPhys(dev, limit as DmaAddr) ?? limit;
  if (physLimit <= zoneDmaLimit(dev)) return { gfp: GFP_DMA, physLimit };
  if (physLimit <= 0xffffffff) return { gfp: GFP_DMA32, physLimit };
  return { gfp: gfp(), physLimit };
}

/**
 * dma_coherent_ok(dev, phys, size) (kernel/dma/direct.c): the DMA address
 * of `phys` exists and its last byte is at or below
 * min_not_zero(coherent_dma_mask, bus_dma_limit).
 */
export function dmaCoherentOk(dev: Device, phys: PhysAddr | number, size: number): boolean {
  const dma = physToDma(dev, phys as PhysAddr);
  if (dma === null) return false;
  return dma + size - 1 <= minNotZero(dev.coherentDmaMask, dev.busDmaLimit);
}

/** One page block from {@link dmaDirectAllocPagesExplain}. */
export interface DirectPagesResult {
  /** First pfn, or null. */
  pfn: Pfn | null;
  order: number;
  /** The flags of each try, in order ("GFP_KERNEL|__GFP_DMA32"...). */
  tries: string[];
}

/**
 * __dma_direct_alloc_pages(dev, size, gfp) without CMA and swiotlb pools
 * (kernel/dma/direct.c, v5.4.6 and v6.19): take 2^get_order(size) pages
 * from the buddy allocator (lib/mm/page-alloc.ts) with the zone flag of
 * {@link dmaDirectOptimalGfpMask}; while the block is not
 * {@link dmaCoherentOk}, free it and retry: add GFP_DMA32 if the machine has
 * ZONE_DMA32, the limit is below 2^64 - 1 and no zone flag is set yet; else
 * switch to GFP_DMA if the machine has ZONE_DMA and it is not set yet; else
 * give up.
 * @throws ModelConfigError for size < 1.
 */
export function dmaDirectAllocPagesExplain(dev: Device, size: number, callerGfp: GfpFlags = GFP_KERNEL): DirectPagesResult {
  checkInt("dmaDirectAllocPages(size)", size, 1);
  const mm = mmOfDevice(dev);
  const order = getOrder(size, mm.pageSize);
  const b = buddyOf(mm);
  const cfg = b.zoneConfig;
  const opt = dmaDirectOptimalGfpMask(dev);
  let flags = gfp(gfpWithout(callerGfp, "__GFP_DMA", "__GFP_DMA32", "__GFP_HIGHMEM"), opt.gfp);
  const tries: string[] = [];
  for (;;) {
    tries.push(fmtGfp(flags));
    const pfn = b.alloc(flags, order);
    if (pfn === null) return { pfn: null, order, tries };
    if (dmaCoherentOk(dev, pfn * mm.pageSize, size)) return { pfn, order, tries };
    b.free(pfn, order);
    if (cfg.zoneDma32 && opt.physLimit < Number.MAX_SAFE_INTEGER && !gfpHas(flags, "__GFP_DMA32") && !gfpHas(flags, "__GFP_DMA")) {
      flags = gfp(flags, "__GFP_DMA32");
      continue;
    }
    if (cfg.zoneDma && !gfpHas(flags, "__GFP_DMA")) {
      flags = gfp(gfpWithout(flags, "__GFP_DMA32"), "__GFP_DMA");
      continue;
    }
    return { pfn: null, order, tries };
  }
}

/** {@link dmaDirectAllocPagesExplain}: the first pfn or null. */
export function dmaDirectAllocPages(dev: Device, size: number, callerGfp: GfpFlags = GFP_KERNEL): Pfn | null {
  return dmaDirectAllocPagesExplain(dev, size, callerGfp).pfn;
}
