/**
 * dma-direct's get_sgtable, mmap and map_resource (kernel/dma/direct.c
 * dma_direct_get_sgtable, dma_direct_mmap, dma_direct_map_resource, v5.5+
 * and v6.19; before v5.5 dma-direct had no get_sgtable/mmap of its own and
 * kernel/dma/mapping.c fell back to dma_common_get_sgtable /
 * dma_common_mmap, whose page rule is lib/dma/ops-helpers.ts
 * dmaCommonPage). The dispatcher (lib/dma/mapping.ts) handles the
 * per-device pool, the range checks and the trace of the answer; these are
 * the dma-direct bodies.
 */
import { DMA_MAPPING_ERROR, type DmaAddr, type PhysAddr, type VirtAddr } from "../core/addr.js";
import { hex } from "../core/arith.js";
import { atLeast, defineChange } from "../kernel/version.js";
import { dmaToPhys, physToDma, type Device } from "../platform/device.js";
import type { SgTable } from "../sg/scatterlist.js";
import type { MemoryModel } from "../mm/memory.js";
import { archHooksOf } from "./arch/index.js";
import { dmaCapable } from "./map-ops.js";
import { dmaCommonPage, sgSetSinglePage } from "./ops-helpers.js";

/** dma-direct's get_sgtable/mmap decode the page from the DMA address (v5.5). */
export const DMA_DIRECT_GET_SGTABLE = defineChange({
  id: "dma-direct-get-sgtable",
  since: "v5.5",
  commit: "34dc0ea6bc96",
  subject: "dma-direct: provide mmap and get_sgtable method overrides",
  files: ["kernel/dma/direct.c", "kernel/dma/mapping.c"],
  effect:
    "dma_get_sgtable on a dma-direct device builds its one entry from pfn_to_page(PHYS_PFN(dma_to_phys(handle))) for coherent and non-coherent devices alike, with no pfn_valid check; before (v5.4 dma_common_get_sgtable) a coherent device used virt_to_page(cpu_addr) and a non-coherent one arch_dma_coherent_to_pfn + pfn_valid (-ENXIO)",
  bracket: "absent in v5.4.6 (hxb-gt/linux-5.4.6, kernel/dma/mapping.c:dma_common_get_sgtable), present in v5.6.4 (shmily1012/linux-5.6.4, kernel/dma/direct.c:dma_direct_get_sgtable); loose: no v5.5 tree; proposed for 5.4.y stable in 2020-09, so late 5.4.y may have it",
});

/**
 * v4.20: arm64 devices without an IOMMU move from arm64_swiotlb_dma_ops to
 * dma-direct. Before, __swiotlb_get_sgtable / __swiotlb_mmap took the page
 * from the DMA handle (phys_to_page(dma_to_phys(handle))) for coherent and
 * non-coherent devices alike; from v4.20 dma_get_sgtable falls back to
 * dma_common_get_sgtable, which takes virt_to_page(cpu_addr) for a coherent
 * device: the wrong page when cpu_addr is a memremap of a no-map pool,
 * until 34dc0ea6bc96 (v5.5).
 */
export const ARM64_DMA_DIRECT = defineChange({
  id: "arm64-dma-direct",
  since: "v4.20",
  commit: "unverified (Christoph Hellwig's 2018 series moving arm64 to the generic dma-direct/swiotlb code)",
  subject: "arm64: use the generic swiotlb_dma_ops / dma-direct",
  files: ["arch/arm64/mm/dma-mapping.c", "arch/arm64/Kconfig", "kernel/dma/mapping.c"],
  effect:
    "arm64 non-IOMMU devices lose arm64_swiotlb_dma_ops (.get_sgtable = __swiotlb_get_sgtable, .mmap = __swiotlb_mmap: page/pfn of dma_to_phys(handle), no pfn_valid check); dma_get_sgtable and dma_mmap_coherent use dma_common_get_sgtable / dma_common_mmap (coherent: virt_to_page(cpu_addr); non-coherent: arch_dma_coherent_to_pfn).",
  bracket:
    "absent in v4.19.1 (chens37/linux-4.19.1, arch/arm64/mm/dma-mapping.c:__swiotlb_get_sgtable in arm64_swiotlb_dma_ops), present in v4.20.0 (a4913994/linux-4.20, arch/arm64/Kconfig selects DMA_DIRECT_OPS and ARCH_HAS_DMA_COHERENT_TO_PFN; no arm64_swiotlb_dma_ops; kernel/dma/mapping.c:dma_common_get_sgtable)",
});

/** v5.3: dma_common_get_sgtable / dma_common_mmap refuse a non-coherent device's pfn that is not pfn_valid. */
export const DMA_COMMON_PFN_VALID = defineChange({
  id: "dma-common-get-sgtable-pfn-valid",
  since: "v5.3",
  commit: "unverified",
  subject: "dma-mapping: check pfn validity in dma_common_{mmap,get_sgtable}",
  files: ["kernel/dma/mapping.c"],
  effect: "the non-coherent path (arch_dma_coherent_to_pfn) returns -ENXIO when !pfn_valid(pfn); before, the pfn was used unchecked.",
  bracket:
    "absent in v5.2.1 (wangliang-cs/linux-5.2.1, kernel/dma/mapping.c:dma_common_get_sgtable, dma_common_mmap: pfn_to_page(arch_dma_coherent_to_pfn()) unchecked), present in v5.3.1 (github-lvbing/linux-5.3.1, same functions: if (!pfn_valid(pfn)) return -ENXIO)",
});

/** Which rule built a dma-direct get_sgtable answer. */
export type DirectGetSgtablePath =
  | "__swiotlb_get_sgtable (arm64, before v4.20): page of dma_to_phys(handle)"
  | "dma_common_get_sgtable (v5.4): virt_to_page(cpu_addr)"
  | "dma_common_get_sgtable (v5.4): arch_dma_coherent_to_pfn + pfn_valid"
  | "dma_direct_get_sgtable: page from the DMA address";

/** The device is coherent for dma_common_* (its own flag, or an arch where every device is). */
function commonCoherent(mm: MemoryModel, dev: Device): boolean {
  return dev.dmaCoherent || archHooksOf(mm.profile.arch).allDevicesCoherent;
}

/**
 * dma-direct get_sgtable of a coherent buffer of `len` bytes (PAGE_ALIGN of
 * the size): v5.5+ dma_direct_get_sgtable (page of dma_to_phys(handle), no
 * check); before, dma_common_get_sgtable (v5.4 rule: virt_to_page for a
 * coherent device, arch_dma_coherent_to_pfn + pfn_valid otherwise, with the
 * -ENXIO recorded as a `get_sgtable_enxio` event).
 * arm64 before v4.20 ({@link ARM64_DMA_DIRECT}): arm64_swiotlb_dma_ops's
 * __swiotlb_get_sgtable, the page of dma_to_phys(handle), no check. The
 * pfn_valid check of the non-coherent common path exists from v5.3
 * ({@link DMA_COMMON_PFN_VALID}).
 * Source: arch/arm64/mm/dma-mapping.c __swiotlb_get_sgtable (v4.19.1);
 * kernel/dma/mapping.c dma_common_get_sgtable (v4.20.0, v5.2.1, v5.3.1, v5.4.6);
 * kernel/dma/direct.c dma_direct_get_sgtable (v5.6.4, v6.19).
 * @returns 0 with the path and pfn (the table holds one entry), or -ENXIO (table unchanged).
 */
export function dmaDirectGetSgtable(mm: MemoryModel, dev: Device, sgt: SgTable, cpuAddr: VirtAddr, dmaHandle: DmaAddr, len: number): { ret: number; path: DirectGetSgtablePath | null; pfn: number | null } {
  if (mm.profile.arch === "arm64" && !atLeast(dev.kernel, ARM64_DMA_DIRECT)) {
    const pfn = Math.floor((dmaToPhys(dev, dmaHandle) ?? dmaHandle) / mm.pageSize);
    sgSetSinglePage(sgt, pfn, len);
    return { ret: 0, path: "__swiotlb_get_sgtable (arm64, before v4.20): page of dma_to_phys(handle)", pfn };
  }
  if (!atLeast(dev.kernel, DMA_DIRECT_GET_SGTABLE)) {
    const r = dmaCommonPage(mm, dev, cpuAddr, dmaHandle, commonCoherent(mm, dev), atLeast(dev.kernel, DMA_COMMON_PFN_VALID));
    if (r.ret !== 0) {
      dev.trace.record({ fn: "dma_common_get_sgtable", kind: "get_sgtable_enxio", msg: `${dev.name}: pfn ${hex(r.pfn)} has no struct page (pfn_valid false): -ENXIO`, data: { pfn: r.pfn } });
      return { ret: r.ret, path: null, pfn: null };
    }
    sgSetSinglePage(sgt, r.pfn, len);
    return { ret: 0, path: r.via === "virt_to_page" ? "dma_common_get_sgtable (v5.4): virt_to_page(cpu_addr)" : "dma_common_get_sgtable (v5.4): arch_dma_coherent_to_pfn + pfn_valid", pfn: r.pfn };
  }
  const pa = dmaToPhys(dev, dmaHandle) ?? dmaHandle;
  const pfn = Math.floor(pa / mm.pageSize);
  sgSetSinglePage(sgt, pfn, len);
  return { ret: 0, path: "dma_direct_get_sgtable: page from the DMA address", pfn };
}

/**
 * dma-direct mmap's first pfn for a vma at page offset `pgoff` (the caller
 * has done the pool and range checks): v5.5+ dma_direct_mmap,
 * PHYS_PFN(dma_to_phys(handle)) + pgoff; before, dma_common_mmap's rule
 * (-ENXIO when a non-coherent device's pfn is not pfn_valid, from v5.3);
 * arm64 before v4.20: __swiotlb_mmap, the handle's pfn + pgoff.
 */
export function dmaDirectMmap(mm: MemoryModel, dev: Device, cpuAddr: VirtAddr, dmaHandle: DmaAddr, pgoff: number): { ret: number; pfn: number | null; path: string } {
  if (mm.profile.arch === "arm64" && !atLeast(dev.kernel, ARM64_DMA_DIRECT)) {
    // arm64 v4.19 __swiotlb_mmap: pfn of dma_to_phys(handle) + vm_pgoff.
    return { ret: 0, pfn: Math.floor((dmaToPhys(dev, dmaHandle) ?? dmaHandle) / mm.pageSize) + pgoff, path: "__swiotlb_mmap (arm64, before v4.20): pfn from the DMA address" };
  }
  if (!atLeast(dev.kernel, DMA_DIRECT_GET_SGTABLE)) {
    const r = dmaCommonPage(mm, dev, cpuAddr, dmaHandle, commonCoherent(mm, dev), atLeast(dev.kernel, DMA_COMMON_PFN_VALID));
    if (r.via === "virt_to_page") return { ret: 0, pfn: r.pfn + pgoff, path: "dma_common_mmap (v5.4): virt_to_page" };
    if (r.ret !== 0) return { ret: r.ret, pfn: null, path: "dma_common_mmap (v5.4): pfn_valid" };
    return { ret: 0, pfn: r.pfn + pgoff, path: "dma_common_mmap (v5.4): arch_dma_coherent_to_pfn" };
  }
  return { ret: 0, pfn: Math.floor((dmaToPhys(dev, dmaHandle) ?? dmaHandle) / mm.pageSize) + pgoff, path: "dma_direct_mmap: pfn from the DMA address" };
}

/**
 * dma_direct_map_resource(dev, paddr, size, dir, attrs) (kernel/dma/direct.c):
 * phys_to_dma, then dma_capable against the streaming mask; no cache
 * maintenance.
 * @returns the DMA address, or DMA_MAPPING_ERROR (recorded as a `map_failed` warning).
 */
export function dmaDirectMapResource(dev: Device, phys: PhysAddr | number, size: number): DmaAddr {
  const d = physToDma(dev, phys as PhysAddr);
  if (d === null || !dmaCapable(dev, d, size)) {
    dev.trace.record({ fn: "dma_direct_map_resource", kind: "map_failed", level: "warn", msg: `${dev.name}: phys ${hex(phys)} not reachable by the device`, data: { phys } });
    return DMA_MAPPING_ERROR;
  }
  dev.trace.record({ fn: "dma_direct_map_resource", kind: "map_resource", msg: `${dev.name}: phys ${hex(phys)} +${hex(size)} -> ${hex(d)} (no cache maintenance)`, data: { phys, dma: d, size } });
  return d;
}
