/**
 * The DMA layer's CMA glue (kernel/dma/contiguous.c): how big the default
 * area is (`cma=`, CONFIG_CMA_SIZE_MBYTES, a DT `linux,cma-default` node),
 * and how DMA allocations ask CMA for pages (the CONFIG_CMA_ALIGNMENT clamp).
 * The area bookkeeping itself is lib/mm/cma.ts.
 *
 * Rules (read in v5.4.6 and v6.19):
 * - `cma=size[@base[-limit]]` (early_cma): size, optional base; with a base
 *   and no limit the limit is base + size; the area is fixed when base + size
 *   equals the limit (dma_contiguous_reserve).
 * - Without `cma=`, CONFIG_CMA_SIZE_SEL_MBYTES uses CONFIG_CMA_SIZE_MBYTES
 *   (Kconfig default 16, 0 on x86; arch/arm/configs: multi_v7_defconfig 64,
 *   bcm2835_defconfig 32, exynos_defconfig 96 in v6.19).
 * - A reserved-memory node compatible "shared-dma-pool" with `reusable` and
 *   `linux,cma-default` becomes the default area first (DT is scanned before
 *   dma_contiguous_reserve on ARM: arm_memblock_init), and then the size
 *   selection above is skipped (`!dma_contiguous_default_area`). From
 *   v5.6 (absent in v5.4.6, present in v5.6.4) a `cma=` argument wins instead: the DT
 *   default node is bypassed (rmem_cma_setup returns -EBUSY; in v6.19 the
 *   reserved-memory scan skips it, cma_skip_dt_default_reserved_mem).
 * - dma_alloc_from_contiguous(dev, count, align): align clamped to
 *   CONFIG_CMA_ALIGNMENT (Kconfig default 8, range 4..12), then cma_alloc.
 *   ARM's __alloc_from_contiguous calls it with align = get_order(size).
 * - dma_contiguous_early_fixup (ARM: records the area for
 *   dma_contiguous_remap, lib/mm/arm32-sections.ts) is called for the
 *   `cma=`/Kconfig area by dma_contiguous_reserve_area, and for DT areas by
 *   rmem_cma_setup (v5.4.6 .. v6.8) or, in v6.19, by the reserved-memory
 *   scan in drivers/of/of_reserved_mem.c. Between them the 2024/2025
 *   reserved-memory rework ran the DT fixup after paging_init on ARM, and a
 *   Broadcom ARMv7 board hit a WARN in __apply_to_page_range from
 *   __alloc_from_contiguous on 6.16-rc1 (William Zhang, reply to "[PATCH
 *   v10 1/2] of: reserved_mem: Restruture how the reserved memory regions
 *   are processed", 2025-06-28). The model does not reproduce that window.
 *
 * Not modelled: CMA_SIZE_PERCENTAGE / _MIN / _MAX selection, per-NUMA areas,
 * memblock placement of a non-fixed area (the caller gives the base).
 */
import { checkInt } from "../core/arith.js";
import { ENOMEM } from "../core/errno.js";
import { ModelConfigError } from "../core/errors.js";
import { parseSizeOrAddr } from "../platform/profile.js";
import { atLeast, defineChange, parseKernelVersion } from "../kernel/version.js";
import { cmaAlloc, cmaRelease, type Cma, type CmaAllocResult } from "../mm/cma.js";

/** `cma=` overrides a DT linux,cma-default node. */
export const CMA_CMDLINE_OVERRIDES_DT = defineChange({
  id: "cma-cmdline-overrides-dt-default",
  since: "v5.6",
  commit: "unverified (Nicolas Saenz Julienne, \"dma-contiguous: CMA: give precedence to cmdline\", posted 2020-01-10 as 20200110171933.15014-1-nsaenzjulienne@suse.de, in Christoph Hellwig's \"dma-mapping fixes for 5.6\" pull based on v5.5; hash not found)",
  subject: "dma-contiguous: CMA: give precedence to cmdline",
  files: ["kernel/dma/contiguous.c", "drivers/of/of_reserved_mem.c"],
  effect: "with cma= on the command line, rmem_cma_setup skips the DT linux,cma-default node (\"Reserved memory: bypass ... node, using cmdline CMA params instead\", -EBUSY) and the command line size is used.",
  bracket: "absent in v5.4.6 (hxb-gt/linux-5.4.6, kernel/dma/contiguous.c:rmem_cma_setup: no size_cmdline test), present in v5.6.4 (shmily1012/linux-5.6.4, kernel/dma/contiguous.c:rmem_cma_setup: size_cmdline != -1 && default_cma -> bypass); no v5.5 tree, v5.6 from the dma-mapping-5.6 fixes pull (based on v5.5)",
});

/** CONFIG_CMA_ALIGNMENT default (kernel/dma/Kconfig): PAGE_SIZE order 8 = 1 MiB with 4 KiB pages. */
export const CMA_ALIGNMENT_DEFAULT = 8;
/** CONFIG_CMA_SIZE_MBYTES Kconfig default (not x86). */
export const CMA_SIZE_MBYTES_DEFAULT = 16;

/** A parsed `cma=` argument: bytes. */
export interface CmaCmdline {
  size: number;
  base: number;
  limit: number;
}

/**
 * early_cma: parse `cma=size[@base[-limit]]` with memparse suffixes (K, M, G).
 * @throws ModelConfigError naming `cma=` for text memparse would not take.
 */
export function parseCmaCmdline(arg: string): CmaCmdline {
  if (typeof arg !== "string") throw new ModelConfigError("cma=", arg, "a string size[@base[-limit]] such as 64M or 256M@0x10000000");
  const m = /^\s*([0-9]+[KMG]?|0x[0-9a-fA-F]+)(?:@([0-9]+[KMG]?|0x[0-9a-fA-F]+)(?:-([0-9]+[KMG]?|0x[0-9a-fA-F]+))?)?\s*$/.exec(arg);
  if (!m) throw new ModelConfigError("cma=", arg, "size[@base[-limit]] such as 64M or 256M@0x10000000");
  const size = parseSizeOrAddr(m[1]!);
  if (m[2] === undefined) return { size, base: 0, limit: 0 };
  const base = parseSizeOrAddr(m[2]);
  if (m[3] === undefined) return { size, base, limit: base + size };
  return { size, base, limit: parseSizeOrAddr(m[3]) };
}

/** Inputs of {@link dmaContiguousSelect}. */
export interface CmaSelectInput {
  /** The `cma=` argument, if given. */
  cmdline?: string;
  /** CONFIG_CMA_SIZE_MBYTES (CMA_SIZE_SEL_MBYTES). Default 16. */
  configMbytes?: number;
  /** Size of a DT `linux,cma-default` reusable shared-dma-pool node, bytes, if the DT has one. */
  dtDefaultSize?: number;
  /** The limit the arch passes (ARM: arm_dma_limit; 0xffffffff without ZONE_DMA). */
  limit: number;
  /** Kernel release (decides DT vs `cma=` precedence). */
  kernel: string;
}

/** What dma_contiguous_reserve / rmem_cma_setup decide for the default area. */
export interface CmaSelection {
  /** "dt": the DT node made the default area; "cmdline"; "config"; "none" (size 0). */
  source: "dt" | "cmdline" | "config" | "none";
  /** Bytes. */
  size: number;
  /** Requested base (0 = anywhere below the limit). */
  base: number;
  limit: number;
  fixed: boolean;
}

/**
 * The default CMA area's size and constraints. Before v5.6 a DT default
 * node wins (it is set up before dma_contiguous_reserve runs), then `cma=`;
 * from v5.6 `cma=` wins over the DT node; else CONFIG_CMA_SIZE_MBYTES.
 * Source: kernel/dma/contiguous.c dma_contiguous_reserve, early_cma,
 * rmem_cma_setup (v5.4.6, v6.19); arch/arm/mm/init.c arm_memblock_init.
 * @throws ModelConfigError for bad numbers.
 */
export function dmaContiguousSelect(i: CmaSelectInput): CmaSelection {
  checkInt("dmaContiguousSelect(limit)", i.limit);
  parseKernelVersion(i.kernel, "dmaContiguousSelect(kernel)");
  if (i.dtDefaultSize !== undefined) checkInt("dmaContiguousSelect(dtDefaultSize)", i.dtDefaultSize, 1);
  if (i.configMbytes !== undefined) checkInt("dmaContiguousSelect(configMbytes)", i.configMbytes);
  if (i.cmdline !== undefined && typeof i.cmdline !== "string") throw new ModelConfigError("dmaContiguousSelect(cmdline)", i.cmdline, "a cma= string such as 64M");
  const cmdlineWins = i.cmdline !== undefined && atLeast(i.kernel, CMA_CMDLINE_OVERRIDES_DT);
  if (i.dtDefaultSize !== undefined && !cmdlineWins) {
    checkInt("dmaContiguousSelect(dtDefaultSize)", i.dtDefaultSize, 1);
    return { source: "dt", size: i.dtDefaultSize, base: 0, limit: i.limit, fixed: false };
  }
  if (i.cmdline !== undefined) {
    const c = parseCmaCmdline(i.cmdline);
    const limit = c.limit === 0 ? i.limit : i.limit === 0 ? c.limit : Math.min(c.limit, i.limit);
    return { source: c.size ? "cmdline" : "none", size: c.size, base: c.base, limit, fixed: c.base + c.size === c.limit };
  }
  const mb = i.configMbytes ?? CMA_SIZE_MBYTES_DEFAULT;
  checkInt("dmaContiguousSelect(configMbytes)", mb);
  return { source: mb ? "config" : "none", size: mb * 1048576, base: 0, limit: i.limit, fixed: false };
}

/**
 * dma_alloc_from_contiguous(dev, count, align, no_warn): cma_alloc with the
 * alignment order clamped to CONFIG_CMA_ALIGNMENT.
 * @param cma the device's area (dev_get_cma_area: its own, else the default), or null.
 * @param count pages.
 * @param align order.
 * @param cmaAlignment CONFIG_CMA_ALIGNMENT, 4..12 (Kconfig range).
 * @returns the cma_alloc result; pfn null when there is no area.
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function dmaAllocFromContiguous(cma: Cma | null, count: number, align: number, cmaAlignment = CMA_ALIGNMENT_DEFAULT): CmaAllocResult {
  if (!Number.isInteger(cmaAlignment) || cmaAlignment < 4 || cmaAlignment > 12) {
    throw new ModelConfigError("dmaAllocFromContiguous(cmaAlignment)", cmaAlignment, "CONFIG_CMA_ALIGNMENT in 4..12");
  }
  // align is an unsigned int order; a large one is clamped to CONFIG_CMA_ALIGNMENT below, as the kernel does
  checkInt("dmaAllocFromContiguous(align)", align, 0, 0xffffffff);
  checkInt("dmaAllocFromContiguous(count)", count);
  if (!cma) return { pfn: null, ret: -ENOMEM, tries: 0, busyRetries: [] };
  return cmaAlloc(cma, count, Math.min(align, cmaAlignment));
}

/** dma_release_from_contiguous(dev, pages, count): cma_release on the device's area; false without one. */
export function dmaReleaseFromContiguous(cma: Cma | null, pfn: number, count: number): boolean {
  if (!cma) return false;
  return cmaRelease(cma, pfn, count);
}
