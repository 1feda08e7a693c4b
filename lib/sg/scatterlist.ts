/**
 * Scatterlists: `struct scatterlist`, `struct sg_table` and the page-array
 * builders of lib/scatterlist.c (read at v6.19, matankalina/linux-6.19.10-fork),
 * plus the iteration helpers of include/linux/scatterlist.h.
 *
 * Model shape. The kernel chains fixed-size arrays of entries (SG_MAX_SINGLE_ALLOC
 * per kmalloc, the last slot of a full array becoming a chain link). The
 * model keeps the usable entries in one flat array `sgl` and tracks the
 * chaining only where it is visible: `totalNents` of the append table
 * (allocated entry slots, chain links excluded) follows get_next_sg()'s
 * accounting exactly.
 *
 * Pages are pfns (`Pfn`), with PAGE_SIZE given per call (default 4096):
 * the machine's page size. An entry without a struct page (a page-less
 * entry, as importers of some dma-bufs receive) has `pfn === null`;
 * {@link sgPhys} on it is a modelled crash ({@link KernelOops}).
 *
 * Lengths and offsets are C `unsigned int`s: the arithmetic the kernel does
 * in 32 bits is done here with {@link u32}.
 */
import { alignDown, checkInt, checkPowerOf2, u32 } from "../core/arith.js";
import { isIntIn, checkIntArg } from "../core/arg-checks.js";
import type { DmaAddr, PhysAddr, Pfn } from "../core/addr.js";
import { EINVAL, ENOMEM } from "../core/errno.js";
import { KernelOops, ModelConfigError } from "../core/errors.js";
import type { Trace } from "../core/trace.js";

/** UINT_MAX, the max_segment sg_alloc_table_from_pages() passes. */
export const UINT_MAX = 0xffffffff;

/**
 * SG_MAX_SINGLE_ALLOC for a 4 KiB page and a 32-byte struct scatterlist
 * (64-bit with CONFIG_NEED_SG_DMA_LENGTH): PAGE_SIZE / sizeof(struct
 * scatterlist) = 128 entries per chunk. Source: include/linux/scatterlist.h (v6.19).
 */
export const SG_MAX_SINGLE_ALLOC = 128;

/**
 * One `struct scatterlist` entry (include/linux/scatterlist.h, v6.19).
 * - `pfn`: the page (sg_page) as a pfn; null for a page-less entry.
 * - `offset`, `length`: bytes, unsigned int.
 * - `dmaAddress`, `dmaLength`: sg_dma_address / sg_dma_len, written by
 *   dma_map_sg (the IOMMU path also stashes values here while mapping).
 * - `isLast`: sg_is_last (the end marker).
 * - `dmaBusAddress`: the SG_DMA_BUS_ADDRESS flag (PCI P2P); not used by
 *   the cases modelled, kept false.
 */
export interface Scatterlist {
  pfn: Pfn | null;
  offset: number;
  length: number;
  dmaAddress: DmaAddr;
  dmaLength: number;
  isLast: boolean;
  dmaBusAddress: boolean;
}

/**
 * `struct sg_table`: `sgl` holds the entries (flattened over chain links),
 * `origNents` the number of CPU entries, `nents` the number of DMA-mapped
 * entries after dma_map_sg / dma_map_sgtable (before mapping, equal to
 * origNents as sg_alloc_table leaves it).
 */
export interface SgTable {
  sgl: Scatterlist[];
  nents: number;
  origNents: number;
}

/**
 * `struct sg_append_table` (v5.15+): the table, the last entry used so far
 * (`prv`, the index in `sgt.sgl`, or null), and `totalNents`, the number of
 * entry slots allocated (chain links not counted).
 */
export interface SgAppendTable {
  sgt: SgTable;
  prv: number | null;
  totalNents: number;
}

/** Options of the sg builders. */
export interface SgAllocOptions {
  /** PAGE_SIZE in bytes (default 4096). */
  pageSize?: number;
  /**
   * Allocation failure injection: the number of sg chunk allocations
   * (sg_kmalloc) that succeed before one fails with -ENOMEM. Default: never fail.
   */
  failAfterAllocs?: number;
  /**
   * Where to record the warning-level `sg_size_wrapped` event when `size`
   * is smaller than the pages cover and wraps (the caller's bug; see
   * {@link sgAllocAppendTableFromPages}). Usually the device's trace.
   */
  trace?: Trace;
  /** The caller named in that event (default "sg_alloc_append_table_from_pages"). */
  caller?: string;
}

/** A fresh, zeroed entry (sg_init_table). */
export function sgInitEntry(): Scatterlist {
  return { pfn: null, offset: 0, length: 0, dmaAddress: 0 as DmaAddr, dmaLength: 0, isLast: false, dmaBusAddress: false };
}

/** An empty table (what `struct sg_table sgt = {}` is). */
export function createSgTable(): SgTable {
  return { sgl: [], nents: 0, origNents: 0 };
}

/** An empty append table (`struct sg_append_table append = {}`). */
export function createSgAppendTable(): SgAppendTable {
  return { sgt: createSgTable(), prv: null, totalNents: 0 };
}

/**
 * sg_set_page(sg, page, len, offset).
 * @throws ModelConfigError for a length or offset outside unsigned int.
 */
export function sgSetPage(sg: Scatterlist, pfn: Pfn | null, len: number, offset: number): void {
  checkInt("sgSetPage(len)", len, 0, UINT_MAX);
  checkInt("sgSetPage(offset)", offset, 0, UINT_MAX);
  sg.pfn = pfn;
  sg.length = len;
  sg.offset = offset;
}

/**
 * Check the CPU fields of the first `nents` entries before a map call
 * changes anything: `nents` an integer in [1, sgl.length], each entry a
 * page (pfn an integer >= 0), offset and length integers in
 * [0, UINT_MAX] (unsigned int in struct scatterlist), and length >= `minLength`.
 * A driver can only write such values; other ones (NaN, fractions, a null
 * page) are misuse of the model.
 * @throws ModelConfigError naming `${fn}(sgl[i].field)` or `${fn}(nents)`;
 * KernelOops for a page-less entry (pfn null: sg_phys dereferences it).
 */
export function checkSgEntries(fn: string, sgl: readonly Scatterlist[], nents: number, minLength = 0): void {
  if (!Array.isArray(sgl) || sgl.length === 0) throw new ModelConfigError(`${fn}(sgl)`, sgl, "a non-empty array of scatterlist entries");
  checkIntArg(fn, "nents", nents, 1, sgl.length);
  for (let i = 0; i < nents; i++) {
    const s = sgl[i];
    if (!s || typeof s !== "object") throw new ModelConfigError(`${fn}(sgl[${i}])`, s, "a scatterlist entry");
    // sg_phys of a page-less entry: the kernel crashes on its first use (see sgPhys); reported before any change.
    if (s.pfn === null) throw new KernelOops(`Unable to handle kernel NULL pointer dereference (sg_page of page-less entry sgl[${i}] in ${fn})`, 0, ["sg_phys", fn]);
    // (the field names are built only for a value checkInt rejects: this runs per entry)
    if (!isIntIn(s.pfn)) checkInt(`${fn}(sgl[${i}].pfn)`, s.pfn);
    if (!isIntIn(s.offset, 0, UINT_MAX)) checkInt(`${fn}(sgl[${i}].offset)`, s.offset, 0, UINT_MAX);
    if (!isIntIn(s.length, minLength, UINT_MAX)) checkInt(`${fn}(sgl[${i}].length)`, s.length, minLength, UINT_MAX);
  }
}

/**
 * sg_phys(sg): page_to_phys(sg_page(sg)) + sg->offset, bytes.
 * @throws KernelOops for a page-less entry (sg_page returns NULL or a bogus
 * page; the model reports the crash the first dereference causes).
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function sgPhys(sg: Scatterlist, pageSize = 4096): PhysAddr {
  checkPowerOf2("sgPhys(pageSize)", pageSize);
  if (sg.pfn === null) {
    throw new KernelOops("Unable to handle kernel NULL pointer dereference (sg_page of a page-less entry)", 0, ["sg_phys"]);
  }
  return (sg.pfn * pageSize + sg.offset) as PhysAddr;
}

/** sg_dma_address(sg). */
export function sgDmaAddress(sg: Scatterlist): DmaAddr {
  return sg.dmaAddress;
}

/** sg_dma_len(sg), bytes. */
export function sgDmaLen(sg: Scatterlist): number {
  return sg.dmaLength;
}

/**
 * for_each_sg(sgl, sg, nents, i): call `fn(sg, i)` for the first `nents`
 * entries (the kernel follows sg_next; the model's list is flat).
 * @throws ModelConfigError if `nents` is negative or larger than the list.
 */
export function forEachSg(sgl: readonly Scatterlist[], nents: number, fn: (sg: Scatterlist, i: number) => void): void {
  checkInt("forEachSg(nents)", nents, 0, sgl.length);
  for (let i = 0; i < nents; i++) fn(sgl[i]!, i);
}

/** for_each_sgtable_sg(sgt, sg, i): every CPU entry (orig_nents). */
export function forEachSgtableSg(sgt: SgTable, fn: (sg: Scatterlist, i: number) => void): void {
  forEachSg(sgt.sgl, sgt.origNents, fn);
}

/**
 * for_each_sgtable_dma_sg(sgt, sg, i): every DMA segment (nents), to be read
 * with sg_dma_address / sg_dma_len. Source: include/linux/scatterlist.h (v5.8+).
 */
export function forEachSgtableDmaSg(sgt: SgTable, fn: (sg: Scatterlist, i: number) => void): void {
  forEachSg(sgt.sgl, sgt.nents, fn);
}

function pagesAreMergeable(a: Pfn, b: Pfn): boolean {
  // pages_are_mergeable(a, b): a directly follows b. zone-device pgmap checks are not modelled.
  return a === b + 1;
}

/**
 * sg_alloc_append_table_from_pages(sgt_append, pages, n_pages, offset, size,
 * max_segment, left_pages, gfp): append the pages (pfns) to the table,
 * merging physically contiguous pages into one entry while the entry stays
 * within max_segment.
 *
 * Rules (lib/scatterlist.c, v6.19):
 * 1. max_segment is rounded down to PAGE_SIZE; below PAGE_SIZE: -EINVAL.
 * 2. If the table has a previous entry (`prv`), `offset` must be 0 (else
 *    -EINVAL) and the leading pages that continue `prv` physically are added
 *    to it one page at a time while its length + PAGE_SIZE <= max_segment.
 * 3. The remaining pages are cut into chunks (a new chunk at a pfn
 *    discontinuity or when the running length reaches max_segment); each
 *    chunk becomes one entry of length min(size, chunk bytes - offset), the
 *    offset applying to the first chunk only.
 * 4. Entry slots come from get_next_sg(): a new array of
 *    min(needed, SG_MAX_SINGLE_ALLOC) slots when the current array is used
 *    up (its last slot kept for chaining unless exactly one entry is
 *    needed); chaining adds alloc - 1 to totalNents.
 * 5. On -ENOMEM the previous entry's length is restored.
 * 6. Without left_pages the last entry gets the end mark.
 * 7. `size` is an unsigned long the kernel never checks against the pages:
 *    each chunk subtracts its bytes from it. If `size` runs out before the
 *    last chunk, it wraps to almost 2^64, so every later entry gets its
 *    whole chunk (min(size, chunk) = chunk). The model does the same and
 *    records a warning-level `sg_size_wrapped` event in `opts.trace`: the
 *    caller passed more pages than `size` covers.
 *    Example (4 KiB pages, pfns 10, 20, 30, offset 0, size 5000): entries of
 *    4096 and 904 bytes, then size wraps and the third entry is 4096 bytes.
 *
 * Inputs the kernel cannot receive are rejected before any change: `nPages`
 * 0 (the kernel reads `pages[0]` unconditionally, beyond an empty array),
 * lengths and offsets outside unsigned int, non-integer pfns.
 *
 * @param pfns the pages; `nPages` of them are used.
 * @param offset byte offset into the first page (unsigned int).
 * @param size bytes described (unsigned long); the last entry is cut to it.
 * @param maxSegment largest entry, bytes (unsigned int).
 * @param leftPages pages the caller will still append (affects slot allocation and the end mark).
 * @returns 0, -EINVAL or -ENOMEM, as the kernel.
 * @throws ModelConfigError for out-of-range arguments (before any change).
 */
export function sgAllocAppendTableFromPages(
  sgtAppend: SgAppendTable,
  pfns: readonly Pfn[],
  nPages: number,
  offset: number,
  size: number,
  maxSegment: number,
  leftPages: number,
  opts: SgAllocOptions = {},
): number {
  const pageSize = checkPowerOf2("pageSize", opts.pageSize ?? 4096, 4096, 65536);
  if (pfns.length === 0) throw new ModelConfigError("pfns", pfns, "a non-empty array of pfns (the kernel reads pages[0] unconditionally)");
  checkInt("nPages", nPages, 1, Math.min(UINT_MAX, pfns.length));
  checkInt("offset", offset, 0, UINT_MAX);
  checkInt("size", size);
  checkInt("maxSegment", maxSegment, 0, UINT_MAX);
  checkInt("leftPages", leftPages, 0, UINT_MAX);
  for (let i = 0; i < nPages; i++) checkInt(`pfns.${i}`, pfns[i]!);
  let allocsLeft = opts.failAfterAllocs ?? Infinity;

  const maxSeg = alignDown(maxSegment, pageSize);
  if (maxSeg < pageSize) return -EINVAL; // WARN_ON in the kernel
  const table = sgtAppend.sgt;
  let pages = pfns.slice(0, nPages);
  let prvLen = 0;
  let s: number | null = sgtAppend.prv;

  if (sgtAppend.prv !== null) {
    if (offset !== 0) return -EINVAL; // WARN_ON(offset)
    const prv = table.sgl[sgtAppend.prv]!;
    prvLen = prv.length;
    const nextPfn = Math.floor((sgPhys(prv, pageSize) + prvLen) / pageSize);
    if (pages.length > 0 && pages[0] === nextPfn) {
      let last = (nextPfn - 1) as Pfn;
      while (pages.length > 0 && pagesAreMergeable(pages[0]!, last)) {
        if (prv.length + pageSize > maxSeg) break;
        prv.length = u32(prv.length + pageSize);
        last = pages[0]!;
        pages = pages.slice(1);
      }
      if (pages.length === 0) {
        if (!leftPages) markEnd(table, s!);
        return 0;
      }
    }
  }

  const n = pages.length;
  // Count the chunks.
  let chunks = 1;
  let segLen = 0;
  for (let i = 1; i < n; i++) {
    segLen = u32(segLen + pageSize);
    if (segLen >= maxSeg || !pagesAreMergeable(pages[i]!, pages[i - 1]!)) {
      chunks++;
      segLen = 0;
    }
  }

  let curPage = 0;
  let added = 0;
  // `size` is an unsigned long: once a chunk takes more than is left, it
  // wraps to about 2^64 and every later entry gets its whole chunk (rule 7).
  let remaining = size;
  let wrapped = false;
  let off = offset;
  for (let i = 0; i < chunks; i++) {
    let j = curPage + 1;
    segLen = 0;
    for (; j < n; j++) {
      segLen = u32(segLen + pageSize);
      if (segLen >= maxSeg || !pagesAreMergeable(pages[j]!, pages[j - 1]!)) break;
    }
    // get_next_sg(table, s, chunks - i + left_pages)
    const needed = chunks - i + leftPages;
    const next = getNextSg(sgtAppend, s, needed, () => allocsLeft-- > 0);
    if (next === null) {
      if (sgtAppend.prv !== null) table.sgl[sgtAppend.prv]!.length = prvLen;
      return -ENOMEM;
    }
    s = next;
    const chunkSize = u32((j - curPage) * pageSize - off);
    const e = table.sgl[s]!;
    sgSetPage(e, pages[curPage]!, wrapped ? chunkSize : Math.min(remaining, chunkSize), off);
    added++;
    if (!wrapped && remaining < chunkSize && i < chunks - 1) {
      wrapped = true;
      opts.trace?.record({
        fn: opts.caller ?? "sg_alloc_append_table_from_pages",
        kind: "sg_size_wrapped",
        level: "warn",
        msg: `size ${size} covers less than the ${n} pages passed: size wraps after entry ${i} and the ${chunks - 1 - i} later entries get whole chunks (caller's bug: pass only the pages size covers)`,
        data: { size, nPages: n, entry: i, chunks },
      });
    } else if (!wrapped) {
      remaining -= chunkSize;
    }
    off = 0;
    curPage = j;
  }
  table.nents += added;
  table.origNents = table.nents;
  sgtAppend.prv = s;
  if (!leftPages && s !== null) markEnd(table, s);
  return 0;
}

function markEnd(table: SgTable, idx: number): void {
  for (let i = 0; i < table.sgl.length; i++) table.sgl[i]!.isLast = i === idx;
}

/**
 * get_next_sg(): the slot after `cur`, or a newly allocated array. In the
 * flat model the slots 0..totalNents-1 exist; slot k is the last of its
 * array when k === totalNents - 1 (the kernel's sg_is_last on the unused
 * slot: sg_init_table marks the end of each fresh array).
 * @returns the new slot index, or null on allocation failure.
 */
function getNextSg(t: SgAppendTable, cur: number | null, needed: number, canAlloc: () => boolean): number | null {
  if (cur !== null) {
    const next = cur + 1;
    if (next < t.totalNents - 1 || (next === t.totalNents - 1 && needed === 1)) return next;
  }
  const alloc = Math.min(needed, SG_MAX_SINGLE_ALLOC);
  if (!canAlloc()) return null;
  if (cur !== null) {
    // The old array's last slot becomes the chain link: it is not usable.
    t.totalNents += alloc - 1;
    while (t.sgt.sgl.length < t.totalNents) t.sgt.sgl.push(sgInitEntry());
    return cur + 1;
  }
  t.totalNents = alloc;
  t.sgt.sgl = [];
  for (let k = 0; k < alloc; k++) t.sgt.sgl.push(sgInitEntry());
  return 0;
}

/**
 * sg_alloc_table_from_pages_segment(sgt, pages, n_pages, offset, size,
 * max_segment, gfp) (v5.15+ name; __sg_alloc_table_from_pages in
 * v4.15..v5.14): build a fresh table from the pages with segments of at
 * most max_segment bytes. On error the partial table is freed.
 * @returns 0, -EINVAL (max_segment below PAGE_SIZE after rounding down) or -ENOMEM.
 * @throws ModelConfigError for out-of-range arguments.
 * Source: lib/scatterlist.c, sg_alloc_table_from_pages_segment (v6.19).
 */
export function sgAllocTableFromPagesSegment(
  sgt: SgTable,
  pfns: readonly Pfn[],
  nPages: number,
  offset: number,
  size: number,
  maxSegment: number,
  opts: SgAllocOptions = {},
): number {
  const append = createSgAppendTable();
  const err = sgAllocAppendTableFromPages(append, pfns, nPages, offset, size, maxSegment, 0, opts);
  if (err) {
    sgFreeTable(append.sgt);
    return err;
  }
  // The model keeps only the used slots (the kernel's unused slots are never iterated).
  sgt.sgl = append.sgt.sgl.slice(0, append.sgt.origNents);
  sgt.nents = append.sgt.nents;
  sgt.origNents = append.sgt.origNents;
  return 0;
}

/**
 * sg_alloc_table_from_pages(sgt, pages, n_pages, offset, size, gfp): the
 * wrapper with max_segment = UINT_MAX (rounded down to 0xfffff000 with
 * 4 KiB pages). v4.4's version had no segment limit at all; for the sizes
 * the model handles (< 4 GiB per entry) the result is the same.
 * @returns 0 or -ENOMEM.
 * Source: include/linux/scatterlist.h, sg_alloc_table_from_pages (v6.19);
 * lib/scatterlist.c (v4.4).
 */
export function sgAllocTableFromPages(
  sgt: SgTable,
  pfns: readonly Pfn[],
  nPages: number,
  offset: number,
  size: number,
  opts: SgAllocOptions = {},
): number {
  return sgAllocTableFromPagesSegment(sgt, pfns, nPages, offset, size, UINT_MAX, opts);
}

/**
 * sg_free_table(sgt): release the entries; the table is empty afterwards.
 * Source: lib/scatterlist.c (v6.19).
 */
export function sgFreeTable(sgt: SgTable): void {
  sgt.sgl = [];
  sgt.nents = 0;
  sgt.origNents = 0;
}

/**
 * Build a table with one entry per given (pfn, offset, length), as a driver
 * filling entries with sg_set_page would. Model helper.
 * @throws ModelConfigError for bad entries.
 */
export function sgTableFromEntries(entries: ReadonlyArray<{ pfn: Pfn | null; offset: number; length: number }>): SgTable {
  if (entries.length === 0) throw new ModelConfigError("entries", entries, "at least one entry");
  const sgl = entries.map((e, i) => {
    const s = sgInitEntry();
    // (field names are built only for a value the check rejects: a dma_alloc_noncontiguous table has an entry per page)
    if (e.pfn !== null && !isIntIn(e.pfn)) checkInt(`entries.${i}.pfn`, e.pfn);
    if (!isIntIn(e.length, 0, UINT_MAX)) checkInt(`entries.${i}.length`, e.length, 0, UINT_MAX);
    if (!isIntIn(e.offset, 0, UINT_MAX)) checkInt(`entries.${i}.offset`, e.offset, 0, UINT_MAX);
    sgSetPage(s, e.pfn, e.length, e.offset);
    return s;
  });
  sgl[sgl.length - 1]!.isLast = true;
  return { sgl, nents: sgl.length, origNents: sgl.length };
}
