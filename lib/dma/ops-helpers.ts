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
 */
import { defineChange, atLeast } from "../kernel/version.js";
import type { Pfn } from "../core/addr.js";
import type { MemoryModel, Page } from "../mm/memory.js";

/** v5.14: the ops helpers use vmalloc_to_page for vmalloc addresses. */
export const OPS_HELPERS_VMALLOC = defineChange({
  id: "dma-common-helpers-vmalloc",
  since: "v5.14",
  commit: "unverified (Roman Skakun, 2021-07-16)",
  subject: "dma-mapping: handle vmalloc addresses in dma_common_{mmap,get_sgtable}",
  files: ["kernel/dma/ops_helpers.c"],
  effect: "dma_common_get_sgtable/mmap take the page of a vmalloc (remapped) CPU address with vmalloc_to_page instead of virt_to_page",
});

/**
 * dma_common_vaddr_to_page(cpu_addr) on this release: vmalloc_to_page for a
 * vmalloc address from v5.14 (a null result is returned as the kernel's NULL
 * page, modelled as pfn 0's page with `fromNull`), else virt_to_page.
 */
export function dmaCommonVaddrToPage(mm: MemoryModel, cpuAddr: number): { page: Page; via: "vmalloc_to_page" | "virt_to_page" } {
  if (atLeast(mm.machine.kernel, OPS_HELPERS_VMALLOC.since) && mm.isVmallocAddr(cpuAddr)) {
    const p = mm.vmallocToPage(cpuAddr);
    if (p) return { page: p, via: "vmalloc_to_page" };
    // vmalloc_to_page of an unmapped address returns NULL; NULL's pfn is (0 - vmemmap) / sizeof: a bogus page.
    return { page: mm.pageFromAddress(0) ?? mm.pfnToPage(0 as Pfn), via: "vmalloc_to_page" };
  }
  return { page: mm.virtToPage(cpuAddr), via: "virt_to_page" };
}
