/**
 * 32-bit ARM's legacy DMA ops (arch/arm/mm/dma-mapping.c, arm_dma_ops), the
 * parts case 02 needs: arm_dma_get_sgtable and arm_dma_mmap.
 *
 * - arm_dma_get_sgtable (v4.4.1: no check; v4.19.1: "If the PFN is not
 *   valid, we do not have a struct page" -> -ENXIO): the pfn is
 *   dma_to_pfn(dev, handle), i.e. decoded from the DMA address, never from
 *   the CPU address. Russell King's pfn_valid check was added in 2017 (the
 *   2017 RFC says it was built on top of it): absent in v4.10.17, present
 *   in v4.11.0, so v4.11 (commit hash not verified).
 * - arm_dma_mmap -> __arm_dma_mmap: the per-device pool first
 *   (dma_mmap_from_dev_coherent), then remap_pfn_range of dma_to_pfn(handle).
 * - From v6.0 32-bit ARM uses dma-direct for devices without an IOMMU
 *   (ae626eb97376 "ARM/dma-mapping: use dma-direct unconditionally",
 *   Christoph Hellwig, 2022; v5.19.0 still has arm_dma_ops, v6.0-rc1 and
 *   v6.19 have only the IOMMU ops left in this file); the
 *   model switches arm devices to the dma-direct rules there.
 */
import { ENXIO } from "../../core/errno.js";
import type { DmaAddr, Pfn } from "../../core/addr.js";
import { atLeast, defineChange } from "../../kernel/version.js";
import { dmaToPhys, type Device } from "../../platform/device.js";
import type { MemoryModel } from "../../mm/memory.js";
import { checkInt, hex } from "../../core/arith.js";
import type { SgTable } from "../../sg/scatterlist.js";
import { sgSetSinglePage } from "../ops-helpers.js";
import { archHooksOf } from "./index.js";
import type { ArchName } from "./hooks.js";

/** Russell King's pfn_valid check in arm_dma_get_sgtable. */
export const ARM_GET_SGTABLE_PFN_VALID = defineChange({
  id: "arm-dma-get-sgtable-pfn-valid",
  since: "v4.11",
  commit: "unverified (Russell King, 2017; hash not found)",
  subject: "ARM: dma-mapping: disallow dma_get_sgtable() for non-kernel managed memory",
  files: ["arch/arm/mm/dma-mapping.c"],
  effect: "arm_dma_get_sgtable returns -ENXIO when pfn_valid(dma_to_pfn(handle)) is false",
  bracket: "absent in v4.10.17 (pengdonglin137/linux-4.10.17, arch/arm/mm/dma-mapping.c:arm_dma_get_sgtable: pfn_to_page(dma_to_pfn(handle)) unconditionally), present in v4.11.0 (HCLS/linux-4.11, arch/arm/mm/dma-mapping.c:arm_dma_get_sgtable: -ENXIO when !pfn_valid)",
});

/** 32-bit ARM drops arm_dma_ops for dma-direct (the entry lives with the hook that switches on it, lib/dma/arch/arm.ts). */
export { ARM_USES_DMA_DIRECT } from "./arm.js";

/**
 * True iff the device still uses its arch's legacy dma_map_ops at its
 * release (only 32-bit ARM's arm_dma_ops before v6.0: the arch hook
 * `usesLegacyDmaOps`, lib/dma/arch/arm.ts).
 */
export function armUsesLegacyOps(dev: Device, arch: ArchName): boolean {
  return archHooksOf(arch).usesLegacyDmaOps(dev.kernel);
}

/**
 * dma_to_pfn(dev, handle) on arm: PFN_DOWN of the translated physical address.
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function armDmaToPfn(mm: MemoryModel, dev: Device, handle: DmaAddr): Pfn {
  checkInt("armDmaToPfn(handle)", handle);
  const pa = dmaToPhys(dev, handle) ?? handle;
  return Math.floor(pa / mm.pageSize) as Pfn;
}

/**
 * arm_dma_get_sgtable's decision: the pfn, or -ENXIO when Russell King's
 * check is in force and the pfn has no struct page.
 */
export function armDmaGetSgtablePfn(mm: MemoryModel, dev: Device, handle: DmaAddr): { ret: 0; pfn: Pfn } | { ret: number; pfn: null } {
  const pfn = armDmaToPfn(mm, dev, handle);
  if (atLeast(dev.kernel, ARM_GET_SGTABLE_PFN_VALID) && !mm.pfnValid(pfn)) return { ret: -ENXIO, pfn: null };
  return { ret: 0, pfn };
}

/**
 * arm_dma_get_sgtable(dev, sgt, cpu_addr, handle, size, attrs): one entry
 * of `len` bytes (PAGE_ALIGN(size)) for the pfn decoded from the handle; the
 * -ENXIO of Russell King's check is recorded as a `get_sgtable_enxio` event.
 * @returns 0 and the pfn (the table holds one entry), or -ENXIO (table unchanged).
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function armDmaGetSgtable(mm: MemoryModel, dev: Device, sgt: SgTable, dmaHandle: DmaAddr, len: number): { ret: number; pfn: Pfn | null } {
  checkInt("armDmaGetSgtable(handle)", dmaHandle);
  checkInt("armDmaGetSgtable(len)", len, 0, 0xffffffff);
  const r = armDmaGetSgtablePfn(mm, dev, dmaHandle);
  if (r.pfn === null) {
    dev.trace.record({ fn: "arm_dma_get_sgtable", kind: "get_sgtable_enxio", msg: `${dev.name}: pfn ${hex(armDmaToPfn(mm, dev, dmaHandle))} is not pfn_valid: -ENXIO`, data: { handle: dmaHandle } });
    return { ret: r.ret, pfn: null };
  }
  sgSetSinglePage(sgt, r.pfn, len);
  return { ret: 0, pfn: r.pfn };
}

/**
 * __arm_dma_mmap's first pfn for a vma at page offset `pgoff` (after the
 * per-device pool and the range check): dma_to_pfn(handle) + pgoff.
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function armDmaMmap(mm: MemoryModel, dev: Device, dmaHandle: DmaAddr, pgoff: number): { ret: 0; pfn: number; path: string } {
  checkInt("armDmaMmap(handle)", dmaHandle);
  checkInt("armDmaMmap(pgoff)", pgoff);
  return { ret: 0, pfn: armDmaToPfn(mm, dev, dmaHandle) + pgoff, path: "__arm_dma_mmap: dma_to_pfn" };
}
