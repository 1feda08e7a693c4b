/**
 * Which code path dma_alloc_coherent takes on 32-bit ARM, per release, with
 * and without a restricted-dma-pool: the question of Jim Quinlan's 2023
 * "ARM: Select DMA_DIRECT_REMAP to fix restricted DMA" (Broadcom STB,
 * iwlwifi behind a restricted pool: writes to coherent memory did not reach
 * the device). A decision function only; the allocators themselves are in
 * lib/dma/pool.ts, lib/dma/contiguous.ts and lib/dma/arm32-coherent.ts.
 *
 * Facts read in the trees (each bracket: absent in the first, present in the second):
 * - Restricted DMA pools (is_swiotlb_for_alloc): absent v5.10.89, present v5.15.
 * - ARM device ops: before v6.0 a non-IOMMU device gets arm_dma_ops /
 *   arm_coherent_dma_ops, unless CONFIG_ARM_LPAE, where
 *   arm_get_dma_map_ops returns NULL and dma-direct is used (from ARM_LPAE_DMA_DIRECT: absent v5.0.1, present v5.3.1)
 *   (arch/arm/mm/dma-mapping.c, v5.15, v5.17 and v5.19). arm_dma_ops' alloc is
 *   __dma_alloc, which never looks at a restricted pool. From v6.0 every
 *   non-IOMMU device uses dma-direct (absent v5.19.0, present v6.0-rc1:
 *   ae626eb97376, ARM_USES_DMA_DIRECT in lib/dma/arch/arm.ts), whose
 *   non-coherent allocations go to arch_dma_alloc -> __dma_alloc unless the
 *   device has a restricted pool.
 * - dma_direct_alloc for a non-coherent device with a restricted pool on an
 *   arch without DMA_DIRECT_REMAP, ARCH_HAS_DMA_SET_UNCACHED and
 *   DMA_GLOBAL_POOL (32-bit ARM):
 *   v5.15: pages from the pool (swiotlb_alloc), returned through
 *   page_address(): the cacheable linear-map alias, for a device that does
 *   not snoop: CPU writes can sit in the cache (Jim's symptom);
 *   v5.17 .. v6.3.8: returns NULL without a message (absent v5.15, present v5.17);
 *   v6.8, v6.19: ARCH_HAS_DMA_ALLOC (selected by ARM if MMU) routes only
 *   non-restricted devices to arch_dma_alloc, and the restricted case
 *   returns NULL after pr_warn_once("coherent DMA allocations not supported
 *   on this platform.") (absent v6.3.8, present v6.8).
 * - With DMA_DIRECT_REMAP (Christoph Hellwig's step 1, never merged for
 *   ARM): blocking or restricted allocations are remapped non-cached in
 *   vmalloc space (dma_common_contiguous_remap) and non-blocking,
 *   non-restricted ones come from kernel/dma/pool.c (dma_direct_use_pool =
 *   !blocking && !is_swiotlb_for_alloc); the linear-map section stays
 *   cacheable: a mismatched-attribute alias.
 */
import { ModelConfigError } from "../core/errors.js";
import { atLeast, defineChange, parseKernelVersion } from "../kernel/version.js";
import { ARM_USES_DMA_DIRECT } from "./arch/arm.js";
import { arm32DmaAllocator, type Arm32DmaAllocator } from "./pool.js";

/** Restricted-pool coherent allocations on non-remapping arches return NULL instead of a cached buffer. */
export const RESTRICTED_DMA_POOL = defineChange({
  id: "restricted-dma-pool",
  since: "v5.15",
  commit: "unverified (Claire Chang's restricted DMA series)",
  subject: "swiotlb: Add restricted DMA pool initialization",
  files: ["kernel/dma/swiotlb.c", "drivers/of/of_reserved_mem.c"],
  effect: "a `restricted-dma-pool` reserved-memory node gives the device its own swiotlb (dev->dma_io_tlb_mem); before, the node is not recognised.",
  bracket: "absent in v5.14.2 (Kingdo777/linux-5.14.2-faascale-host, kernel/dma/swiotlb.c: no \"restricted-dma-pool\"), present in v5.15.16 (yashlala/fastswap-linux-5.16.16, Makefile 5.15.16, kernel/dma/swiotlb.c:rmem_swiotlb_setup)",
});

export const DIRECT_ALLOC_NO_CACHED_FALLBACK = defineChange({
  id: "dma-direct-alloc-noncoherent-null",
  since: "v5.16",
  commit: "f3c962226dbe (\"dma-direct: clean up the remapping checks in dma_direct_alloc\", per the reference notes; release not checked: absent v5.15, present v5.17)",
  subject: "dma-direct: clean up the remapping checks in dma_direct_alloc",
  files: ["kernel/dma/direct.c"],
  effect: "a non-coherent device whose allocation cannot be made uncached (restricted pool on 32-bit ARM) gets NULL instead of a cacheable page_address() buffer",
  bracket: "absent in v5.15.16 (yashlala/fastswap-linux-5.16.16, Makefile 5.15.16, kernel/dma/direct.c:dma_direct_alloc), present in v5.17-rc5 (dunli/linux-5.17, kernel/dma/direct.c:dma_direct_alloc: NULL without ARCH_HAS_DMA_SET_UNCACHED under remap); loose: v5.16 or v5.17 (no v5.16 tree), the model switches at v5.16",
});

/** ARCH_HAS_DMA_ALLOC and the "not supported" warning. */
export const ARCH_HAS_DMA_ALLOC = defineChange({
  id: "arch-has-dma-alloc",
  since: "v6.7",
  commit: "5904c758e0e9 (\"dma-direct: add a CONFIG_ARCH_HAS_DMA_ALLOC symbol\", per the reference notes)",
  subject: "dma-direct: add a CONFIG_ARCH_HAS_DMA_ALLOC symbol",
  files: ["kernel/dma/direct.c", "arch/arm/Kconfig"],
  effect: "restricted-pool coherent allocations on 32-bit ARM warn once \"coherent DMA allocations not supported on this platform.\" and return NULL (absent v6.3.8, present v6.8)",
  bracket: "absent in v6.6.47 (Salpadding/linux-6.6-strip, kernel/dma/Kconfig: no ARCH_HAS_DMA_ALLOC), present in v6.8.0 (vivo50kff/linux-6.8, kernel/dma/Kconfig:ARCH_HAS_DMA_ALLOC, kernel/dma/direct.c:dma_direct_alloc); loose: v6.7 or v6.8 (no readable v6.7 tree), the model switches at v6.7; v6.6.47 is a stable tree",
});

/** CONFIG_ARM_LPAE kernels give non-IOMMU devices dma-direct (arm_get_dma_map_ops returns NULL) instead of arm_dma_ops. */
export const ARM_LPAE_DMA_DIRECT = defineChange({
  id: "arm-lpae-dma-direct",
  since: "v5.1",
  commit: "unverified (Christoph Hellwig, 2019: \"arm: use swiotlb for bounce buffering on LPAE configs\"; first release assumed v5.1, not checked)",
  subject: "arm: use swiotlb for bounce buffering on LPAE configs",
  files: ["arch/arm/mm/dma-mapping.c"],
  effect: "with CONFIG_ARM_LPAE a non-IOMMU device uses dma-direct (non-coherent allocations through arch_dma_alloc -> __dma_alloc); before, arm_dma_ops / arm_coherent_dma_ops as without LPAE",
  bracket: "absent in v5.0.1 (VVvector/linux-5.0.1, arch/arm/mm/dma-mapping.c:arm_get_dma_map_ops), present in v5.3.1 (github-lvbing/linux-5.3.1, arch/arm/mm/dma-mapping.c:arm_get_dma_map_ops)",
});

/** The path dma_alloc_coherent takes. */
export type Arm32CoherentPath =
  /** arm_dma_ops -> __dma_alloc (restricted pool ignored). */
  | "arm_dma_ops"
  /** dma-direct -> arch_dma_alloc -> __dma_alloc. */
  | "arch_dma_alloc"
  /** dma-direct, coherent device: plain pages (from the restricted pool if it has one). */
  | "direct_pages"
  /** v5.15: restricted-pool pages returned through the cacheable linear map. */
  | "restricted_cached_alias"
  /** NULL. */
  | "null"
  /** DMA_DIRECT_REMAP what-if: non-cached vmalloc remap. */
  | "direct_remap"
  /** DMA_DIRECT_REMAP what-if: kernel/dma/pool.c atomic pool. */
  | "direct_atomic_pool";

/** Inputs of {@link arm32CoherentPath}. */
export interface Arm32CoherentPathInput {
  kernel: string;
  /** CONFIG_ARM_LPAE (dma-direct instead of arm_dma_ops from ARM_LPAE_DMA_DIRECT). */
  lpae: boolean;
  /** The device is dma-coherent. */
  coherent: boolean;
  /** The device has a restricted-dma-pool (is_swiotlb_for_alloc). Ignored before v5.15 (no such pools). */
  restrictedPool: boolean;
  /** gfpflags_allow_blocking(gfp). */
  allowBlock: boolean;
  /** The device has a CMA area (its own or the default). */
  hasCmaArea: boolean;
  /** What-if: ARM selects DMA_DIRECT_REMAP (Christoph's plan, step 1). */
  dmaDirectRemap?: boolean;
}

/** Outcome of {@link arm32CoherentPath}. */
export interface Arm32CoherentPathResult {
  path: Arm32CoherentPath;
  /** For arm_dma_ops / arch_dma_alloc: __dma_alloc's allocator. */
  allocator: Arm32DmaAllocator | null;
  /** The kernel message, if any. */
  warning: string | null;
  /** The CPU gets a cacheable mapping of memory a non-snooping device reads and writes. */
  incoherent: boolean;
}

/**
 * Decide dma_alloc_coherent's path on 32-bit ARM (see the module note).
 * @throws ModelConfigError for a bad kernel name, a non-object input or a non-boolean flag.
 * Sources: kernel/dma/direct.c dma_direct_alloc (v5.15, v5.17, v5.19,
 * v6.3.8, v6.8, v6.19); arch/arm/mm/dma-mapping.c arch_setup_dma_ops,
 * arm_get_dma_map_ops, __dma_alloc.
 */
export function arm32CoherentPath(i: Arm32CoherentPathInput): Arm32CoherentPathResult {
  if (typeof i !== "object" || i === null) throw new ModelConfigError("arm32CoherentPath", i, "an object { kernel, lpae, coherent, restrictedPool, allowBlock, hasCmaArea }");
  parseKernelVersion(i.kernel, "arm32CoherentPath(kernel)");
  for (const k of ["lpae", "coherent", "restrictedPool", "allowBlock", "hasCmaArea"] as const) {
    if (typeof i[k] !== "boolean") throw new ModelConfigError(`arm32CoherentPath(${k})`, i[k], "true or false");
  }
  if (i.dmaDirectRemap !== undefined && typeof i.dmaDirectRemap !== "boolean") throw new ModelConfigError("arm32CoherentPath(dmaDirectRemap)", i.dmaDirectRemap, "true or false");
  const restricted = i.restrictedPool && atLeast(i.kernel, RESTRICTED_DMA_POOL);
  const armOps = !atLeast(i.kernel, ARM_USES_DMA_DIRECT) && !(i.lpae && atLeast(i.kernel, ARM_LPAE_DMA_DIRECT));
  const alloc = (): Arm32DmaAllocator => arm32DmaAllocator({ allowBlock: i.allowBlock, hasCmaArea: i.hasCmaArea, isCoherent: i.coherent });
  if (armOps) return { path: "arm_dma_ops", allocator: alloc(), warning: null, incoherent: false };
  if (i.coherent) return { path: "direct_pages", allocator: null, warning: null, incoherent: false };
  if (i.dmaDirectRemap) {
    if (!i.allowBlock && !restricted) return { path: "direct_atomic_pool", allocator: null, warning: null, incoherent: false };
    return { path: "direct_remap", allocator: null, warning: null, incoherent: false };
  }
  if (!restricted) return { path: "arch_dma_alloc", allocator: alloc(), warning: null, incoherent: false };
  if (!atLeast(i.kernel, DIRECT_ALLOC_NO_CACHED_FALLBACK)) return { path: "restricted_cached_alias", allocator: null, warning: null, incoherent: true };
  if (!atLeast(i.kernel, ARCH_HAS_DMA_ALLOC)) return { path: "null", allocator: null, warning: null, incoherent: false };
  return { path: "null", allocator: null, warning: "coherent DMA allocations not supported on this platform.", incoherent: false };
}
