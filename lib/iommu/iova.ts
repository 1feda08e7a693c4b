/**
 * The IOVA allocator of the IOMMU DMA layer: the rbtree range allocator of
 * drivers/iommu/iova.c, newest mainline (read at v6.19: the import
 * matankalina/linux-6.19.10-fork, Makefile 6.19, blob
 * 18f83972181362dd50b435ebac696d87d6974d26 of drivers/iommu/iova.c and
 * d2c4fd923efabcb61f6a8d6e190cbea6b8dda37a of include/linux/iova.h), and
 * per release from v4.4 on: `initIovaDomain(granule, startPfn, { kernel })`
 * makes allocIova/freeIova/reserveIova/findIova follow that release's
 * iova.c. The switches, each boundary bracketed by two real trees, are the
 * table of lib/iommu/iova-release.ts; in short:
 * - v4.4 .. v4.14: no anchor, no cached_node, pfn_32bit given at init;
 *   cached32_node used only when limit_pfn == pfn_32bit (v4.10: any limit
 *   at or below it, with the defect of topping at cached32's pfn_lo above a
 *   lower limit); the walk never hands out start_pfn itself before v4.13.
 * - v4.15 .. v4.19: anchor and both cached nodes, no max32 fast fail, no
 *   retry pass; defect: a freed cached32_node ending at or above 4 GiB stays
 *   cached (stale) until v5.3 ("iommu/iova: Remove stale cached32_node").
 * - v5.0 .. v5.10: max32_alloc_size fast fail (v5.0 also storing on the fast
 *   path), reset only when a free moves cached32_node; no retry pass.
 * - v5.11 .. v6.1: retry pass above the start node; defect: retry_pfn =
 *   pfn_hi + 1 wraps to 0 for the anchor, so a retry from the anchor accepts
 *   pfns below start_pfn (fixed by "iommu/iova: Fix alloc iova overflows
 *   issue", in 6.2.12, not in 6.1-rc7). From v5.18 any free below 4 GiB
 *   resets max32_alloc_size.
 * - v6.2 .. v6.19: the current code (the newest path, the fast one).
 * Older releases share the block-index search: only the start node, the
 * top, the low bound and the cached-node updates differ, so every release
 * is placement-exact at the same speed.
 *
 * What is modelled, placement-exact:
 * - `init_iova_domain()`: granule, start_pfn, dma_32bit_pfn, the two cached
 *   nodes, max32_alloc_size and the anchor node that sits above every pfn.
 * - `alloc_iova()` / `__alloc_and_insert_iova_range()`: the top-down search
 *   below the limit that starts at the cached node (cached32_node for limits
 *   at or below 4 GiB), the size alignment to roundup_pow_of_two(size), the
 *   32-bit fast fail through max32_alloc_size, the one retry pass over the
 *   space above the cached node, and the cached-node update on insert.
 * - `free_iova()` / `find_iova()` / `__cached_rbnode_delete_update()`.
 * - `reserve_iova()` with its overlap handling (`__is_range_overlap()`,
 *   `__adjust_overlap_range()`, `__insert_new_range()`).
 * - `put_iova_domain()` and the inline helpers of include/linux/iova.h.
 *
 * Left out: the per-CPU range caches (`alloc_iova_fast()` / magazines, v4.7)
 * and the flush queue; the `best_fit` mode some vendor trees carry is not
 * mainline.
 *
 * Data structure. The kernel walks `rb_prev()` from the cached node one
 * node at a time until a gap fits, which costs about 1,600 steps per
 * allocation on the benchmark workload (docs: shared/reference/iova-workload.md).
 * The model keeps the same set of ranges as one sorted sequence cut into
 * blocks of at most 32 ranges (pfn_lo and pfn_hi in two Float64Arrays per
 * block; full blocks split in halves, nearly empty ones merge with a
 * neighbour). The free gap below a range, down to the range before it
 * (possibly the last range of the previous block) or to pfn 0, belongs to
 * the range's block. Each block keeps caps[k], k = 0..6: the largest size
 * that fits at a start aligned to 2^k in one of its gaps. These are exact
 * or upper bounds: a merge of two gaps raises them exactly; when a gap that
 * reaches a maximum is split (insert), shrunk (reserve) or lost to the next
 * block (free), the block is only marked stale, and it is recounted when a
 * search is sent to it and finds nothing there. The domain also keeps, per
 * order, a contiguous column of the blocks' caps and an array of each
 * block's first pfn_lo (for a binary search by pfn).
 * The walk's answer is "the first gap, going down from the start node, whose
 * size-aligned top candidate lies above the range below it", and because
 * the walk's candidate only ever decreases the walk's stop conditions reduce
 * to that first fitting gap (see {@link allocIova}); the model finds it by
 * checking the gaps of the start block one by one with the kernel's own
 * arithmetic, then scanning the column of the request's order downwards for
 * the next block whose cap is at least the size, and checking that block's
 * gaps the same way (a stale cap only costs that extra block check).
 * Alignments above 2^6 use the 2^6 column as a necessary condition and are
 * decided gap by gap. Nodes are identified by pfn_lo (unique: ranges never
 * overlap), so the cached nodes are kept as (pfn_lo, pfn_hi) pairs, with a
 * checked hint of the start node's position.
 * The index, with all its search state, is the IovaBlockIndex class of
 * lib/iommu/iova-blocks.ts, one instance per domain (`_ix`).
 * The test file checks op by op against a literal linear walk.
 *
 * Units: every pfn and size here is an IOVA pfn, i.e. a count of
 * granule-sized IOVA pages (not CPU pages). All arithmetic is exact on JS
 * numbers below 2^53; no bitwise operator touches a pfn, size or mask.
 */
import { MAX_ADDR, SZ_4G, alignDown, alignUp, checkInt, checkPowerOf2, ilog2 } from "../core/arith.js";
import { ModelConfigError } from "../core/errors.js";
import { IovaBlockIndex, TOP_ORDER } from "./iova-blocks.js";
import { iovaRelease, type IovaRelease } from "./iova-release.js";

/**
 * IOVA_ANCHOR: the kernel's anchor node has pfn_lo = pfn_hi = ~0UL, above
 * every usable pfn. The model uses 2^64 (~0UL rounded to the nearest double):
 * it is above every model pfn (< 2^53) and is never a valid allocation.
 * Source: drivers/iommu/iova.c, IOVA_ANCHOR (v6.19).
 */
export const IOVA_ANCHOR = 2 ** 64;

/** Largest IOVA granule the model accepts: 64 KiB, the largest PAGE_SIZE of the modelled arches (init_iova_domain BUG_ONs granule > PAGE_SIZE). */
export const IOVA_MAX_GRANULE = 65536;

/** The switches of the newest modelled release: what a domain follows when initIovaDomain gets no `kernel`. */
const NEWEST: IovaRelease = iovaRelease("v6.19");

/** Options of {@link initIovaDomain}. */
export interface IovaDomainOptions {
  /** Release name accepted by parseKernelVersion ("v4.4", "v5.10", "v6.19"); default the newest modelled, v6.19. */
  readonly kernel?: string;
  /**
   * pfn_32bit, init_iova_domain()'s fourth argument before v4.15: the
   * limit_pfn (inclusive) that counts as "32-bit" for cached32_node, an
   * integer in [0, maxPfn]. Default 2^32 / granule - 1 (what intel-iommu's
   * DMA_32BIT_PFN is for 4 KiB pages). Rejected from v4.15 on (the argument
   * is gone; dma_32bit_pfn is 2^32 / granule).
   */
  readonly pfn32bit?: number;
}

/**
 * An allocated or reserved IOVA range, inclusive on both ends, in IOVA pfns
 * (granule-sized pages). Mirrors `struct iova` (include/linux/iova.h, v6.19):
 * `pfnLo` is the lowest pfn, `pfnHi` the highest. The anchor node reads
 * `{ pfnLo: IOVA_ANCHOR, pfnHi: IOVA_ANCHOR }`.
 */
export interface IovaRange {
  readonly pfnLo: number;
  readonly pfnHi: number;
}

/**
 * An IOVA domain: `struct iova_domain` (include/linux/iova.h, v6.19) without
 * the rcaches. Build one with {@link initIovaDomain}; change it only through
 * the functions of this module. The public fields are read-only snapshots.
 */
export class IovaDomain {
  /** IOVA page size, bytes (a power of two in [1, 65536]). */
  readonly granule: number;
  /** Lowest pfn the allocator hands out (start_pfn), >= 1. */
  readonly startPfn: number;
  /**
   * dma_32bit_pfn as the kernel stores it. From v4.15: 2^32 / granule, the
   * first IOVA pfn at or above 4 GiB. Before: the init argument pfn_32bit
   * (v4.4 .. v4.12) or pfn_32bit + 1 (v4.13, v4.14).
   */
  readonly dma32PfnLimit: number;
  /** The release whose drivers/iommu/iova.c this domain follows ("v6.19" by default). */
  readonly kernel: string;
  /** pfn_32bit, the init argument of releases before v4.15 (a limit_pfn, inclusive); null from v4.15 on. */
  readonly pfn32bit: number | null;
  /** @internal the release switches (lib/iommu/iova-release.ts). */
  readonly _rel: IovaRelease;
  /** Highest pfn the model represents in this domain: floor((2^53 - 1) / granule), so pfn * granule stays below 2^53. */
  readonly maxPfn: number;
  /** @internal the ranges (anchor included) in the block index, with its search state (lib/iommu/iova-blocks.ts). Empty once put. */
  readonly _ix: IovaBlockIndex;
  /** @internal cached_node as (pfn_lo, pfn_hi): pfn_lo names the node (ranges never overlap). */
  _cachedLo = IOVA_ANCHOR;
  /** @internal */
  _cachedHi = IOVA_ANCHOR;
  /** @internal cached32_node as (pfn_lo, pfn_hi). */
  _cached32Lo = IOVA_ANCHOR;
  /** @internal */
  _cached32Hi = IOVA_ANCHOR;
  /** @internal max32_alloc_size */
  _max32: number;
  /** @internal number of ranges, anchor excluded */
  _count = 0;
  /** @internal set by putIovaDomain */
  _dead = false;

  /** @internal use {@link initIovaDomain}. */
  constructor(granule: number, startPfn: number, rel: IovaRelease = NEWEST, pfn32bit: number | null = null) {
    this.granule = granule;
    this.startPfn = startPfn;
    this._rel = rel;
    this.kernel = rel.name;
    this.pfn32bit = rel.rework ? null : pfn32bit;
    if (rel.rework || this.pfn32bit === null) this.dma32PfnLimit = SZ_4G / granule;
    else this.dma32PfnLimit = rel.exclusiveLimit ? this.pfn32bit + 1 : this.pfn32bit;
    this.maxPfn = Math.floor(MAX_ADDR / granule);
    this._ix = new IovaBlockIndex(IOVA_ANCHOR);
    this._max32 = this.dma32PfnLimit;
  }

  /** cached_node: where searches with a limit above 4 GiB start (a snapshot of the node's range; the anchor reads IOVA_ANCHOR). Before v4.15 there is no cached_node: it reads the anchor. */
  get cachedNode(): IovaRange {
    return snap(this._cachedLo, this._cachedHi);
  }
  /** cached32_node: where searches with a limit at or below 4 GiB start (snapshot). Before v4.15 a NULL cached32_node reads as the anchor (the walk then starts at rb_last(), which is what starting at the anchor does). From v4.15 to v5.2 it may name a freed range (the stale-node defect). */
  get cached32Node(): IovaRange {
    return snap(this._cached32Lo, this._cached32Hi);
  }
  /** max32_alloc_size, IOVA pfns: allocations at or below 4 GiB of this size or more fail at once. Reset to dma32PfnLimit by a free below 4 GiB. Before v5.0 the kernel has no such field: it reads dma32PfnLimit and is never consulted. */
  get max32AllocSize(): number {
    return this._max32;
  }
  /** The anchor node, `{ pfnLo: IOVA_ANCHOR, pfnHi: IOVA_ANCHOR }`. */
  get anchor(): IovaRange {
    return snap(IOVA_ANCHOR, IOVA_ANCHOR);
  }
  /** Number of allocated or reserved ranges (the anchor not counted). */
  get count(): number {
    return this._count;
  }
  /** True after {@link putIovaDomain}: the domain may no longer be used. */
  get isPut(): boolean {
    return this._dead;
  }
}

function snap(lo: number, hi: number): IovaRange {
  return { pfnLo: lo, pfnHi: hi };
}


function checkLive(iovad: IovaDomain, fn: string): void {
  if (!(iovad instanceof IovaDomain)) {
    throw new ModelConfigError(`${fn}(iovad)`, iovad, "an IovaDomain from initIovaDomain()");
  }
  if (iovad._dead) {
    throw new ModelConfigError(`${fn}(iovad)`, "a domain passed to putIovaDomain()", "a live IovaDomain (put_iova_domain frees every node)");
  }
}

/** Largest size allocIova accepts in `iovad`: the pfns from startPfn to maxPfn, capped at 2^52. */
function maxAllocSize(iovad: IovaDomain): number {
  return Math.min(2 ** 52, iovad.maxPfn - iovad.startPfn + 1);
}

/**
 * alloc_iova() of v4.4 .. v4.14 (before the v4.15 rework), after input checks.
 *
 * The kernel walks down from rb_last(), or from rb_prev(cached32_node) with
 * cached32's pfn_lo as the top when the limit qualifies (limit_pfn ==
 * pfn_32bit; v4.10 on any limit_pfn <= pfn_32bit, the top then ignoring a
 * lower caller limit). Passing node N with top T: nodes starting at or above
 * T are skipped, a node reaching T lowers T to N.pfn_lo, and a node ending
 * below T takes the range if alignDown(T - size) (its `pad_size`) lies above
 * N.pfn_hi, else T drops to N.pfn_lo. That is the same first fit as the
 * block-index walk, with no start_pfn test for gaps above a node; only the
 * gap below the lowest node (the `!curr` case) needs
 * candidate >= start_pfn + 1 (v4.4 .. v4.12, inclusive arithmetic) or
 * >= start_pfn (v4.13, v4.14).
 * Before v4.12 a node at pfn 0 (or a cached32_node at pfn 0 before v4.13)
 * makes `pfn_lo - 1` wrap to ~0UL and the kernel hands out a range at the
 * top of the 64-bit space; the model cannot represent that and throws.
 * Source: drivers/iommu/iova.c, __alloc_and_insert_iova_range(),
 * __get_cached_rbnode(), iova_get_pad_size(), __cached_rbnode_insert_update()
 * (v4.4.1, v4.10.17, v4.12.0, v4.13.9, v4.14.177).
 */
function allocIovaPre415(iovad: IovaDomain, size: number, limitPfn: number, sizeAligned: boolean, align: number, order: number): IovaRange | null {
  const rel = iovad._rel;
  const pfn32 = iovad.pfn32bit!;
  if (sizeAligned && size > 2 ** 31) {
    throw new ModelConfigError("allocIova(size)", size, `at most 2^31 for a size-aligned allocation in ${rel.name} (iova_get_pad_size() takes an unsigned int)`);
  }
  const cached = iovad._cached32Lo !== IOVA_ANCHOR;
  const useCached = cached && (rel.cached32AnyLimit ? limitPfn <= pfn32 : limitPfn === pfn32);
  const ix = iovad._ix;
  const startLo = useCached ? iovad._cached32Lo : IOVA_ANCHOR;
  const top = useCached ? iovad._cached32Lo : limitPfn + 1;
  if (useCached && top === 0 && !rel.exclusiveLimit) throw wrapError(rel);
  const lo = ix.walk(startLo, top, size, align, order, 0);
  if (lo < 0) {
    // No fit above any node: the walk went down past every node below the top.
    if (!rel.clampLoUnderflow && ix.floorPos(0) && ix.blocks[ix.posB]!.lo[ix.posJ] === 0) throw wrapError(rel);
    return null;
  }
  // The gap below the lowest node is the kernel's `!curr` case, checked against start_pfn.
  if (ix.foundB === 0 && ix.foundJ === 0 && lo < iovad.startPfn + (rel.exclusiveLimit ? 0 : 1)) return null;
  const hi = lo + size - 1;
  ix.insertBefore(ix.foundB, ix.foundJ, lo, hi);
  iovad._count++;
  if (limitPfn === pfn32) {
    iovad._cached32Lo = lo;
    iovad._cached32Hi = hi;
  }
  return snap(lo, hi);
}

function wrapError(rel: IovaRelease): ModelConfigError {
  return new ModelConfigError(
    "allocIova(iovad)",
    `a ${rel.name} domain whose walk reaches a range at pfn 0`,
    "no range at pfn 0 before v4.12 (the kernel's pfn_lo - 1 wraps to ~0UL and it allocates at the top of the 64-bit space, which the model cannot hold)",
  );
}

// ---------------------------------------------------------------------------
// Public API

/**
 * init_iova_domain(iovad, granule, start_pfn): an empty domain holding only
 * the anchor; both cached nodes point at the anchor; dma_32bit_pfn =
 * 2^32 / granule (the kernel's 1UL << (32 - iova_shift)); max32_alloc_size
 * starts at dma_32bit_pfn.
 *
 * @param granule IOVA page size in bytes: a power of two in [1, 65536]
 *   (the kernel BUG_ONs on a granule above PAGE_SIZE or not a power of two).
 * @param startPfn lowest IOVA pfn to hand out, in [1, maxPfn] where
 *   maxPfn = floor((2^53 - 1) / granule). The kernel has no check here, but
 *   its walk treats pfn 0 as "no room" (its IOMMU-DMA callers pass >= 1).
 * @param options `kernel`: the release whose allocator to follow (default
 *   v6.19, the newest modelled); `pfn32bit`: the pre-v4.15 init argument
 *   (see {@link IovaDomainOptions}). Before v4.15 the domain has no anchor
 *   and no cached_node, cached32_node starts NULL and dma_32bit_pfn comes
 *   from pfn_32bit; the model still keeps its anchor internally (it sits
 *   above every limit, so no walk ever reaches it) and reports it.
 * @throws ModelConfigError naming the parameter and its allowed range.
 * Source: drivers/iommu/iova.c, init_iova_domain() (v4.4, v4.13, v4.15, v6.19;
 * the per-release table is in lib/iommu/iova-release.ts).
 */
export function initIovaDomain(granule: number, startPfn: number, options?: IovaDomainOptions): IovaDomain {
  checkPowerOf2("initIovaDomain(granule)", granule, 1, IOVA_MAX_GRANULE);
  const maxPfn = Math.floor(MAX_ADDR / granule);
  checkInt("initIovaDomain(startPfn)", startPfn, 1, maxPfn);
  if (options === undefined) return new IovaDomain(granule, startPfn);
  if (typeof options !== "object" || options === null) {
    throw new ModelConfigError("initIovaDomain(options)", options, "undefined or { kernel?, pfn32bit? }");
  }
  const rel = options.kernel === undefined ? NEWEST : iovaRelease(options.kernel, "initIovaDomain(options.kernel)");
  let pfn32bit: number | null = null;
  if (options.pfn32bit !== undefined) {
    if (rel.rework) {
      throw new ModelConfigError(
        "initIovaDomain(options.pfn32bit)",
        options.pfn32bit,
        `no pfn32bit for ${rel.name}: init_iova_domain() lost that argument in v4.15 (dma_32bit_pfn = 2^32 / granule)`,
      );
    }
    checkInt("initIovaDomain(options.pfn32bit)", options.pfn32bit, 0, maxPfn);
    pfn32bit = options.pfn32bit;
  } else if (!rel.rework) {
    pfn32bit = SZ_4G / granule - 1;
  }
  return new IovaDomain(granule, startPfn, rel, pfn32bit);
}

/**
 * alloc_iova(iovad, size, limit_pfn, size_aligned): allocate `size`
 * contiguous IOVA pfns at or below `limitPfn`, top-down, exactly where the
 * kernel's `__alloc_and_insert_iova_range()` puts them:
 *
 * 1. limit = limitPfn + 1 (the kernel passes limit_pfn + 1 down). With
 *    `sizeAligned`, the start is aligned to 2^fls(size - 1), i.e.
 *    roundup_pow_of_two(size) (size 3 -> 4, size 5 -> 8, size 1 -> 1).
 * 2. If limit <= dma_32bit_pfn and size >= max32_alloc_size: fail at once.
 * 3. Start at cached32_node (limit <= dma_32bit_pfn) or cached_node and walk
 *    down: the first gap whose size-aligned top candidate
 *    alignDown(min(limit, upper.pfn_lo) - size) lies above the range below
 *    it wins, if the candidate is >= startPfn.
 * 4. If that fails and the start node's pfn_hi is below the limit, retry
 *    once from the top (v6.19 restarts at iova_find_limit(), older releases
 *    at the anchor: both pass the ranges above the limit without a fit, so
 *    placement is the same), accepting only candidates above that pfn_hi.
 * 5. On failure max32_alloc_size = size (whatever the limit) and null is
 *    returned; on success the new range becomes cached32_node if its pfn_hi
 *    is below dma_32bit_pfn, else cached_node.
 *
 * Per release (domain's `kernel`, see lib/iommu/iova-release.ts): step 2
 * exists from v5.0 (and in v5.0 also stores size), step 4 from v5.11
 * (v5.11 .. v6.1: retry_pfn = pfn_hi + 1, low = retry_pfn, and the anchor's
 * pfn_hi + 1 wraps to 0); before v5.3 a stale cached32_node tops the walk at
 * its pfn_lo. Before v4.15 see allocIovaPre415 in this file: no anchor,
 * cached32_node only, inclusive limits before v4.13, and a size-aligned
 * `size` is limited to 2^31 (iova_get_pad_size() takes an unsigned int).
 *
 * @param size IOVA pfns, an integer in [1, min(2^52, maxPfn - startPfn + 1)].
 * @param limitPfn highest usable IOVA pfn (inclusive), in [startPfn, maxPfn].
 * @param sizeAligned align the start to roundup_pow_of_two(size).
 * @returns the new range `{ pfnLo, pfnHi }` (pfnHi = pfnLo + size - 1), or
 *   null when the kernel returns NULL (no room below the limit, or the
 *   max32 fast fail).
 * @throws ModelConfigError for bad input, before any state change.
 * @throws ModelConfigError before v4.12 when the walk would pass a range at
 *   pfn 0 (the kernel's pfn_lo - 1 wraps and it allocates near 2^64).
 * Source: drivers/iommu/iova.c, alloc_iova(), __alloc_and_insert_iova_range(),
 * __get_cached_rbnode(), __cached_rbnode_insert_update(), iova_find_limit()
 * (v6.19; older releases as listed in lib/iommu/iova-release.ts).
 */
export function allocIova(iovad: IovaDomain, size: number, limitPfn: number, sizeAligned: boolean): IovaRange | null {
  checkLive(iovad, "allocIova");
  // Fast path for valid input; checkInt raises the error otherwise.
  if (!(Number.isSafeInteger(size) && size >= 1 && size <= maxAllocSize(iovad))) {
    checkInt("allocIova(size)", size, 1, maxAllocSize(iovad));
  }
  if (!(Number.isSafeInteger(limitPfn) && limitPfn >= iovad.startPfn && limitPfn <= iovad.maxPfn)) {
    checkInt("allocIova(limitPfn)", limitPfn, iovad.startPfn, iovad.maxPfn);
  }
  if (typeof sizeAligned !== "boolean") {
    throw new ModelConfigError("allocIova(sizeAligned)", sizeAligned, "true or false");
  }
  const limit = limitPfn + 1;
  // align = 2^fls(size - 1) = roundup_pow_of_two(size) when size-aligned; order = min(log2 align, 6).
  let align = 1;
  let order = 0;
  if (sizeAligned) {
    let e = 0;
    while (align < size) {
      align *= 2;
      e++;
    }
    order = Math.min(TOP_ORDER, e);
  }
  const rel = iovad._rel;
  if (!rel.rework) return allocIovaPre415(iovad, size, limitPfn, sizeAligned, align, order);
  const dma32 = iovad.dma32PfnLimit;
  if (rel.max32 && limit <= dma32 && size >= iovad._max32) {
    // v5.0 stored size on this path too (iova32_full); v5.1 on leaves it.
    if (rel.max32FastFailStores) iovad._max32 = size;
    return null;
  }

  const use32 = limit <= dma32;
  const startLo = use32 ? iovad._cached32Lo : iovad._cachedLo;
  const startHi = use32 ? iovad._cached32Hi : iovad._cachedHi;
  const ix = iovad._ix;
  let top = limit;
  if (!rel.cached32FreedFix && use32 && startLo < limit && !ix.isLo(startLo)) {
    // v4.15 .. v5.2: cached32_node may be a freed node. The walk still starts
    // there: its top is min(limit, that pfn_lo) and it goes on below it.
    top = startLo;
  }
  let lo = ix.walk(startLo, top, size, align, order, iovad.startPfn);
  if (lo < 0 && rel.retry) {
    // retry_pfn: v5.11 .. v6.1 use pfn_hi + 1 (the anchor's ~0UL + 1 wraps to 0); v6.2 on pfn_hi.
    let low = -1;
    if (rel.retryWraps) {
      const retryPfn = startHi === IOVA_ANCHOR ? 0 : startHi + 1;
      if (retryPfn < limit) low = retryPfn;
    } else if (startHi < limit) {
      low = startHi + 1;
    }
    if (low >= 0) lo = ix.walk(IOVA_ANCHOR, limit, size, align, order, low);
  }
  if (lo < 0) {
    if (rel.max32) iovad._max32 = size;
    return null;
  }
  const hi = lo + size - 1;
  ix.insertBefore(ix.foundB, ix.foundJ, lo, hi);
  iovad._count++;
  if (hi < dma32) {
    iovad._cached32Lo = lo;
    iovad._cached32Hi = hi;
  } else {
    iovad._cachedLo = lo;
    iovad._cachedHi = hi;
  }
  return snap(lo, hi);
}

/**
 * find_iova(iovad, pfn): the allocated or reserved range that contains
 * `pfn`, or null.
 * @param pfn an IOVA pfn, integer in [0, 2^53).
 * @throws ModelConfigError for a non-integer or negative pfn, or a put domain.
 * Source: drivers/iommu/iova.c, find_iova(), private_find_iova() (v6.19).
 */
export function findIova(iovad: IovaDomain, pfn: number): IovaRange | null {
  checkLive(iovad, "findIova");
  checkInt("findIova(pfn)", pfn);
  const ix = iovad._ix;
  if (!ix.floorPos(pfn)) return null;
  const b = ix.blocks[ix.posB]!;
  const hi = b.hi[ix.posJ]!;
  return hi >= pfn ? snap(b.lo[ix.posJ]!, hi) : null;
}

/**
 * free_iova(iovad, pfn): free the range containing `pfn` (any pfn inside it,
 * usually its pfn_lo). If no range contains it, find_iova returns NULL and
 * free_iova does nothing: the model returns null and changes nothing.
 *
 * Before removing the node, the cached nodes move as in
 * `__cached_rbnode_delete_update()`: cached32_node moves to the freed
 * node's successor if it is the freed node, or if the freed range lies
 * below 4 GiB (pfn_hi < dma_32bit_pfn) at or above it; a free with
 * pfn_lo below dma_32bit_pfn resets max32_alloc_size to dma_32bit_pfn;
 * cached_node moves to the successor if the freed pfn_lo is at or above it.
 * Per release: the "is the freed node" test exists from v5.3 (before, the
 * node stays cached, stale, when it ends at or above 4 GiB); the
 * max32_alloc_size reset (from v5.0) happens only when cached32_node moves
 * until v5.17, on any free with pfn_lo below dma_32bit_pfn from v5.18.
 * Before v4.15 only cached32_node exists: a free at or above it moves it to
 * the successor if that starts below dma_32bit_pfn, else clears it.
 *
 * @returns the freed range (the kernel returns nothing; this is the model
 *   reporting what it did), or null if nothing was freed.
 * @throws ModelConfigError for a non-integer or negative pfn, or a put domain.
 * Source: drivers/iommu/iova.c, free_iova(), remove_iova(),
 * __cached_rbnode_delete_update() (v6.19).
 */
export function freeIova(iovad: IovaDomain, pfn: number): IovaRange | null {
  checkLive(iovad, "freeIova");
  if (!(Number.isSafeInteger(pfn) && pfn >= 0)) checkInt("freeIova(pfn)", pfn);
  const ix = iovad._ix;
  const blocks = ix.blocks;
  if (!ix.floorPos(pfn)) return null;
  const bi = ix.posB;
  const j = ix.posJ;
  const b = blocks[bi]!;
  const nLo = b.lo[j]!;
  const nHi = b.hi[j]!;
  if (nHi < pfn) return null;
  // rb_next: the anchor is above every range, so there is one.
  const nb = j + 1 < b.n ? b : blocks[bi + 1]!;
  const nj = j + 1 < b.n ? j + 1 : 0;
  const nextLo = nb.lo[nj]!;
  const nextHi = nb.hi[nj]!;
  const dma32 = iovad.dma32PfnLimit;
  const rel = iovad._rel;
  if (!rel.rework) {
    // Before v4.15: only cached32_node, moved (or cleared) when the freed node is at or above it.
    if (iovad._cached32Lo !== IOVA_ANCHOR && nLo >= iovad._cached32Lo) {
      const keep = nextLo !== IOVA_ANCHOR && nextLo < dma32;
      iovad._cached32Lo = keep ? nextLo : IOVA_ANCHOR;
      iovad._cached32Hi = keep ? nextHi : IOVA_ANCHOR;
    }
  } else {
    const move32 = (rel.cached32FreedFix && nLo === iovad._cached32Lo) || (nHi < dma32 && nLo >= iovad._cached32Lo);
    if (move32) {
      iovad._cached32Lo = nextLo;
      iovad._cached32Hi = nextHi;
    }
    if (rel.max32 && (rel.max32ResetAnyFree ? nLo < dma32 : move32)) iovad._max32 = dma32;
    if (nLo >= iovad._cachedLo) {
      iovad._cachedLo = nextLo;
      iovad._cachedHi = nextHi;
    }
  }
  // Hint for the next walk: where the successor sits once this range is gone (checked before use).
  ix.startB = j + 1 < b.n || b.n === 1 ? bi : bi + 1;
  ix.startJ = j + 1 < b.n ? j : 0;
  ix.removeAt(bi, j);
  iovad._count--;
  return snap(nLo, nHi);
}

/**
 * reserve_iova(iovad, pfn_lo, pfn_hi): keep [pfnLo, pfnHi] out of the
 * allocator. Walking the ranges in order, each range that overlaps what is
 * left of the request is grown downwards to the request's pfn_lo (never
 * upwards), and the request is trimmed to start just above it; if a range
 * covers the rest of the request, that range is returned. What remains after
 * the overlapping ranges is inserted as a new range and returned. The cached
 * nodes and max32_alloc_size are not touched (as in the kernel).
 *
 * @param pfnLo lowest pfn, integer in [0, maxPfn] (pfns below startPfn are allowed, as in the kernel).
 * @param pfnHi highest pfn (inclusive), integer in [pfnLo, maxPfn].
 * @returns the range that now holds the top of the request: `{ pfnLo, pfnHi }`.
 * @throws ModelConfigError for bad input (the kernel WARNs and returns NULL
 *   for pfns it cannot shift into a dma_addr_t; the model also rejects
 *   pfnLo > pfnHi, which the kernel does not check).
 * Source: drivers/iommu/iova.c, reserve_iova(), __is_range_overlap(),
 * __adjust_overlap_range(), __insert_new_range() (v6.19).
 */
export function reserveIova(iovad: IovaDomain, pfnLo: number, pfnHi: number): IovaRange {
  checkLive(iovad, "reserveIova");
  checkInt("reserveIova(pfnLo)", pfnLo, 0, iovad.maxPfn);
  checkInt("reserveIova(pfnHi)", pfnHi, pfnLo, iovad.maxPfn);
  let lo = pfnLo;
  const hi = pfnHi;
  let overlap = false;
  // Ranges ending below lo can never overlap (lo only grows): start at the first that ends at or above it.
  // pfn_hi rises with pfn_lo (ranges are disjoint): the range at or below lo, else the one after it.
  const ix = iovad._ix;
  const blocks = ix.blocks;
  let bi = 0;
  let j = 0;
  if (ix.floorPos(lo)) {
    bi = ix.posB;
    j = ix.posJ;
    if (blocks[bi]!.hi[j]! < lo) j++;
  }
  while (bi < blocks.length) {
    const b = blocks[bi]!;
    if (j >= b.n) {
      bi++;
      j = 0;
      continue;
    }
    const nLo = b.lo[j]!;
    const nHi = b.hi[j]!;
    if (lo <= nHi && hi >= nLo) {
      if (lo < nLo) {
        // __adjust_overlap_range grows the node down; order is kept (the range before ends below lo).
        b.lo[j] = lo;
        ix.moveStart(nLo, lo, nHi);
        if (j === 0) ix.first[bi] = lo;
        // The gap below it shrank: its block's caps become an upper bound, recounted when a search needs it.
        b.dirty = true;
        if (iovad._cachedLo === nLo) iovad._cachedLo = lo;
        if (iovad._cached32Lo === nLo) iovad._cached32Lo = lo;
      }
      if (hi > nHi) lo = nHi + 1;
      if (lo >= b.lo[j]! && hi <= nHi) return snap(b.lo[j]!, nHi);
      overlap = true;
    } else if (overlap || nLo > hi) {
      // The kernel's loop goes on over later ranges while nothing overlapped yet,
      // but ranges are sorted: none after one starting above hi can overlap.
      break;
    }
    j++;
  }
  ix.insertRange(lo, hi);
  iovad._count++;
  return snap(lo, hi);
}

/**
 * put_iova_domain(iovad): free every range. The kernel leaves the domain
 * structure behind with its nodes freed; using it again is a bug, so the
 * model marks it put and every later call on it throws ModelConfigError.
 * Putting a domain twice is also rejected.
 * @throws ModelConfigError if the domain was already put.
 * Source: drivers/iommu/iova.c, put_iova_domain() (v6.19).
 */
export function putIovaDomain(iovad: IovaDomain): void {
  checkLive(iovad, "putIovaDomain");
  iovad._ix.clear();
  iovad._count = 0;
  iovad._dead = true;
}

/**
 * All allocated and reserved ranges, lowest first, the anchor left out
 * (like the kernel's debug dump, which skips the anchor). Model helper.
 * @throws ModelConfigError for a put domain.
 */
export function iovaRanges(iovad: IovaDomain): IovaRange[] {
  checkLive(iovad, "iovaRanges");
  const out: IovaRange[] = [];
  for (const b of iovad._ix.blocks) {
    for (let i = 0; i < b.n; i++) if (b.lo[i] !== IOVA_ANCHOR) out.push(snap(b.lo[i]!, b.hi[i]!));
  }
  return out;
}

/** iova_size(iova): number of IOVA pfns in a range. Source: include/linux/iova.h (v6.19). */
export function iovaSize(iova: IovaRange): number {
  return iova.pfnHi - iova.pfnLo + 1;
}

/** iova_shift(iovad): log2 of the granule (the kernel's __ffs(granule)); 12 for 4 KiB. Source: include/linux/iova.h (v6.19). */
export function iovaShift(iovad: IovaDomain): number {
  return ilog2(iovad.granule);
}

/** iova_mask(iovad): granule - 1, a low mask. Source: include/linux/iova.h (v6.19). */
export function iovaMask(iovad: IovaDomain): number {
  return iovad.granule - 1;
}

/**
 * iova_offset(iovad, iova): the offset of a DMA address (bytes) inside its
 * granule, iova & (granule - 1).
 * @throws ModelConfigError if `iova` is not an integer in [0, 2^53).
 * Source: include/linux/iova.h (v6.19).
 */
export function iovaOffset(iovad: IovaDomain, iova: number): number {
  checkInt("iovaOffset(iova)", iova);
  // The granule is a power of two (checked by initIovaDomain): plain modulo is exact.
  return iova % iovad.granule;
}

/**
 * iova_align(iovad, size): a byte size rounded up to the granule.
 * @throws ModelConfigError if `size` is not an integer in [0, 2^53) or the result would reach 2^53.
 * Source: include/linux/iova.h (v6.19).
 */
export function iovaAlign(iovad: IovaDomain, size: number): number {
  checkInt("iovaAlign(size)", size);
  const g = iovad.granule;
  const r = Math.ceil(size / g) * g;
  return r <= MAX_ADDR ? r : alignUp(size, g); // alignUp throws for a result beyond 2^53
}

/**
 * iova_align_down(iovad, size): a byte size rounded down to the granule.
 * @throws ModelConfigError if `size` is not an integer in [0, 2^53).
 * Source: include/linux/iova.h (v6.19).
 */
export function iovaAlignDown(iovad: IovaDomain, size: number): number {
  checkInt("iovaAlignDown(size)", size);
  return alignDown(size, iovad.granule);
}

/** iova_dma_addr(iovad, iova): the DMA address (bytes) of a range's first pfn, pfn_lo * granule. Source: include/linux/iova.h (v6.19). */
export function iovaDmaAddr(iovad: IovaDomain, iova: IovaRange): number {
  return iova.pfnLo * iovad.granule;
}

/**
 * iova_pfn(iovad, iova): the IOVA pfn of a DMA address (bytes), floor(iova / granule).
 * @throws ModelConfigError if `iova` is not an integer in [0, 2^53).
 * Source: include/linux/iova.h (v6.19).
 */
export function iovaPfn(iovad: IovaDomain, iova: number): number {
  checkInt("iovaPfn(iova)", iova);
  return Math.floor(iova / iovad.granule);
}

