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

/** Which rule built a dma-direct get_sgtable answer. */
export type DirectGetSgtablePath =
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
 * @returns 0 with the path and pfn (the table holds one entry), or -ENXIO (table unchanged).
 */
export function dmaDirectGetSgtable(mm: MemoryModel, dev: Device, sgt: SgTable, cpuAddr: VirtAddr, dmaHandle: DmaAddr, len: number): { ret: number; path: DirectGetSgtablePath | null; pfn: number | null } {
  if (!atLeast(dev.kernel, DMA_DIRECT_GET_SGTABLE)) {
    const r = dmaCommonPage(mm, dev, cpuAddr, dmaHandle, commonCoherent(mm, dev));
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
 * PHYS_PFN(dma_to_phys(handle)) + pgoff; before, dma_common_mmap's v5.4
 * rule (-ENXIO when a non-coherent device's pfn is not pfn_valid).
 */
export function dmaDirectMmap(mm: MemoryModel, dev: Device, cpuAddr: VirtAddr, dmaHandle: DmaAddr, pgoff: number): { ret: number; pfn: number | null; path: string } {
  if (!atLeast(dev.kernel, DMA_DIRECT_GET_SGTABLE)) {
    const r = dmaCommonPage(mm, dev, cpuAddr, dmaHandle, commonCoherent(mm, dev));
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
