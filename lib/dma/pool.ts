/**
 * Atomic (non-blocking) coherent DMA pools, as functions over
 * lib/mm/genalloc.ts:
 *
 * 1. 32-bit ARM's own pool (arch/arm/mm/dma-mapping.c: atomic_pool_init,
 *    __alloc_from_pool, __free_from_pool, the allocator choice of
 *    __dma_alloc). Identical rules in v4.4.1, v5.4.6 and v6.19: one chunk of
 *    `coherent_pool=` bytes (DEFAULT_DMA_COHERENT_POOL_SIZE = SZ_256K),
 *    granule PAGE_SIZE (gen_pool_create(PAGE_SHIFT)),
 *    gen_pool_first_fit_order_align, taken from the default CMA area when
 *    there is one (__alloc_from_contiguous: lowmem pages get their linear-map
 *    PTEs changed by __dma_remap; highmem pages are vmapped), otherwise from
 *    GFP_KERNEL | GFP_DMA pages remapped non-cached with
 *    dma_common_contiguous_remap (__alloc_remap_buffer). The pool never
 *    grows. It is still there in v6.19: 32-bit ARM selects
 *    ARCH_HAS_DMA_ALLOC and arch_dma_alloc still calls __dma_alloc, while
 *    ARM selects neither DMA_DIRECT_REMAP nor DMA_COHERENT_POOL, so
 *    kernel/dma/pool.c is not built for it (arch/arm/Kconfig,
 *    kernel/dma/Kconfig and Makefile, v6.19).
 *    v4.4.1 also had init_dma_coherent_pool_size() for platforms to change
 *    the default (absent in v5.4.6); nothing in the v4.4.1 tree calls it.
 *
 * 2. The generic pools used by dma-direct on DMA_DIRECT_REMAP /
 *    DMA_COHERENT_POOL architectures (arm64, riscv, ...):
 *    - v5.4.6: one pool in kernel/dma/remap.c (dma_atomic_pool_init):
 *      `coherent_pool=` or 256 KiB, pages from the default CMA area if any,
 *      else alloc_pages(GFP_DMA if ZONE_DMA, else GFP_DMA32 if ZONE_DMA32,
 *      else GFP_KERNEL, get_order(size)); never grows.
 *    - kernel/dma/pool.c (absent in v5.4.6, present in v5.10.89): one pool
 *      per zone (atomic_pool_dma, _dma32, _kernel); default size 128 KiB per
 *      GiB of RAM, at most MAX_ORDER_NR_PAGES pages and at least 128 KiB;
 *      atomic_pool_expand allocates min(get_order(size), MAX_ORDER - 1)
 *      (v6.19: MAX_PAGE_ORDER) pages, dropping one order at a time on
 *      failure, from CMA when the default area lies in the zone
 *      (cma_in_zone); each expansion is a new chunk at the list head; after
 *      an allocation leaves avail < atomic_pool_size, atomic_pool_work
 *      doubles the pool (atomic_pool_resize -> expand by gen_pool_size).
 *    - Which pools exist: v5.10.89: kernel always, dma if CONFIG_ZONE_DMA,
 *      dma32 if CONFIG_ZONE_DMA32. The dma pool only if ZONE_DMA has managed
 *      pages (has_managed_dma): absent v5.10.89, present v5.17. The kernel
 *      pool only if ZONE_NORMAL has managed pages and the dma32 pool only if
 *      ZONE_DMA32 has: absent v6.8, present v6.19.
 *    - dma_guess_pool: v5.10.89: GFP_DMA32 -> dma32, GFP_DMA -> dma (if the
 *      zone is configured), else kernel; then kernel -> dma32 or dma, dma32
 *      -> dma. v5.17 .. v6.8: GFP_DMA picks dma only if that pool exists.
 *      v6.19: the first pick falls back along a chain (GFP_DMA: dma, dma32,
 *      kernel; GFP_DMA32: dma32, dma, kernel; else kernel, dma32, dma) and
 *      an exhausted pool warns "DMA pool exhausted" instead of "Failed to
 *      get suitable pool" (both brackets: absent v6.8, present v6.19).
 *    - __dma_alloc_from_pool: gen_pool_alloc; a phys_addr_ok callback may
 *      reject the block (freed again, next pool tried).
 *
 * Addresses are bytes. Virtual addresses come from the caller's `mapVirt`
 * (the linear map or a vmalloc remap); the model default is documented on
 * each option.
 */
import { checkInt, checkPowerOf2 } from "../core/arith.js";
import { ModelConfigError } from "../core/errors.js";
import { atLeast, defineChange, parseKernelVersion } from "../kernel/version.js";
import { cmaAlloc, type Cma } from "../mm/cma.js";
import { genPoolAddVirt, genPoolAlloc, genPoolAvail, genPoolCreate, genPoolFree, genPoolHasAddr, genPoolSetAlgo, genPoolSize, genPoolVirtToPhys, type GenPool } from "../mm/genalloc.js";
import { parseSizeOrAddr } from "../platform/profile.js";
import { getOrder } from "./coherent.js";
import { CMA_ALIGNMENT_DEFAULT } from "./contiguous.js";

/** DEFAULT_DMA_COHERENT_POOL_SIZE (arch/arm/mm/dma-mapping.c; kernel/dma/remap.c in v5.4.6): SZ_256K. */
export const DEFAULT_DMA_COHERENT_POOL_SIZE = 262144;

/** kernel/dma/pool.c: per-zone, growing atomic pools replace the single remap.c pool. */
export const DMA_POOL_PER_ZONE = defineChange({
  id: "dma-pool-per-zone",
  since: "v5.8",
  commit: "unverified (David Rientjes, 2020: \"dma-pool: add additional coherent pools to map to gfp mask\", \"dma-pool: dynamically expanding atomic pools\", \"dma-pool: scale the default DMA coherent pool size with memory capacity\")",
  subject: "dma-pool: per-zone, dynamically expanding atomic pools",
  files: ["kernel/dma/pool.c", "kernel/dma/remap.c"],
  effect: "three gfp-zone pools sized 128 KiB per GiB (128 KiB .. MAX_ORDER_NR_PAGES), grown by atomic_pool_work (first release from the series' date, not checked)",
  bracket: "absent in v5.6.4 (shmily1012/linux-5.6.4, kernel/dma/remap.c: one atomic_pool, no kernel/dma/pool.c), present in v5.8.1 (semwett0301/linux-5.8.1, kernel/dma/pool.c:atomic_pool_dma32); loose: v5.7 or v5.8 (no readable v5.7 tree), the model switches at v5.8",
});

/** The dma atomic pool only when ZONE_DMA has managed pages. */
export const DMA_POOL_MANAGED_DMA = defineChange({
  id: "dma-pool-has-managed-dma",
  since: "v5.17",
  commit: "unverified (Baoquan He, 2021: \"dma/pool: create dma atomic pool only if dma zone has managed pages\")",
  subject: "dma/pool: create dma atomic pool only if dma zone has managed pages",
  files: ["kernel/dma/pool.c"],
  effect: "no atomic_pool_dma when ZONE_DMA has no managed pages; GFP_DMA then picks the kernel pool first (absent v5.10.89, present v5.17)",
  bracket: "absent in v5.15.16 (yashlala/fastswap-linux-5.16.16, Makefile 5.15.16, kernel/dma/pool.c:dma_atomic_pool_init), present in v5.17-rc5 (dunli/linux-5.17, kernel/dma/pool.c:dma_atomic_pool_init tests has_managed_dma()); loose: v5.16 or v5.17 (no v5.16 tree), the model switches at v5.17; wowk/linux-5.15 (5.15.55) has it as a stable backport",
});

/** Kernel/dma32 pools only for zones with managed pages; fallback chains in dma_guess_pool. */
export const DMA_POOL_GUESS_CHAIN = defineChange({
  id: "dma-pool-guess-chain",
  since: "v6.19",
  commit: "unverified (between v6.8 and v6.19)",
  subject: "dma/pool: skip pools of zones without managed pages, fall back along a chain",
  files: ["kernel/dma/pool.c"],
  effect: "atomic_pool_kernel only if ZONE_NORMAL is managed, atomic_pool_dma32 only if ZONE_DMA32 is; dma_guess_pool falls back dma -> dma32 -> kernel etc.; \"DMA pool exhausted\" warning (absent v6.8, present v6.19; exact release not checked)",
  bracket: "absent in v6.18.2 (gfunkmonk/linux-6.18.2, kernel/dma/pool.c:dma_guess_pool: no \"DMA pool exhausted\"), present in v6.19.0 (matankalina/linux-6.19.10-fork, kernel/dma/pool.c:dma_guess_pool)",
});

/** memparse-like size for `coherent_pool=`: number of bytes or "256K", "1M". */
function poolSizeArg(field: string, v: number | string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = typeof v === "number" ? v : parseSizeOrAddr(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new ModelConfigError(field, v, "a size in bytes such as 262144 or \"256K\"");
  return n;
}

// ---------------------------------------------------------------------------
// 1. 32-bit ARM
// ---------------------------------------------------------------------------

/** The ARM atomic pool after atomic_pool_init. */
export interface Arm32AtomicPool {
  /** The gen_pool, or null when atomic_pool_init failed ("DMA: failed to allocate ... KiB pool"). */
  pool: GenPool | null;
  /** atomic_pool_size, bytes. */
  size: number;
  /** Where the pages came from: the default CMA area or remapped GFP_DMA pages; null on failure. */
  backing: "cma" | "remap" | null;
  /** Physical base of the pool, bytes. */
  phys: number | null;
  /** Virtual base (gen_pool chunk start). */
  virt: number | null;
  /** How the non-cached kernel mapping was made: __dma_remap of lowmem linear-map PTEs, or a new vmalloc mapping. */
  mapping: "dma_remap" | "vmap" | null;
  /** Pages whose linear-map PTE __dma_remap rewrote (lowmem CMA backing), else 0. */
  remappedPtes: number;
}

/** Options of {@link arm32AtomicPoolInit}. */
export interface Arm32AtomicPoolOptions {
  kernel: string;
  /** `coherent_pool=` (memparse): bytes or "1M". Default DEFAULT_DMA_COHERENT_POOL_SIZE. */
  coherentPool?: number | string;
  /** dev_get_cma_area(NULL): the default CMA area, or null/absent without CMA. */
  cma?: Cma | null;
  /** CONFIG_CMA_ALIGNMENT (default 8). */
  cmaAlignment?: number;
  /** First physical address above lowmem (arm_lowmem_limit); CMA pages at or above it are highmem. Default: no highmem. */
  lowmemLimit?: number;
  /**
   * __dma_alloc_buffer for the no-CMA case: `size` bytes of GFP_KERNEL |
   * GFP_DMA pages (an order-get_order(size) block split and trimmed) ->
   * physical address, or null. Default: fails (returns null).
   */
  allocPages?: (size: number, order: number) => number | null;
  /** Kernel VA of the pool: "linear" for lowmem CMA pages (page_address), "remap" for a vmalloc mapping. Default: linear = 0xc0000000 + phys - physOffset, remap = 0xf0000000. */
  mapVirt?: (phys: number, size: number, how: "linear" | "remap") => number;
  /** PHYS_OFFSET for the default linear mapping. Default 0. */
  physOffset?: number;
  pageSize?: number;
}

/**
 * atomic_pool_init (postcore_initcall) on 32-bit ARM.
 * @returns the pool; `pool` null when the backing allocation failed.
 * @throws ModelConfigError for a bad `coherent_pool=` or kernel name.
 * Source: arch/arm/mm/dma-mapping.c atomic_pool_init, __alloc_from_contiguous,
 * __alloc_remap_buffer (v4.4.1, v5.4.6, v6.19).
 */
export function arm32AtomicPoolInit(o: Arm32AtomicPoolOptions): Arm32AtomicPool {
  parseKernelVersion(o.kernel, "arm32AtomicPoolInit(kernel)");
  if (o.lowmemLimit !== undefined) checkInt("arm32AtomicPoolInit(lowmemLimit)", o.lowmemLimit);
  if (o.cmaAlignment !== undefined) checkInt("arm32AtomicPoolInit(cmaAlignment)", o.cmaAlignment, 4, 12);
  const pageSize = o.pageSize ?? 4096;
  const size = poolSizeArg("coherent_pool=", o.coherentPool, DEFAULT_DMA_COHERENT_POOL_SIZE);
  const physOffset = o.physOffset ?? 0;
  const mapVirt = o.mapVirt ?? ((phys: number, _s: number, how: "linear" | "remap") => (how === "linear" ? 0xc0000000 + phys - physOffset : 0xf0000000));
  const fail: Arm32AtomicPool = { pool: null, size, backing: null, phys: null, virt: null, mapping: null, remappedPtes: 0 };
  if (size === 0) return fail;
  const order = getOrder(size, pageSize);
  let phys: number | null = null;
  let backing: "cma" | "remap";
  let mapping: "dma_remap" | "vmap";
  let virt: number;
  let remappedPtes = 0;
  if (o.cma) {
    backing = "cma";
    const count = Math.floor(size / pageSize);
    const r = cmaAlloc(o.cma, count, Math.min(order, o.cmaAlignment ?? CMA_ALIGNMENT_DEFAULT));
    if (r.pfn === null) return fail;
    phys = r.pfn * pageSize;
    const highmem = o.lowmemLimit !== undefined && phys >= o.lowmemLimit;
    mapping = highmem ? "vmap" : "dma_remap";
    remappedPtes = highmem ? 0 : Math.ceil(size / pageSize);
    virt = mapVirt(phys, size, highmem ? "remap" : "linear");
  } else {
    backing = "remap";
    phys = o.allocPages ? o.allocPages(size, order) : null;
    if (phys === null) return fail;
    mapping = "vmap";
    virt = mapVirt(phys, size, "remap");
  }
  const pool = genPoolCreate(Math.log2(pageSize));
  genPoolAddVirt(pool, virt, phys, size);
  genPoolSetAlgo(pool, "gen_pool_first_fit_order_align");
  return { pool, size, backing, phys, virt, mapping, remappedPtes };
}

/**
 * __alloc_from_pool(size): a block of the ARM atomic pool, or null (also
 * when the pool was never initialised: the kernel WARNs "coherent pool not
 * initialised!"). __dma_alloc passes PAGE_ALIGN(size).
 * @param size bytes, >= 1.
 */
export function arm32AllocFromPool(ap: Arm32AtomicPool, size: number): { virt: number; phys: number } | null {
  checkInt("arm32AllocFromPool(size)", size, 1);
  if (!ap.pool) return null;
  const virt = genPoolAlloc(ap.pool, size);
  if (virt === 0) return null;
  return { virt, phys: genPoolVirtToPhys(ap.pool, virt) };
}

/**
 * __free_from_pool(start, size): true (the kernel's 1) when [start, start +
 * size) lies in the pool and was freed, false (0) otherwise.
 * @throws KernelOops on a double free (gen_pool_free BUG).
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function arm32FreeFromPool(ap: Arm32AtomicPool, virt: number, size: number): boolean {
  checkInt("arm32FreeFromPool(virt)", virt);
  checkInt("arm32FreeFromPool(size)", size, 1);
  if (!ap.pool || !genPoolHasAddr(ap.pool, virt, size)) return false;
  genPoolFree(ap.pool, virt, size);
  return true;
}

/** The four ARM coherent allocators (struct arm_dma_allocator). */
export type Arm32DmaAllocator = "cma" | "simple" | "remap" | "pool";

/**
 * __dma_alloc's allocator choice (v4.4.1 .. v6.19): CMA when the caller may
 * block and the device has a CMA area (its own or the default); else the
 * simple page allocator for a coherent device; else the remap allocator when
 * blocking is allowed; else the atomic pool.
 * Source: arch/arm/mm/dma-mapping.c __dma_alloc (v5.4.6, v6.19).
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function arm32DmaAllocator(o: { allowBlock: boolean; hasCmaArea: boolean; isCoherent: boolean }): Arm32DmaAllocator {
  if (typeof o !== "object" || o === null) throw new ModelConfigError("arm32DmaAllocator", o, "an object { allowBlock, hasCmaArea, isCoherent } of booleans");
  for (const k of ["allowBlock", "hasCmaArea", "isCoherent"] as const) {
    if (typeof o[k] !== "boolean") throw new ModelConfigError(`arm32DmaAllocator(${k})`, o[k], "true or false");
  }
  if (o.allowBlock && o.hasCmaArea) return "cma";
  if (o.isCoherent) return "simple";
  if (o.allowBlock) return "remap";
  return "pool";
}

// ---------------------------------------------------------------------------
// 2. Generic pools (kernel/dma/remap.c v5.4, kernel/dma/pool.c v5.8+)
// ---------------------------------------------------------------------------

/** A pool's zone: atomic_pool_dma, atomic_pool_dma32, atomic_pool_kernel. */
export type AtomicPoolZone = "dma" | "dma32" | "kernel";

/** Zone configuration: a key present = CONFIG_ZONE_* set (normal always exists); `managed` = the zone has managed pages. */
export interface AtomicPoolZones {
  dma?: { managed: boolean };
  dma32?: { managed: boolean };
  normal?: { managed: boolean };
}

/** Options of {@link dmaAtomicPoolInit}. */
export interface DmaAtomicPoolOptions {
  kernel: string;
  /** totalram_pages(). */
  totalRamPages: number;
  /** `coherent_pool=`: bytes or "1M"; absent = the release's default. */
  coherentPool?: number | string;
  zones: AtomicPoolZones;
  /** alloc_pages(gfp | __GFP_NOWARN, order) in the zone -> physical address, or null. */
  allocPages: (zone: AtomicPoolZone, order: number) => number | null;
  /** dma_alloc_from_contiguous(NULL, 1 << order, order) -> physical address or null; called only when cmaInZone(zone). */
  cmaAlloc?: (zone: AtomicPoolZone, order: number) => number | null;
  /** cma_in_zone(gfp) (v5.10+); v5.4 uses CMA whenever cmaAlloc is given. Default: false. */
  cmaInZone?: (zone: AtomicPoolZone) => boolean;
  /** Kernel VA of a new chunk (dma_common_contiguous_remap or page_to_virt). Default: phys + 2^47 (a model-only VA distinct from phys). */
  mapVirt?: (phys: number, size: number) => number;
  /** MAX_ORDER - 1 / MAX_PAGE_ORDER. Default 10. */
  maxPageOrder?: number;
  pageSize?: number;
}

/** The generic pools after dma_atomic_pool_init. */
export interface DmaAtomicPools {
  readonly kernel: string;
  /** True for the single v5.4 remap.c pool (stored under the zone of dma_atomic_pool_gfp). */
  readonly single: boolean;
  /** atomic_pool_size, bytes. */
  readonly atomicPoolSize: number;
  readonly pools: Record<AtomicPoolZone, GenPool | null>;
  /** pool_size_dma / _dma32 / _kernel (debugfs), bytes. */
  readonly poolSize: Record<AtomicPoolZone, number>;
  /** schedule_work(&atomic_pool_work) happened and the work has not run. */
  workPending: boolean;
  /** dma_atomic_pool_init's return: 0 or -ENOMEM. */
  readonly initRet: number;
  readonly opts: DmaAtomicPoolOptions;
}

/**
 * The default atomic_pool_size when `coherent_pool=` is absent: v5.4.6: 256
 * KiB; v5.8+: totalram_pages / 8192 pages (128 KiB per GiB), at most
 * 2^maxPageOrder pages (MAX_ORDER_NR_PAGES), at least 128 KiB.
 * @param totalRamPages pages.
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function defaultAtomicPoolSize(kernel: string, totalRamPages: number, pageSize = 4096, maxPageOrder = 10): number {
  parseKernelVersion(kernel);
  checkPowerOf2("defaultAtomicPoolSize(pageSize)", pageSize);
  checkInt("defaultAtomicPoolSize(maxPageOrder)", maxPageOrder, 0, 30);
  checkInt("defaultAtomicPoolSize(totalRamPages)", totalRamPages);
  if (!atLeast(kernel, DMA_POOL_PER_ZONE)) return DEFAULT_DMA_COHERENT_POOL_SIZE;
  const pages = Math.min(Math.floor(totalRamPages / (1073741824 / 131072)), 2 ** maxPageOrder);
  return Math.max(pages * pageSize, 131072);
}

function expand(p: DmaAtomicPools, zone: AtomicPoolZone, pool: GenPool, poolSize: number): number {
  const o = p.opts;
  const pageSize = o.pageSize ?? 4096;
  let order = Math.min(getOrder(Math.max(poolSize, 1), pageSize), o.maxPageOrder ?? 10);
  let phys: number | null = null;
  for (;;) {
    if (o.cmaAlloc && o.cmaInZone && o.cmaInZone(zone)) phys = o.cmaAlloc(zone, order);
    if (phys === null) phys = o.allocPages(zone, order);
    if (phys !== null || order === 0) break;
    order--;
  }
  if (phys === null) return -12;
  const size = pageSize * 2 ** order;
  const virt = (o.mapVirt ?? ((ph: number) => ph + 2 ** 47))(phys, size);
  genPoolAddVirt(pool, virt, phys, size);
  p.poolSize[zone] += size;
  return 0;
}

/**
 * dma_atomic_pool_init at the release's rules (see the module note).
 * @throws ModelConfigError for bad options.
 * Source: kernel/dma/remap.c (v5.4.6), kernel/dma/pool.c (v5.10.89, v5.17,
 * v6.8, v6.19) dma_atomic_pool_init, __dma_atomic_pool_init, atomic_pool_expand.
 */
export function dmaAtomicPoolInit(o: DmaAtomicPoolOptions): DmaAtomicPools {
  parseKernelVersion(o.kernel, "dmaAtomicPoolInit(kernel)");
  checkInt("dmaAtomicPoolInit(totalRamPages)", o.totalRamPages);
  const pageSize = o.pageSize ?? 4096;
  const maxPageOrder = o.maxPageOrder ?? 10;
  if (!Number.isInteger(maxPageOrder) || maxPageOrder < 0 || maxPageOrder > 20) throw new ModelConfigError("dmaAtomicPoolInit(maxPageOrder)", maxPageOrder, "0..20");
  const size = poolSizeArg("coherent_pool=", o.coherentPool, defaultAtomicPoolSize(o.kernel, o.totalRamPages, pageSize, maxPageOrder));
  const single = !atLeast(o.kernel, DMA_POOL_PER_ZONE);
  const p: DmaAtomicPools = {
    kernel: o.kernel,
    single,
    atomicPoolSize: size,
    pools: { dma: null, dma32: null, kernel: null },
    poolSize: { dma: 0, dma32: 0, kernel: 0 },
    workPending: false,
    initRet: 0,
    opts: o,
  };
  let ret = 0;
  if (single) {
    // dma_atomic_pool_gfp: GFP_DMA if ZONE_DMA, else GFP_DMA32 if ZONE_DMA32, else GFP_KERNEL.
    const zone: AtomicPoolZone = o.zones.dma ? "dma" : o.zones.dma32 ? "dma32" : "kernel";
    const order = getOrder(Math.max(size, 1), pageSize);
    let phys: number | null = o.cmaAlloc ? o.cmaAlloc(zone, order) : null;
    if (phys === null && !o.cmaAlloc) phys = o.allocPages(zone, order);
    if (phys === null || size === 0) return { ...p, initRet: -12 };
    const pool = genPoolCreate(Math.log2(pageSize));
    genPoolAddVirt(pool, (o.mapVirt ?? ((ph: number) => ph + 2 ** 47))(phys, size), phys, size);
    genPoolSetAlgo(pool, "gen_pool_first_fit_order_align");
    p.pools[zone] = pool;
    p.poolSize[zone] = size;
    return p;
  }
  const newest = atLeast(o.kernel, DMA_POOL_GUESS_CHAIN);
  const managedDmaRule = atLeast(o.kernel, DMA_POOL_MANAGED_DMA);
  const want: Record<AtomicPoolZone, boolean> = {
    kernel: newest ? !!o.zones.normal?.managed : true,
    dma: managedDmaRule ? !!o.zones.dma?.managed : !!o.zones.dma,
    dma32: newest ? !!o.zones.dma32?.managed : !!o.zones.dma32,
  };
  for (const zone of ["kernel", "dma", "dma32"] as const) {
    if (!want[zone]) continue;
    const pool = genPoolCreate(Math.log2(pageSize));
    genPoolSetAlgo(pool, "gen_pool_first_fit_order_align");
    if (expand(p, zone, pool, size) !== 0) {
      ret = -12;
      continue;
    }
    p.pools[zone] = pool;
  }
  return { ...p, initRet: ret };
}

/** dma_guess_pool(prev, gfp) at the pools' release; `gfp` names the zone modifier (GFP_DMA, GFP_DMA32 or none). */
export function dmaGuessPool(p: DmaAtomicPools, prev: AtomicPoolZone | null, gfp: AtomicPoolZone): AtomicPoolZone | null {
  const has = (z: AtomicPoolZone) => p.pools[z] !== null;
  const first = (...zs: AtomicPoolZone[]) => zs.find(has) ?? null;
  if (prev === null) {
    if (atLeast(p.kernel, DMA_POOL_GUESS_CHAIN)) {
      if (gfp === "dma") return first("dma", "dma32", "kernel");
      if (gfp === "dma32") return first("dma32", "dma", "kernel");
      return first("kernel", "dma32", "dma");
    }
    if (p.opts.zones.dma32 && gfp === "dma32") return has("dma32") ? "dma32" : null;
    const dmaOk = atLeast(p.kernel, DMA_POOL_MANAGED_DMA) ? has("dma") : !!p.opts.zones.dma;
    if (dmaOk && gfp === "dma") return has("dma") ? "dma" : null;
    return has("kernel") ? "kernel" : null;
  }
  if (prev === "kernel") return has("dma32") ? "dma32" : has("dma") ? "dma" : null;
  if (prev === "dma32") return has("dma") ? "dma" : null;
  return null;
}

/** Result of {@link dmaAllocFromPool}. */
export interface DmaPoolAlloc {
  virt: number;
  phys: number;
  zone: AtomicPoolZone;
}

/**
 * dma_alloc_from_pool(dev, size, &cpu_addr, gfp, phys_addr_ok): the first
 * pool in dma_guess_pool order that has room and whose block passes
 * `physAddrOk`; null otherwise (`warning` says which WARN the kernel prints).
 * v5.4.6: the single pool, no zone choice and no phys check.
 * @param size bytes, >= 1.
 * @param gfp the zone modifier of the caller's gfp: "dma" (GFP_DMA), "dma32", or "kernel" (none).
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function dmaAllocFromPool(p: DmaAtomicPools, size: number, gfp: AtomicPoolZone, physAddrOk?: (phys: number, size: number) => boolean): { alloc: DmaPoolAlloc | null; warning: string | null } {
  checkInt("dmaAllocFromPool(size)", size, 1);
  if (!(["dma", "dma32", "kernel"] as unknown[]).includes(gfp)) throw new ModelConfigError("dmaAllocFromPool(gfp)", gfp, "dma | dma32 | kernel (the zone of the caller's gfp)");
  if (p.single) {
    const zone = (["dma", "dma32", "kernel"] as const).find((z) => p.pools[z]);
    if (!zone) return { alloc: null, warning: "coherent pool not initialised!" };
    const pool = p.pools[zone]!;
    const virt = genPoolAlloc(pool, size);
    return virt === 0 ? { alloc: null, warning: null } : { alloc: { virt, phys: genPoolVirtToPhys(pool, virt), zone }, warning: null };
  }
  let zone: AtomicPoolZone | null = null;
  let found = false;
  while ((zone = dmaGuessPool(p, zone, gfp)) !== null) {
    found = true;
    const pool = p.pools[zone]!;
    const virt = genPoolAlloc(pool, size);
    if (virt === 0) continue;
    const phys = genPoolVirtToPhys(pool, virt);
    if (physAddrOk && !physAddrOk(phys, size)) {
      genPoolFree(pool, virt, size);
      continue;
    }
    if (genPoolAvail(pool) < p.atomicPoolSize) p.workPending = true;
    return { alloc: { virt, phys, zone }, warning: null };
  }
  const warning = found && atLeast(p.kernel, DMA_POOL_GUESS_CHAIN) ? "DMA pool exhausted" : "Failed to get suitable pool";
  return { alloc: null, warning };
}

/**
 * dma_free_from_pool(dev, start, size): true when a pool holds the range
 * (and it was freed), false otherwise.
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function dmaFreeFromPool(p: DmaAtomicPools, virt: number, size: number): boolean {
  checkInt("dmaFreeFromPool(virt)", virt);
  checkInt("dmaFreeFromPool(size)", size, 1);
  for (const zone of ["kernel", "dma32", "dma"] as const) {
    const pool = p.pools[zone];
    if (!pool || !genPoolHasAddr(pool, virt, size)) continue;
    genPoolFree(pool, virt, size);
    return true;
  }
  return false;
}

/**
 * atomic_pool_work_fn: for each pool whose avail is below atomic_pool_size,
 * atomic_pool_expand by its current gen_pool_size (so it doubles, within
 * MAX_ORDER). Clears the pending flag. No-op for the v5.4 single pool.
 * @returns bytes added per zone.
 */
export function atomicPoolWorkFn(p: DmaAtomicPools): Record<AtomicPoolZone, number> {
  const added: Record<AtomicPoolZone, number> = { dma: 0, dma32: 0, kernel: 0 };
  p.workPending = false;
  if (p.single) return added;
  for (const zone of ["dma", "dma32", "kernel"] as const) {
    const pool = p.pools[zone];
    if (!pool || genPoolAvail(pool) >= p.atomicPoolSize) continue;
    const before = p.poolSize[zone];
    expand(p, zone, pool, genPoolSize(pool));
    added[zone] = p.poolSize[zone] - before;
  }
  return added;
}
