/**
 * Helpers for DMA ops implementations (kernel/dma/ops_helpers.c, v5.10+;
 * read at v6.19): the generic get_sgtable / mmap used by dma_map_ops that
 * are not dma-direct (and, in the model, by iommu-dma's get_sgtable for
 * buffers without a page array, which has the same shape).
 *
 * - dma_common_vaddr_to_page: vmalloc_to_page for a vmalloc address, else
 *   virt_to_page. The vmalloc branch came with "dma-mapping: handle vmalloc
 *   addresses in dma_common_{mmap,get_sgtable}" (Roman Skakun, 2021, v5.14);
 *   before it the helpers used virt_to_page for every address.
 * - dma_common_get_sgtable: one entry for that page, PAGE_ALIGN(size), offset 0;
 *   no pfn_valid check.
 * - dma_common_find_pages (kernel/dma/remap.c): the page array of a remapped
 *   buffer; iommu-dma's get_sgtable/mmap use it (lib/iommu/dma-iommu-alloc.ts).
 * - the v5.4 dma_common_get_sgtable / dma_common_mmap page rule
 *   (kernel/dma/mapping.c, v5.4.6), which dma-direct used before v5.5
 *   (lib/dma/direct-ops.ts).
 */
import { defineChange, atLeast } from "../kernel/version.js";
import { checkInt } from "../core/arith.js";
import { ModelConfigError } from "../core/errors.js";
import type { DmaAddr, Pfn } from "../core/addr.js";
import { ENXIO } from "../core/errno.js";
import { dmaToPhys, type Device } from "../platform/device.js";
import { sgInitEntry, type SgTable } from "../sg/scatterlist.js";
import type { MemoryModel, Page } from "../mm/memory.js";

/** v5.14: the ops helpers use vmalloc_to_page for vmalloc addresses. */
export const OPS_HELPERS_VMALLOC = defineChange({
  id: "dma-common-helpers-vmalloc",
  since: "v5.14",
  commit: "unverified (Roman Skakun, 2021-07-16)",
  subject: "dma-mapping: handle vmalloc addresses in dma_common_{mmap,get_sgtable}",
  files: ["kernel/dma/ops_helpers.c"],
  effect: "dma_common_get_sgtable/mmap take the page of a vmalloc (remapped) CPU address with vmalloc_to_page instead of virt_to_page",
  bracket: "absent in v5.12.9 (zhangyinjun/linux-5.12.9, kernel/dma/ops_helpers.c:dma_common_get_sgtable: virt_to_page), present in v5.14-rc5 (lsk-legends/linux-5.14, kernel/dma/ops_helpers.c:dma_common_vaddr_to_page: vmalloc_to_page); the patch was posted 2021-07-16, after v5.13, so v5.14",
});

/**
 * dma_common_vaddr_to_page(cpu_addr) on this release: vmalloc_to_page for a
 * vmalloc address from v5.14 (a null result is returned as the kernel's NULL
 * page, modelled as pfn 0's page with `fromNull`), else virt_to_page.
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function dmaCommonVaddrToPage(mm: MemoryModel, cpuAddr: number): { page: Page; via: "vmalloc_to_page" | "virt_to_page" } {
  checkInt("dmaCommonVaddrToPage(cpuAddr)", cpuAddr);
  if (atLeast(mm.machine.kernel, OPS_HELPERS_VMALLOC) && mm.isVmallocAddr(cpuAddr)) {
    const p = mm.vmallocToPage(cpuAddr);
    if (p) return { page: p, via: "vmalloc_to_page" };
    // vmalloc_to_page of an unmapped address returns NULL; NULL's pfn is (0 - vmemmap) / sizeof: a bogus page.
    return { page: mm.pageFromAddress(0) ?? mm.pfnToPage(0 as Pfn), via: "vmalloc_to_page" };
  }
  return { page: mm.virtToPage(cpuAddr), via: "virt_to_page" };
}

/**
 * sg_alloc_table(sgt, 1) + sg_set_page(sgt->sgl, page, len, 0): make `sgt`
 * a one-entry table for the page `pfn` (null: a page-less entry, the 2017
 * RFC's form), `len` bytes at offset 0. The shape every get_sgtable of a
 * contiguous coherent buffer returns.
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function sgSetSinglePage(sgt: SgTable, pfn: number | null, len: number): void {
  if (pfn !== null) checkInt("sgSetSinglePage(pfn)", pfn);
  checkInt("sgSetSinglePage(len)", len, 0, 0xffffffff);
  const e = sgInitEntry();
  e.pfn = pfn as Pfn | null;
  e.length = len;
  e.offset = 0;
  e.isLast = true;
  sgt.sgl = [e];
  sgt.nents = 1;
  sgt.origNents = 1;
}

/**
 * dma_common_find_pages(cpu_addr) (kernel/dma/remap.c, v5.4.6 and v6.19):
 * the page array of a dma_common_pages_remap area, or null (not a vmalloc
 * address, or an area without a page array).
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function dmaCommonFindPages(mm: MemoryModel, cpuAddr: number): readonly Pfn[] | null {
  checkInt("dmaCommonFindPages(cpuAddr)", cpuAddr);
  if (!mm.isVmallocAddr(cpuAddr)) return null;
  const a = mm.vmapSpace.find(cpuAddr);
  return a && a.caller === "dma_common_pages_remap" && a.pfns ? a.pfns : null;
}

/** The page a v5.4 dma_common_get_sgtable / dma_common_mmap would use, and how it was found. */
export type DmaCommonPage =
  | { ret: 0; pfn: number; via: "virt_to_page" | "arch_dma_coherent_to_pfn" }
  | { ret: number; pfn: number; via: "pfn_valid" };

/**
 * The page rule of dma_common_get_sgtable / dma_common_mmap as dma-direct
 * used them before v5.5 (kernel/dma/mapping.c, v5.4.6): a coherent device
 * (x86's are all coherent: the arch hook `allDevicesCoherent`) takes
 * virt_to_page(cpu_addr), unchecked; a non-coherent one
 * arch_dma_coherent_to_pfn(handle) (the pfn of dma_to_phys(handle) on
 * arm64), -ENXIO when !pfn_valid (`checkPfnValid`: the check exists from
 * v5.3; v4.20..v5.2 take the pfn unchecked).
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function dmaCommonPage(mm: MemoryModel, dev: Device, cpuAddr: number, dmaHandle: DmaAddr, coherent: boolean, checkPfnValid = true): DmaCommonPage {
  checkInt("dmaCommonPage(cpuAddr)", cpuAddr);
  checkInt("dmaCommonPage(dmaHandle)", dmaHandle);
  if (typeof coherent !== "boolean") throw new ModelConfigError("dmaCommonPage(coherent)", coherent, "true or false");
  if (coherent) return { ret: 0, pfn: mm.virtToPage(cpuAddr).pfn, via: "virt_to_page" };
  const p = Math.floor((dmaToPhys(dev, dmaHandle) ?? dmaHandle) / mm.pageSize);
  if (checkPfnValid && !mm.pfnValid(p)) return { ret: -ENXIO, pfn: p, via: "pfn_valid" };
  return { ret: 0, pfn: p, via: "arch_dma_coherent_to_pfn" };
}
