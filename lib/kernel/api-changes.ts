/**
 * Behaviour changes that several layers of the model switch on (the DMA API
 * contract, kernel function names), and the one table of kernel function
 * names that differ by release.
 *
 * A change read by one subsystem only is registered next to the code that
 * reads it; a change read across layers (dma-direct, iommu-dma and the
 * IOMMU core all return -errno from map_sg at the same release) lives here,
 * in the lowest layer that all of them may import.
 */
import { atLeast, defineChange, type KernelChange, type KernelVersion } from "./version.js";

/** map_sg ops return -errno on failure (dma-direct, iommu-dma, iommu_map_sg alike). */
export const CHANGE_MAP_SG_ERRNO = defineChange({
  id: "dma-map-sg-errno",
  since: "v5.15",
  commit: "dabb16f67215 (iommu-dma; the series also has c81be74e7d79 \"dma-direct: return appropriate error code from dma_direct_map_sg()\" and ad8f36e4b6b1 \"iommu: return full error code from iommu_map_sg[_atomic]()\"; hashes from later Fixes: tags)",
  subject: "iommu/dma: return error code from iommu_dma_map_sg()",
  files: ["drivers/iommu/dma-iommu.c", "kernel/dma/direct.c", "drivers/iommu/iommu.c", "kernel/dma/mapping.c"],
  effect: "map_sg ops return -EINVAL/-ENOMEM (dma-direct -EIO; -EREMOTEIO from v6.0) on failure; dma_map_sg_attrs still returns 0, dma_map_sgtable returns the error.",
  bracket: "absent in v5.14-rc5 (lsk-legends/linux-5.14, drivers/iommu/dma-iommu.c:iommu_dma_map_sg, kernel/dma/direct.c:dma_direct_map_sg and drivers/iommu/iommu.c:__iommu_map_sg return 0), present in v5.15.16 (yashlala/fastswap-linux-5.16.16, Makefile 5.15.16, the same functions return -ENOMEM/-EINVAL, -EIO and the __iommu_map error; kernel/dma/mapping.c:__dma_map_sg_attrs)",
});

/** The page-based streaming map entry points become phys-based (dma_map_phys and its backends). */
export const CHANGE_DMA_MAP_PHYS = defineChange({
  id: "dma-map-phys",
  since: "v6.18",
  commit: "f7326196a781 (\"dma-mapping: export new dma_*map_phys() interface\"; hash from Fixes: tags; the renames \"iommu/dma: rename iommu_dma_*map_page to iommu_dma_*map_phys\" and \"dma-mapping: convert dma_direct_*map_page to be phys_addr_t based\" are in the same series, mainline hashes not determined)",
  subject: "dma-mapping: export new dma_*map_phys() interface (Leon Romanovsky's dma_map_phys series)",
  files: ["kernel/dma/mapping.c", "kernel/dma/direct.h", "drivers/iommu/dma-iommu.c"],
  effect: "dma_map_page_attrs is a wrapper around dma_map_phys; the backends are dma_direct_map_phys and iommu_dma_map_phys (the names in trace events and dma-debug reports); dma-debug records single-buffer maps with type \"phy\".",
  bracket: "absent in v6.17.0 (busysteve/linux-6.17.0-rust-ported-c, a derivative, linux/kernel/dma/mapping.c:dma_map_page_attrs, linux/drivers/iommu/dma-iommu.c:iommu_dma_map_page, linux/kernel/dma/debug.c: no \"phy\"), present in v6.18.2 (gfunkmonk/linux-6.18.2, kernel/dma/mapping.c:dma_map_phys, drivers/iommu/dma-iommu.c:iommu_dma_map_phys, kernel/dma/debug.c:debug_dma_map_phys)",
});

/** arm64's cache maintenance routines renamed to dcache_*_poc. */
export const CHANGE_ARM64_DCACHE_POC = defineChange({
  id: "arm64-dcache-poc-names",
  since: "v5.14",
  commit: "unverified (Fuad Tabba's arm64 cache.S rename series, 2021; hash not found)",
  subject: "arm64: rename the cache maintenance routines to dcache_{clean,inval}_poc",
  files: ["arch/arm64/mm/cache.S", "arch/arm64/mm/dma-mapping.c"],
  effect: "the arm64 cache routines that do the DMA maintenance are named dcache_clean_poc / dcache_inval_poc (before: __clean_dcache_area_poc / __inval_dcache_area, entered through the local aliases __dma_clean_area / __dma_inv_area, which is the name the model gives them). v5.14 and v5.15 keep the local aliases on the same code; v5.17-rc5 drops them.",
  bracket: "absent in v5.12.9 (zhangyinjun/linux-5.12.9, arch/arm64/mm/cache.S: __clean_dcache_area_poc with the local alias __dma_clean_area, __inval_dcache_area with __dma_inv_area), present in v5.14.2 (Kingdo777/linux-5.14.2-faascale-host, arch/arm64/mm/cache.S:dcache_clean_poc / dcache_inval_poc; also v5.15.16 yashlala/fastswap-linux-5.16.16); loose: no v5.13 tree, the model switches at v5.14",
});

/** arm64 arch_sync_dma_for_device calls dcache_clean_poc directly (the __dma_map_area wrapper gone). */
export const CHANGE_ARM64_SYNC_CALLS_DCACHE_POC = defineChange({
  id: "arm64-sync-calls-dcache-clean-poc",
  since: "v6.0",
  commit: "7eacf1858bc8 (hash from the arm64 for-next/core log and the arm64 pull shortlog for the v6.0 merge window)",
  subject: "arm64: mm: Remove assembly DMA cache maintenance wrappers",
  files: ["arch/arm64/mm/dma-mapping.c", "arch/arm64/mm/cache.S"],
  effect: "arch_sync_dma_for_device calls dcache_clean_poc(start, start + size) itself (arch_sync_dma_for_cpu: dcache_inval_poc); before, it called the assembly wrapper __dma_map_area (__dma_unmap_area), so the call chain of an arm64 dma-buf map shows dcache_clean_poc where it showed __dma_map_area.",
  bracket: "absent in v5.19.0 (yishangzhang/linux-5.19, arch/arm64/mm/dma-mapping.c:arch_sync_dma_for_device calls __dma_map_area), present in v6.0-rc1 (sun363587351/linux-6.0, arch/arm64/mm/dma-mapping.c:arch_sync_dma_for_device calls dcache_clean_poc)",
});

/** One renamed kernel function: from `change` on, `name` replaces the table's key. */
interface Rename {
  readonly change: KernelChange;
  readonly name: string;
}

/**
 * The kernel functions whose names differ by release, keyed by their oldest
 * modelled name; each entry lists the later names with the change that
 * introduced them (oldest first).
 */
const KERNEL_FUNCTION_NAMES = {
  dma_map_page_attrs: [{ change: CHANGE_DMA_MAP_PHYS, name: "dma_map_phys" }],
  dma_unmap_page_attrs: [{ change: CHANGE_DMA_MAP_PHYS, name: "dma_unmap_phys" }],
  dma_direct_map_page: [{ change: CHANGE_DMA_MAP_PHYS, name: "dma_direct_map_phys" }],
  dma_direct_unmap_page: [{ change: CHANGE_DMA_MAP_PHYS, name: "dma_direct_unmap_phys" }],
  iommu_dma_map_page: [{ change: CHANGE_DMA_MAP_PHYS, name: "iommu_dma_map_phys" }],
  iommu_dma_unmap_page: [{ change: CHANGE_DMA_MAP_PHYS, name: "iommu_dma_unmap_phys" }],
  __dma_clean_area: [{ change: CHANGE_ARM64_DCACHE_POC, name: "dcache_clean_poc" }],
  __dma_inv_area: [{ change: CHANGE_ARM64_DCACHE_POC, name: "dcache_inval_poc" }],
  __dma_map_area: [{ change: CHANGE_ARM64_SYNC_CALLS_DCACHE_POC, name: "dcache_clean_poc" }],
} satisfies Record<string, readonly Rename[]>;

/** A key of {@link KERNEL_FUNCTION_NAMES}: a kernel function by its oldest modelled name. */
export type RenamedKernelFunction = keyof typeof KERNEL_FUNCTION_NAMES;

/**
 * The name kernel function `fn` has at release `kernel` (for trace events,
 * call chains and dma-debug reports).
 * @param fn the function's oldest modelled name, e.g. "dma_map_page_attrs".
 * @returns e.g. "dma_map_phys" from the release of CHANGE_DMA_MAP_PHYS on.
 */
export function kernelFunctionName(kernel: string | KernelVersion, fn: RenamedKernelFunction): string {
  let name: string = fn;
  for (const r of KERNEL_FUNCTION_NAMES[fn] as readonly Rename[]) if (atLeast(kernel, r.change)) name = r.name;
  return name;
}
