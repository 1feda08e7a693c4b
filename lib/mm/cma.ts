/**
 * The Contiguous Memory Allocator's area bookkeeping (mm/cma.c): one
 * reserved physical range, a bitmap with one bit per 2^order_per_bit pages,
 * first-fit aligned placement and release. The DMA glue (kernel/dma/
 * contiguous.c: `cma=`, CMA_ALIGNMENT, dma_alloc_from_contiguous) is in
 * lib/dma/contiguous.ts.
 *
 * Rules (mm/cma.c cma_alloc / cma_range_alloc, cma_release, read in v5.4.6,
 * v5.10.89, v5.17, v6.8 and v6.19):
 * - mask = (1 << (align - order_per_bit)) - 1 when align > order_per_bit,
 *   else 0 (cma_bitmap_aligned_mask); offset = (base_pfn & ((1 << align) -
 *   1)) >> order_per_bit (cma_bitmap_aligned_offset): placements are aligned
 *   in absolute pfns, not relative to the area start.
 * - bitmap_count = ALIGN(count, 1 << order_per_bit) >> order_per_bit; a
 *   request with more bits than the bitmap has returns NULL at once.
 * - Loop: bitmap_find_next_zero_area_off(bitmap, maxno, start, bitmap_count,
 *   mask, offset); none -> NULL. Mark the bits, then alloc_contig_range(pfn,
 *   pfn + count) migrates what the buddy allocator put there; on -EBUSY
 *   (a page that cannot be migrated: pinned, unmovable) the bits are cleared
 *   and the search restarts at bitmap_no + mask + 1; any other error stops.
 *   The model's -EBUSY comes from pfns marked with {@link cmaMarkBusy}.
 * - cma_release clears the bitmap bits of [pfn, pfn + count) (rounded to
 *   whole bits) and returns true, or false for pages outside the area.
 *
 * Release brackets (each: absent in the first tree, present in the second):
 * - cma_release checks the whole range with cma_pages_valid (pfn + count
 *   past the end -> false): absent v5.10.89, present v5.17. Before, only
 *   the first pfn was checked (VM_BUG_ON on the end, CONFIG_DEBUG_VM only);
 *   the model treats such a call as misuse there.
 * - cma_range_alloc stops early when count > cma->available_count, and an
 *   area may have several ranges (cma_memrange): absent v6.12.0, present v6.17.0 (model: v6.17).
 *   The model has one range; the early stop never changes a result (a
 *   request larger than the free pages cannot fit in the bitmap either).
 * - Minimum area alignment: PAGE_SIZE << max(MAX_ORDER - 1, pageblock_order)
 *   (v5.17) vs CMA_MIN_ALIGNMENT_BYTES = PAGE_SIZE * pageblock_nr_pages
 *   (v5.19): absent v5.17, present v5.19. Equal unless pageblock_order <
 *   MAX_ORDER - 1 (see {@link cmaMinAlignment}).
 *
 * Not modelled: the buddy allocator's use of free CMA pages (only their
 * effect, busy pfns), multiple ranges, debugfs/sysfs counters.
 */
import { checkInt, isPowerOf2 } from "../core/arith.js";
import { EBUSY, EINVAL, ENOMEM } from "../core/errno.js";
import { KernelOops, ModelConfigError } from "../core/errors.js";
import { atLeast, defineChange, parseKernelVersion } from "../kernel/version.js";
import { bitmapFindNextZeroAreaOff } from "./genalloc.js";

/** cma_release validates the whole range (cma_pages_valid). */
export const CMA_PAGES_VALID = defineChange({
  id: "cma-release-pages-valid",
  since: "v5.17",
  commit: "unverified (cma_pages_valid, Mike Kravetz, 2021)",
  subject: "mm/cma: add cma_pages_valid to determine if pages are in CMA",
  files: ["mm/cma.c"],
  effect: "cma_release returns false when pfn + count runs past the area (absent v5.10.89, present v5.17)",
  bracket: "absent in v5.15.16 (yashlala/fastswap-linux-5.16.16, Makefile 5.15.16, mm/cma.c:cma_release), present in v5.17-rc5 (dunli/linux-5.17, mm/cma.c:cma_pages_valid); loose: v5.16 or v5.17 (no v5.16 tree was readable), the model switches at v5.17",
});

/** CMA_MIN_ALIGNMENT_BYTES replaces PAGE_SIZE << max(MAX_ORDER - 1, pageblock_order). */
export const CMA_MIN_ALIGNMENT_PAGEBLOCK = defineChange({
  id: "cma-min-alignment-pageblock",
  since: "v5.19",
  commit: "unverified (David Hildenbrand, 2022)",
  subject: "cma: factor out minimum alignment requirement",
  files: ["include/linux/cma.h", "mm/cma.c"],
  effect: "CMA areas need only pageblock alignment (absent v5.17, present v5.19); equal to the old rule unless pageblock_order < MAX_ORDER - 1",
  bracket: "absent in v5.17-rc5 (dunli/linux-5.17, include/linux/cma.h: no CMA_MIN_ALIGNMENT_PAGES), present in v5.19.0 (yishangzhang/linux-5.19, include/linux/cma.h:CMA_MIN_ALIGNMENT_PAGES); loose: v5.18 or v5.19 (no v5.18 tree), the model switches at v5.19",
});

/** cma_range_alloc: early stop on available_count, -EBUSY as the default error, memory ranges. */
export const CMA_RANGES = defineChange({
  id: "cma-memranges-available-count",
  since: "v6.17",
  commit: "unverified (Frank van der Linden, 2025: multi-range CMA areas)",
  subject: "mm/cma: introduce a cma validate function / multiple ranges per area",
  files: ["mm/cma.c"],
  effect: "cma_range_alloc stops when count > available_count and a failed search reports -EBUSY instead of -ENOMEM (the first release between v6.13 and v6.17 is not pinned; the model switches at v6.17, the first tree read with it)",
  bracket: "absent in v6.12.0 (shilei-massclouds/linux-6.12, mm/cma.c: no available_count), present in v6.17.0 (busysteve/linux-6.17.0-rust-ported-c, a derivative, linux/mm/cma.c:cma_range_alloc: count > cma->available_count, ret = -EBUSY); loose: v6.13..v6.17, no tree in between was read",
});

/** A CMA area (struct cma with one range). */
export interface Cma {
  readonly name: string;
  /** Kernel release whose rules apply. */
  readonly kernel: string;
  /** Bytes per page. */
  readonly pageSize: number;
  /** First pfn of the area. */
  readonly basePfn: number;
  /** Pages in the area (cma->count). */
  readonly count: number;
  /** Pages per bitmap bit = 2^orderPerBit. */
  readonly orderPerBit: number;
  /** One entry per bit: 0 free, 1 allocated (cma_bitmap_maxno = count >> order_per_bit entries). */
  readonly bitmap: Uint8Array;
  /** Pages allocated (count minus cma->available_count). */
  allocatedPages: number;
  /** Pfns alloc_contig_range cannot migrate (model input: pinned or unmovable pages). */
  readonly busyPfns: Set<number>;
}

/**
 * Minimum alignment of a CMA area in bytes at a release (see the module note):
 * v5.19+: pageSize << pageblockOrder; before: pageSize << max(maxOrder - 1, pageblockOrder).
 * @param maxOrder the pre-v6.4 MAX_ORDER (ARM default 11, so MAX_ORDER - 1 = 10).
 * @param pageblockOrder ARM without HUGETLB_PAGE: MAX_ORDER - 1 = 10 (4 MiB with 4 KiB pages).
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function cmaMinAlignment(kernel: string, pageSize = 4096, pageblockOrder = 10, maxOrder = 11): number {
  parseKernelVersion(kernel);
  if (!Number.isSafeInteger(pageSize) || pageSize < 1 || !isPowerOf2(pageSize)) throw new ModelConfigError("cmaMinAlignment(pageSize)", pageSize, "a power of two (bytes)");
  checkInt("cmaMinAlignment(pageblockOrder)", pageblockOrder, 0, 30);
  checkInt("cmaMinAlignment(maxOrder)", maxOrder, 1, 30);
  if (atLeast(kernel, CMA_MIN_ALIGNMENT_PAGEBLOCK)) return pageSize * 2 ** pageblockOrder;
  return pageSize * 2 ** Math.max(maxOrder - 1, pageblockOrder);
}

/** Options of {@link cmaInitReservedMem}. */
export interface CmaInitOptions {
  /** Physical base, bytes. */
  base: number;
  /** Bytes. */
  size: number;
  name?: string;
  orderPerBit?: number;
  kernel: string;
  pageSize?: number;
  /** Minimum alignment in bytes; default {@link cmaMinAlignment}(kernel, pageSize). */
  minAlignment?: number;
}

/**
 * cma_init_reserved_mem(base, size, order_per_bit, name, &cma): turn an
 * already reserved range into a CMA area. Returns { ret: 0, cma } or the
 * kernel's { ret: -EINVAL, cma: null } when size is 0, base or size is not a
 * multiple of the minimum alignment, or that alignment is not a multiple of
 * 2^order_per_bit pages.
 * @throws ModelConfigError for non-integer or negative numbers, a bad kernel name.
 * Source: mm/cma.c cma_init_reserved_mem (v5.4.6, v6.19).
 */
export function cmaInitReservedMem(o: CmaInitOptions): { ret: 0; cma: Cma } | { ret: number; cma: null } {
  parseKernelVersion(o.kernel, "cmaInitReservedMem(kernel)");
  const pageSize = o.pageSize ?? 4096;
  if (!isPowerOf2(pageSize)) throw new ModelConfigError("cmaInitReservedMem(pageSize)", pageSize, "a power of two");
  checkInt("cmaInitReservedMem(base)", o.base);
  checkInt("cmaInitReservedMem(size)", o.size);
  const orderPerBit = o.orderPerBit ?? 0;
  if (!Number.isInteger(orderPerBit) || orderPerBit < 0 || orderPerBit > 20) {
    throw new ModelConfigError("cmaInitReservedMem(orderPerBit)", orderPerBit, "an integer 0..20");
  }
  const alignment = o.minAlignment ?? cmaMinAlignment(o.kernel, pageSize);
  if (!isPowerOf2(alignment) || alignment < pageSize) {
    throw new ModelConfigError("cmaInitReservedMem(minAlignment)", alignment, "a power of two >= pageSize");
  }
  if (o.size === 0) return { ret: -EINVAL, cma: null };
  if ((alignment / pageSize) % 2 ** orderPerBit !== 0) return { ret: -EINVAL, cma: null };
  if (o.base % alignment !== 0 || o.size % alignment !== 0) return { ret: -EINVAL, cma: null };
  const count = o.size / pageSize;
  return {
    ret: 0,
    cma: {
      name: o.name ?? "reserved",
      kernel: o.kernel,
      pageSize,
      basePfn: o.base / pageSize,
      count,
      orderPerBit,
      bitmap: new Uint8Array(Math.floor(count / 2 ** orderPerBit)),
      allocatedPages: 0,
      busyPfns: new Set<number>(),
    },
  };
}

/** cma_get_base: physical base, bytes. */
export function cmaGetBase(cma: Cma): number {
  return cma.basePfn * cma.pageSize;
}

/** cma_get_size: bytes. */
export function cmaGetSize(cma: Cma): number {
  return cma.count * cma.pageSize;
}

/**
 * Mark pfns that alloc_contig_range cannot migrate (pinned or unmovable
 * pages the buddy allocator placed in the area). Model input, no kernel
 * counterpart.
 * @throws ModelConfigError for pfns outside the area.
 */
export function cmaMarkBusy(cma: Cma, pfn: number, count: number, busy = true): void {
  checkInt("cmaMarkBusy(pfn)", pfn);
  checkInt("cmaMarkBusy(count)", count, 1);
  if (pfn < cma.basePfn || pfn + count > cma.basePfn + cma.count) {
    throw new ModelConfigError("cmaMarkBusy(pfn)", pfn, `pfns inside [${cma.basePfn}, ${cma.basePfn + cma.count})`);
  }
  for (let p = pfn; p < pfn + count; p++) {
    if (busy) cma.busyPfns.add(p);
    else cma.busyPfns.delete(p);
  }
}

/** Result of {@link cmaAlloc}. */
export interface CmaAllocResult {
  /** First pfn of the allocation, or null (the kernel's NULL page). */
  pfn: number | null;
  /** 0 on success; else the kernel's ret: -EBUSY after a busy range, otherwise -ENOMEM before v6.17 and -EBUSY from v6.17 (cma_range_alloc starts at -EBUSY). */
  ret: number;
  /** Candidate ranges tried (alloc_contig_range calls). */
  tries: number;
  /** Pfns of the candidates rejected with -EBUSY, in order. */
  busyRetries: number[];
}

/**
 * cma_alloc(cma, count, align, no_warn): `count` contiguous pages whose first
 * pfn is a multiple of 2^align (absolute pfn), first fit in the bitmap; null
 * when no free aligned run exists or every one contains a busy pfn.
 * @param count pages, >= 0 (0 returns null as the kernel does).
 * @param align order (PAGE_SIZE units), 0..30.
 * @throws ModelConfigError for bad numbers.
 * Source: mm/cma.c cma_alloc (v5.4.6), cma_range_alloc (v6.19).
 */
export function cmaAlloc(cma: Cma, count: number, align: number): CmaAllocResult {
  checkInt("cmaAlloc(count)", count);
  if (!Number.isInteger(align) || align < 0 || align > 30) throw new ModelConfigError("cmaAlloc(align)", align, "an order 0..30");
  const newer = atLeast(cma.kernel, CMA_RANGES);
  const res: CmaAllocResult = { pfn: null, ret: newer ? -EBUSY : -ENOMEM, tries: 0, busyRetries: [] };
  if (cma.count === 0 || count === 0) return res;
  const opb = 2 ** cma.orderPerBit;
  const mask = align <= cma.orderPerBit ? 0 : 2 ** (align - cma.orderPerBit) - 1;
  const offset = Math.floor((cma.basePfn % 2 ** align) / opb);
  const maxno = cma.bitmap.length;
  const bitmapCount = Math.ceil(count / opb);
  if (bitmapCount > maxno) return res;
  let start = 0;
  for (;;) {
    if (newer && count > cma.count - cma.allocatedPages) break;
    const bitmapNo = bitmapFindNextZeroAreaOff(cma.bitmap, maxno, start, bitmapCount, mask, offset);
    if (bitmapNo >= maxno) break;
    const pfn = cma.basePfn + bitmapNo * opb;
    res.tries++;
    let busy = false;
    for (let p = pfn; p < pfn + count; p++) {
      if (cma.busyPfns.has(p)) {
        busy = true;
        break;
      }
    }
    if (!busy) {
      cma.bitmap.fill(1, bitmapNo, bitmapNo + bitmapCount);
      cma.allocatedPages += count;
      res.pfn = pfn;
      res.ret = 0;
      return res;
    }
    res.ret = -EBUSY;
    res.busyRetries.push(pfn);
    start = bitmapNo + mask + 1;
  }
  return res;
}

/**
 * cma_release(cma, pages, count): free `count` pages from `pfn`. Returns
 * false (nothing changed) when pfn is outside the area, and from v5.17 also
 * when pfn + count runs past it.
 * @throws ModelConfigError before v5.17 for a range running past the end
 *   (a VM_BUG_ON in debug kernels, bitmap corruption otherwise).
 * @throws KernelOops when a page in the range is not allocated (the buddy
 *   allocator's "Bad page state" on free_contig_range); area unchanged.
 * Source: mm/cma.c cma_release (v5.4.6, v5.17, v6.19).
 */
export function cmaRelease(cma: Cma, pfn: number, count: number): boolean {
  checkInt("cmaRelease(pfn)", pfn);
  checkInt("cmaRelease(count)", count);
  const end = cma.basePfn + cma.count;
  if (atLeast(cma.kernel, CMA_PAGES_VALID)) {
    if (count > cma.count || pfn < cma.basePfn || pfn >= end || pfn + count > end) return false;
  } else {
    if (pfn < cma.basePfn || pfn >= end) return false;
    if (pfn + count > end) throw new ModelConfigError("cmaRelease(count)", count, `pfn + count <= ${end} (the area end)`);
  }
  if (count === 0) return true;
  const opb = 2 ** cma.orderPerBit;
  const bitNo = Math.floor((pfn - cma.basePfn) / opb);
  const bits = Math.ceil(count / opb);
  for (let i = bitNo; i < bitNo + bits; i++) {
    if (cma.bitmap[i] !== 1) throw new KernelOops("BUG: Bad page state (cma_release of pages that are not allocated)", pfn * cma.pageSize, ["free_contig_range", "cma_release"]);
  }
  cma.bitmap.fill(0, bitNo, bitNo + bits);
  cma.allocatedPages -= count;
  return true;
}

/** Free pages of the area (cma->available_count in v6.19; count minus allocated before). */
export function cmaAvailablePages(cma: Cma): number {
  return cma.count - cma.allocatedPages;
}

/**
 * Longest run of free bitmap bits, in pages: the largest request that could
 * still succeed with align 0 and no busy pages. A model measure for charts.
 */
export function cmaLargestFreeRun(cma: Cma): number {
  let best = 0;
  let cur = 0;
  for (let i = 0; i < cma.bitmap.length; i++) {
    cur = cma.bitmap[i] === 0 ? cur + 1 : 0;
    if (cur > best) best = cur;
  }
  return best * 2 ** cma.orderPerBit;
}
