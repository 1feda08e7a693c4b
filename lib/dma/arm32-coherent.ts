/**
 * Case 03 glue: a 32-bit ARM board's coherent-allocation machinery at boot
 * (linear map, default CMA area remapped to 4 KiB pages, the 256 KiB atomic
 * pool) and dma_alloc_coherent for a non-coherent device through ARM's
 * allocator choice, with the page-table cost of each path. Built from a
 * profile plus its data/platforms/arm32 sidecar.
 *
 * Boot order followed (v6.19, same in v5.4.6): arm_memblock_init reserves the
 * DT areas and dma_contiguous_reserve the default CMA area (both call
 * dma_contiguous_early_fixup); paging_init -> dma_contiguous_remap;
 * postcore_initcall atomic_pool_init (from CMA when a default area exists).
 * dma_alloc_coherent -> arch_dma_alloc -> __dma_alloc (arch/arm/mm/dma-mapping.c).
 *
 * Not modelled here: the buddy allocator behind the "remap" and "simple"
 * allocators (pass `allocPages`), highmem CMA pages' vmap cost.
 */
import { checkInt } from "../core/arith.js";
import { ModelConfigError } from "../core/errors.js";
import { parseKernelVersion } from "../kernel/version.js";
import { arm32LinearMap, changeAttributes, dmaContiguousRemap, spawnProcesses, type Arm32LinearMap, type AttrChangeCost, type ContiguousRemapCost } from "../mm/arm32-sections.js";
import { cmaInitReservedMem, cmaRelease, type Cma } from "../mm/cma.js";
import { loadArm32Sidecar, type Arm32Sidecar } from "../platform/arm32-sidecar.js";
import { loadPlatformProfile, type PlatformProfile } from "../platform/profile.js";
import { getOrder } from "./coherent.js";
import { dmaAllocFromContiguous } from "./contiguous.js";
import { arm32AllocFromPool, arm32AtomicPoolInit, arm32DmaAllocator, type Arm32AtomicPool, type Arm32DmaAllocator } from "./pool.js";

/** A booted 32-bit ARM board for case 03. */
export interface Arm32CoherentBoard {
  readonly kernel: string;
  readonly profile: PlatformProfile;
  readonly board: Arm32Sidecar;
  readonly map: Arm32LinearMap;
  /** The default CMA area, or null when booted without CMA. */
  readonly cma: Cma | null;
  readonly pool: Arm32AtomicPool;
  /** What dma_contiguous_remap did at boot. */
  readonly bootRemap: ContiguousRemapCost;
}

/** Options of {@link arm32CoherentBoot}. */
export interface Arm32CoherentBootOptions {
  kernel?: string;
  /** `coherent_pool=` override, bytes or "1M". */
  coherentPool?: number | string;
  /** Boot without a default CMA area (cma=0). */
  noCma?: boolean;
  /** Override the CMA size (bytes, a multiple of 4 MiB); the base stays the sidecar's. */
  cmaSize?: number;
  /** User processes started after boot (each one copies the kernel pgd entries). */
  processes?: number;
  /** Pages for the no-CMA atomic pool and for the remap/simple allocators: (size, order) -> phys or null. */
  allocPages?: (size: number, order: number) => number | null;
}

/**
 * Boot a board: linear map, CMA area + dma_contiguous_remap, atomic pool,
 * then `processes` user processes.
 * @throws ModelConfigError / ProfileError for unknown ids or bad options.
 */
export function arm32CoherentBoot(id: string, o: Arm32CoherentBootOptions = {}): Arm32CoherentBoard {
  if (o.cmaSize !== undefined) checkInt("arm32CoherentBoot(cmaSize)", o.cmaSize, 1);
  if (o.processes !== undefined) checkInt("arm32CoherentBoot(processes)", o.processes, 0, 4096);
  const profile = loadPlatformProfile(id);
  const board = loadArm32Sidecar(id);
  const kernel = o.kernel ?? profile.kernel ?? "v6.19";
  parseKernelVersion(kernel, "arm32CoherentBoot(kernel)");
  const map = arm32LinearMap(profile, { lpae: board.lpae, pageOffset: board.pageOffset, lowmemLimit: board.lowmemLimit });
  let cma: Cma | null = null;
  let bootRemap: ContiguousRemapCost = { entriesCleared: 0, pteTables: 0, ptesWritten: 0, tlbFlushCalls: 0, tlbiOps: 0, bytesRemapped: 0 };
  if (!o.noCma && board.cma) {
    const size = o.cmaSize ?? board.cma.size;
    const r = cmaInitReservedMem({ kernel, base: board.cma.base, size, name: "reserved" });
    if (!r.cma) throw new ModelConfigError("arm32CoherentBoot(cmaSize)", size, "a size the CMA area accepts (a multiple of 4 MiB)");
    cma = r.cma;
    bootRemap = dmaContiguousRemap(map, [{ base: board.cma.base, size }]);
  }
  const pool = arm32AtomicPoolInit({
    kernel,
    coherentPool: o.coherentPool ?? board.coherentPool,
    cma,
    cmaAlignment: board.cmaAlignment,
    lowmemLimit: board.lowmemLimit,
    physOffset: map.physOffset,
    allocPages: o.allocPages,
    mapVirt: (phys, _size, how) => (how === "linear" ? map.pageOffset + phys - map.physOffset : 0xf0000000),
  });
  if (pool.mapping === "dma_remap" && pool.phys !== null) changeAttributes(map, { phys: pool.phys, size: pool.size }, "noncacheable");
  spawnProcesses(map, o.processes ?? 0);
  return { kernel, profile, board, map, cma, pool, bootRemap };
}

/** Outcome of {@link arm32DmaAllocCoherent}. */
export interface Arm32CoherentAlloc {
  allocator: Arm32DmaAllocator;
  /** Physical address, or null when the allocation failed. */
  phys: number | null;
  /** Bytes actually reserved (PAGE_ALIGN(size)). */
  size: number;
  /** Page-table cost of making the buffer non-cacheable: __dma_remap for lowmem CMA pages; null when no linear-map change is made (pool: remapped at boot; remap: new vmalloc PTEs). */
  cost: AttrChangeCost | null;
  /** Why it failed, in kernel terms. */
  reason: string | null;
}

/**
 * dma_alloc_coherent(dev, size, gfp) for a device on this board.
 * @param size bytes >= 1.
 * @param o.allowBlock gfpflags_allow_blocking(gfp) (GFP_KERNEL true, GFP_ATOMIC false).
 * @param o.isCoherent the device is dma-coherent.
 */
export function arm32DmaAllocCoherent(b: Arm32CoherentBoard, size: number, o: { allowBlock: boolean; isCoherent?: boolean; allocPages?: (size: number, order: number) => number | null }): Arm32CoherentAlloc {
  checkInt("arm32DmaAllocCoherent(size)", size, 1);
  const aligned = Math.ceil(size / 4096) * 4096;
  const allocator = arm32DmaAllocator({ allowBlock: o.allowBlock, hasCmaArea: b.cma !== null, isCoherent: !!o.isCoherent });
  if (allocator === "pool") {
    const r = arm32AllocFromPool(b.pool, aligned);
    return { allocator, phys: r ? r.phys : null, size: aligned, cost: null, reason: r ? null : b.pool.pool ? "atomic pool exhausted or fragmented (gen_pool_alloc returned 0)" : "coherent pool not initialised!" };
  }
  if (allocator === "cma") {
    const r = dmaAllocFromContiguous(b.cma, aligned / 4096, getOrder(aligned), b.board.cmaAlignment);
    if (r.pfn === null) return { allocator, phys: null, size: aligned, cost: null, reason: `cma_alloc failed (${r.ret})` };
    const phys = r.pfn * 4096;
    if (phys + aligned > b.map.lowmemLimit) return { allocator, phys, size: aligned, cost: null, reason: null };
    return { allocator, phys, size: aligned, cost: changeAttributes(b.map, { phys, size: aligned }, "noncacheable"), reason: null };
  }
  const phys = o.allocPages ? o.allocPages(aligned, getOrder(aligned)) : null;
  return { allocator, phys, size: aligned, cost: null, reason: phys === null ? "page allocation failed (buddy allocator not modelled here: pass allocPages)" : null };
}

/**
 * dma_free_coherent of a CMA buffer: the PTEs go back to cacheable
 * (__dma_remap with PAGE_KERNEL) and the pages to the area
 * (arch/arm/mm/dma-mapping.c __arm_dma_free, which first rounds size up with
 * PAGE_ALIGN, then __free_from_contiguous; v5.4).
 * @param phys page-aligned physical address the allocation returned.
 * @param size bytes, >= 1 (rounded up to whole pages).
 * @throws ModelConfigError for a non-integer, negative or unaligned phys or a
 *   size < 1, before anything changes.
 */
export function arm32DmaFreeCoherentCma(b: Arm32CoherentBoard, phys: number, size: number): { released: boolean; cost: AttrChangeCost | null } {
  checkInt("arm32DmaFreeCoherentCma(phys)", phys);
  if (phys % 4096 !== 0) throw new ModelConfigError("arm32DmaFreeCoherentCma(phys)", phys, "a page-aligned address (the allocation's phys)");
  checkInt("arm32DmaFreeCoherentCma(size)", size, 1, 2 ** 52);
  size = Math.ceil(size / 4096) * 4096;
  if (!b.cma) return { released: false, cost: null };
  const cost = phys + size <= b.map.lowmemLimit ? changeAttributes(b.map, { phys, size }, "cacheable") : null;
  return { released: cmaRelease(b.cma, phys / 4096, size / 4096), cost };
}
