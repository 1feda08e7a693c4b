/**
 * The IOVA allocator of the IOMMU DMA layer: the rbtree range allocator of
 * drivers/iommu/iova.c, newest mainline (read at v6.19: the import
 * matankalina/linux-6.19.10-fork, Makefile 6.19, blob
 * 18f83972181362dd50b435ebac696d87d6974d26 of drivers/iommu/iova.c and
 * d2c4fd923efabcb61f6a8d6e190cbea6b8dda37a of include/linux/iova.h).
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
 * The model keeps the same set of ranges in an AVL tree keyed by pfn_lo in
 * which every subtree knows its lowest pfn_lo, its highest pfn_hi and the
 * largest free gap between two of its consecutive ranges. The walk's answer
 * is "the first gap, going down from the start node, whose size-aligned top
 * candidate lies above the range below it", and because the walk's
 * candidate only ever decreases the walk's stop conditions reduce to that
 * first fitting gap (see {@link allocIova}); the augmented tree finds it in
 * O(log n) time plus the gaps that are long enough but fail the alignment.
 * The test file checks op by op against a literal linear walk.
 *
 * Units: every pfn and size here is an IOVA pfn, i.e. a count of
 * granule-sized IOVA pages (not CPU pages). All arithmetic is exact on JS
 * numbers below 2^53; no bitwise operator touches a pfn, size or mask.
 */
import { MAX_ADDR, SZ_4G, alignDown, alignUp, checkInt, checkPowerOf2, fls, ilog2, offsetIn } from "../core/arith.js";
import { ModelConfigError } from "../core/errors.js";

/**
 * IOVA_ANCHOR: the kernel's anchor node has pfn_lo = pfn_hi = ~0UL, above
 * every usable pfn. The model uses 2^64 (~0UL rounded to the nearest double):
 * it is above every model pfn (< 2^53) and is never a valid allocation.
 * Source: drivers/iommu/iova.c, IOVA_ANCHOR (v6.19).
 */
export const IOVA_ANCHOR = 2 ** 64;

/** Largest IOVA granule the model accepts: 64 KiB, the largest PAGE_SIZE of the modelled arches (init_iova_domain BUG_ONs granule > PAGE_SIZE). */
export const IOVA_MAX_GRANULE = 65536;

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

/** Alignments tracked by the augmentation: 2^0 .. 2^6 (the per-CPU cached sizes); larger ones prune with 2^6. */
const CAP_ORDERS = 7;
const CAP_MOD = 2 ** (CAP_ORDERS - 1); // 64
/** ROUND_UP[k * 64 + r]: what rounding a pfn p with p mod 64 = r up to 2^k adds. */
const ROUND_UP = new Float64Array(CAP_ORDERS * CAP_MOD);
for (let k = 0; k < CAP_ORDERS; k++) {
  const a = 2 ** k;
  for (let rem = 0; rem < CAP_MOD; rem++) ROUND_UP[k * CAP_MOD + rem] = (a - (rem % a)) % a;
}

/** One tree node: a `struct iova` plus the AVL and gap augmentation fields. */
class IovaNode implements IovaRange {
  pfnLo: number;
  pfnHi: number;
  left: IovaNode | null = null;
  right: IovaNode | null = null;
  height = 1;
  /** Lowest pfn_lo in this subtree. */
  minLo: number;
  /** Highest pfn_hi in this subtree. */
  maxHi: number;
  /**
   * caps[k], k = 0..CAP_ORDERS-1: over the free gaps between two consecutive
   * ranges inside this subtree, the largest size that fits at a start
   * aligned to 2^k (gap top minus the gap bottom rounded up to 2^k); -1 if
   * none. caps[0] is the largest gap.
   */
  readonly caps: Float64Array;
  constructor(lo: number, hi: number) {
    this.pfnLo = lo;
    this.pfnHi = hi;
    this.minLo = lo;
    this.maxHi = hi;
    this.caps = new Float64Array(CAP_ORDERS).fill(-1);
  }
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
  /** dma_32bit_pfn: 2^32 / granule, the first IOVA pfn at or above 4 GiB. */
  readonly dma32PfnLimit: number;
  /** Highest pfn the model represents in this domain: floor((2^53 - 1) / granule), so pfn * granule stays below 2^53. */
  readonly maxPfn: number;
  /** @internal AVL root; holds the anchor at least. */
  _root: IovaNode | null;
  /** @internal */
  readonly _anchor: IovaNode;
  /** @internal cached_node */
  _cached: IovaNode;
  /** @internal cached32_node */
  _cached32: IovaNode;
  /** @internal max32_alloc_size */
  _max32: number;
  /** @internal number of ranges, anchor excluded */
  _count = 0;
  /** @internal set by putIovaDomain */
  _dead = false;

  /** @internal use {@link initIovaDomain}. */
  constructor(granule: number, startPfn: number) {
    this.granule = granule;
    this.startPfn = startPfn;
    this.dma32PfnLimit = SZ_4G / granule;
    this.maxPfn = Math.floor(MAX_ADDR / granule);
    this._anchor = new IovaNode(IOVA_ANCHOR, IOVA_ANCHOR);
    this._root = this._anchor;
    this._cached = this._anchor;
    this._cached32 = this._anchor;
    this._max32 = this.dma32PfnLimit;
  }

  /** cached_node: where searches with a limit above 4 GiB start (a snapshot of the node's range; the anchor reads IOVA_ANCHOR). */
  get cachedNode(): IovaRange {
    return snap(this._cached);
  }
  /** cached32_node: where searches with a limit at or below 4 GiB start (snapshot). */
  get cached32Node(): IovaRange {
    return snap(this._cached32);
  }
  /** max32_alloc_size, IOVA pfns: allocations at or below 4 GiB of this size or more fail at once. Reset to dma32PfnLimit by a free below 4 GiB. */
  get max32AllocSize(): number {
    return this._max32;
  }
  /** The anchor node, `{ pfnLo: IOVA_ANCHOR, pfnHi: IOVA_ANCHOR }`. */
  get anchor(): IovaRange {
    return snap(this._anchor);
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

function snap(n: IovaNode): IovaRange {
  return { pfnLo: n.pfnLo, pfnHi: n.pfnHi };
}

// ---------------------------------------------------------------------------
// AVL tree with gap augmentation. Node identity is preserved by every
// operation (the cached nodes point at nodes).

function ht(n: IovaNode | null): number {
  return n === null ? 0 : n.height;
}

/** Fold the gap [bottom, top) into caps: for each order k, top - roundup(bottom, 2^k). */
function foldGap(caps: Float64Array, bottom: number, top: number): void {
  const rem = bottom % CAP_MOD;
  const gap = top - bottom;
  for (let k = 0; k < CAP_ORDERS; k++) {
    const c = gap - ROUND_UP[k * CAP_MOD + rem]!;
    if (c > caps[k]!) caps[k] = c;
  }
}

function pull(n: IovaNode): void {
  const l = n.left;
  const r = n.right;
  const caps = n.caps;
  if (l !== null) caps.set(l.caps);
  else caps.fill(-1);
  if (r !== null) {
    const rc = r.caps;
    for (let k = 0; k < CAP_ORDERS; k++) if (rc[k]! > caps[k]!) caps[k] = rc[k]!;
  }
  if (l !== null) {
    n.minLo = l.minLo;
    foldGap(caps, l.maxHi + 1, n.pfnLo);
  } else {
    n.minLo = n.pfnLo;
  }
  if (r !== null) {
    n.maxHi = r.maxHi;
    foldGap(caps, n.pfnHi + 1, r.minLo);
  } else {
    n.maxHi = n.pfnHi;
  }
  const hl = ht(l);
  const hr = ht(r);
  n.height = (hl > hr ? hl : hr) + 1;
}

function rotRight(n: IovaNode): IovaNode {
  const l = n.left!;
  n.left = l.right;
  l.right = n;
  pull(n);
  pull(l);
  return l;
}

function rotLeft(n: IovaNode): IovaNode {
  const r = n.right!;
  n.right = r.left;
  r.left = n;
  pull(n);
  pull(r);
  return r;
}

function rebalance(n: IovaNode): IovaNode {
  pull(n);
  const bf = ht(n.left) - ht(n.right);
  if (bf > 1) {
    const l = n.left!;
    if (ht(l.left) < ht(l.right)) n.left = rotLeft(l);
    return rotRight(n);
  }
  if (bf < -1) {
    const r = n.right!;
    if (ht(r.right) < ht(r.left)) n.right = rotRight(r);
    return rotLeft(n);
  }
  return n;
}

function treeInsert(n: IovaNode | null, x: IovaNode): IovaNode {
  if (n === null) return x;
  if (x.pfnLo < n.pfnLo) n.left = treeInsert(n.left, x);
  else n.right = treeInsert(n.right, x);
  return rebalance(n);
}

let detachedMin: IovaNode | null = null;

function treeRemoveMin(n: IovaNode): IovaNode | null {
  if (n.left === null) {
    detachedMin = n;
    return n.right;
  }
  n.left = treeRemoveMin(n.left);
  return rebalance(n);
}

function treeRemove(n: IovaNode | null, x: IovaNode): IovaNode | null {
  if (n === null) return null;
  if (x.pfnLo < n.pfnLo) n.left = treeRemove(n.left, x);
  else if (x.pfnLo > n.pfnLo) n.right = treeRemove(n.right, x);
  else {
    // n === x: splice in its in-order successor as a node (not by copying keys).
    if (n.left === null) return n.right;
    if (n.right === null) return n.left;
    const rest = treeRemoveMin(n.right);
    const m = detachedMin!;
    detachedMin = null;
    m.left = n.left;
    m.right = rest;
    n.left = n.right = null;
    return rebalance(m);
  }
  return rebalance(n);
}

/** Recompute the augmentation along the path to the node keyed `key` (after its pfn_lo moved without changing order). */
function treeRefresh(n: IovaNode | null, key: number): void {
  if (n === null) return;
  if (key < n.pfnLo) treeRefresh(n.left, key);
  else if (key > n.pfnLo) treeRefresh(n.right, key);
  pull(n);
}

/** private_find_iova: the range containing pfn, or null. */
function nodeContaining(root: IovaNode | null, pfn: number): IovaNode | null {
  let n = root;
  while (n !== null) {
    if (pfn < n.pfnLo) n = n.left;
    else if (pfn > n.pfnHi) n = n.right;
    else return n;
  }
  return null;
}

/** Lowest node with pfn_lo >= key (the anchor bounds it). */
function ceilByLo(root: IovaNode | null, key: number): IovaNode | null {
  let n = root;
  let best: IovaNode | null = null;
  while (n !== null) {
    if (n.pfnLo >= key) {
      best = n;
      n = n.left;
    } else n = n.right;
  }
  return best;
}

/** Lowest node with pfn_hi >= pfn. */
function ceilByHi(root: IovaNode | null, pfn: number): IovaNode | null {
  let n = root;
  let best: IovaNode | null = null;
  while (n !== null) {
    if (n.pfnHi >= pfn) {
      best = n;
      n = n.left;
    } else n = n.right;
  }
  return best;
}

/** rb_prev: highest node with pfn_lo below x's. */
function predOf(root: IovaNode | null, x: IovaNode): IovaNode | null {
  let n = root;
  let best: IovaNode | null = null;
  while (n !== null) {
    if (n.pfnLo < x.pfnLo) {
      best = n;
      n = n.right;
    } else n = n.left;
  }
  return best;
}

/** rb_next: lowest node with pfn_lo above x's. */
function succOf(root: IovaNode | null, x: IovaNode): IovaNode | null {
  let n = root;
  let best: IovaNode | null = null;
  while (n !== null) {
    if (n.pfnLo > x.pfnLo) {
      best = n;
      n = n.left;
    } else n = n.right;
  }
  return best;
}

// Search parameters of findFit (module state: no closure per call).
let fSize = 0;
let fAlign = 1;
/** min(log2(fAlign), CAP_ORDERS - 1): the caps entry that bounds the search. */
let fOrder = 0;
let fMaxKey = 0;
let fMinKey = 0;

/**
 * The highest node N with fMinKey <= N.pfnLo <= fMaxKey whose gap below
 * fits: alignDown(N.pfnLo - fSize, fAlign) > (pfn_hi of the range before N,
 * or -1 if none). `predHi` is the pfn_hi of the range just before the
 * subtree (-1 at the root).
 */
function findFit(n: IovaNode | null, predHi: number): IovaNode | null {
  if (n === null) return null;
  if (n.minLo > fMaxKey || n.maxHi < fMinKey) return null;
  // Prune: nothing in the subtree (nor the gap below its lowest range) can hold fSize at fOrder's alignment.
  if (n.caps[fOrder]! < fSize) {
    const bottom = predHi + 1;
    if (n.minLo - bottom - ROUND_UP[fOrder * CAP_MOD + (bottom % CAP_MOD)]! < fSize) return null;
  }
  if (n.pfnLo > fMaxKey) return findFit(n.left, predHi);
  const r = findFit(n.right, n.pfnHi);
  if (r !== null) return r;
  if (n.pfnLo < fMinKey) return null;
  const l = n.left;
  const ph = l === null ? predHi : l.maxHi;
  if (n.pfnLo - ph - 1 >= fSize) {
    // Plain division: pfns are below 2^53, fAlign is a power of two.
    const cand = Math.floor((n.pfnLo - fSize) / fAlign) * fAlign;
    if (cand > ph) return n;
  }
  return findFit(l, predHi);
}

/**
 * One pass of the kernel's backwards walk, answered from the tree.
 *
 * The kernel (`__alloc_and_insert_iova_range`, v6.19) visits start node S
 * and then its predecessors N1, N2, ...; at node N_k its top is
 * h_k = min(limit, N_k.pfn_lo) (the running minimum, since pfn_lo falls)
 * and its candidate new_k = (h_k - size) & align_mask; it stops at the
 * first k where the predecessor is absent, or new_k > pred.pfn_hi, or
 * new_k < low, and succeeds iff h_k >= size and new_k >= low. Both h_k and
 * new_k only decrease, so "new_k < low" (and h_k < size, where the unsigned
 * subtraction wraps to a huge candidate that ends the walk) stay true once
 * true: the outcome is decided by the first gap that fits, and fails iff
 * that gap's candidate is below `low`. Gaps whose lower range starts at or
 * above the limit never fit (their candidate is below the limit, inside
 * that range), so only the gap just below the limit has h = limit.
 *
 * @returns the new pfn_lo, or -1 if this pass fails.
 */
function walk(d: IovaDomain, start: IovaNode, limit: number, size: number, align: number, low: number): number {
  let top: IovaNode;
  if (start.pfnLo >= limit) {
    // Skip the ranges at or above the limit: first the gap that holds the limit.
    const above = ceilByLo(d._root, limit)!;
    const below = predOf(d._root, above);
    const belowHi = below === null ? -1 : below.pfnHi;
    if (belowHi < limit) {
      if (limit < size) return -1;
      const cand = Math.floor((limit - size) / align) * align;
      if (cand > belowHi) return cand >= low ? cand : -1;
    }
    // below is not null here: with no range below, cand >= 0 > -1 returned above.
    top = below!;
  } else {
    top = start;
  }
  if (top.pfnLo < low + size) return -1;
  fSize = size;
  fAlign = align;
  fOrder = Math.min(CAP_ORDERS - 1, Math.round(Math.log2(align)));
  fMaxKey = top.pfnLo;
  fMinKey = low + size;
  const n = findFit(d._root, -1);
  if (n === null) return -1;
  const cand = Math.floor((n.pfnLo - size) / align) * align;
  return cand >= low ? cand : -1;
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
 * @throws ModelConfigError naming the parameter and its allowed range.
 * Source: drivers/iommu/iova.c, init_iova_domain() (v6.19).
 */
export function initIovaDomain(granule: number, startPfn: number): IovaDomain {
  checkPowerOf2("initIovaDomain(granule)", granule, 1, IOVA_MAX_GRANULE);
  checkInt("initIovaDomain(startPfn)", startPfn, 1, Math.floor(MAX_ADDR / granule));
  return new IovaDomain(granule, startPfn);
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
 * @param size IOVA pfns, an integer in [1, min(2^52, maxPfn - startPfn + 1)].
 * @param limitPfn highest usable IOVA pfn (inclusive), in [startPfn, maxPfn].
 * @param sizeAligned align the start to roundup_pow_of_two(size).
 * @returns the new range `{ pfnLo, pfnHi }` (pfnHi = pfnLo + size - 1), or
 *   null when the kernel returns NULL (no room below the limit, or the
 *   max32 fast fail).
 * @throws ModelConfigError for bad input, before any state change.
 * Source: drivers/iommu/iova.c, alloc_iova(), __alloc_and_insert_iova_range(),
 * __get_cached_rbnode(), __cached_rbnode_insert_update(), iova_find_limit() (v6.19).
 */
export function allocIova(iovad: IovaDomain, size: number, limitPfn: number, sizeAligned: boolean): IovaRange | null {
  checkLive(iovad, "allocIova");
  checkInt("allocIova(size)", size, 1, maxAllocSize(iovad));
  checkInt("allocIova(limitPfn)", limitPfn, iovad.startPfn, iovad.maxPfn);
  if (typeof sizeAligned !== "boolean") {
    throw new ModelConfigError("allocIova(sizeAligned)", sizeAligned, "true or false");
  }
  const limit = limitPfn + 1;
  const align = sizeAligned ? 2 ** fls(size - 1) : 1;
  const dma32 = iovad.dma32PfnLimit;
  if (limit <= dma32 && size >= iovad._max32) return null;

  const start = limit <= dma32 ? iovad._cached32 : iovad._cached;
  const retryPfn = start.pfnHi;
  let lo = walk(iovad, start, limit, size, align, iovad.startPfn);
  if (lo < 0 && retryPfn < limit) {
    lo = walk(iovad, iovad._anchor, limit, size, align, retryPfn + 1);
  }
  if (lo < 0) {
    iovad._max32 = size;
    return null;
  }
  const node = new IovaNode(lo, lo + size - 1);
  iovad._root = treeInsert(iovad._root, node);
  iovad._count++;
  if (node.pfnHi < dma32) iovad._cached32 = node;
  else iovad._cached = node;
  return snap(node);
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
  const n = nodeContaining(iovad._root, pfn);
  return n === null ? null : snap(n);
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
 *
 * @returns the freed range (the kernel returns nothing; this is the model
 *   reporting what it did), or null if nothing was freed.
 * @throws ModelConfigError for a non-integer or negative pfn, or a put domain.
 * Source: drivers/iommu/iova.c, free_iova(), remove_iova(),
 * __cached_rbnode_delete_update() (v6.19).
 */
export function freeIova(iovad: IovaDomain, pfn: number): IovaRange | null {
  checkLive(iovad, "freeIova");
  checkInt("freeIova(pfn)", pfn);
  const n = nodeContaining(iovad._root, pfn);
  if (n === null) return null;
  const dma32 = iovad.dma32PfnLimit;
  const c32 = iovad._cached32;
  const next = succOf(iovad._root, n)!; // the anchor is above every range
  if (n === c32 || (n.pfnHi < dma32 && n.pfnLo >= c32.pfnLo)) iovad._cached32 = next;
  if (n.pfnLo < dma32) iovad._max32 = dma32;
  if (n.pfnLo >= iovad._cached.pfnLo) iovad._cached = next;
  iovad._root = treeRemove(iovad._root, n);
  iovad._count--;
  return snap(n);
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
  let n = ceilByHi(iovad._root, lo);
  while (n !== null) {
    if (lo <= n.pfnHi && hi >= n.pfnLo) {
      if (lo < n.pfnLo) {
        n.pfnLo = lo;
        treeRefresh(iovad._root, lo);
      }
      if (hi > n.pfnHi) lo = n.pfnHi + 1;
      if (lo >= n.pfnLo && hi <= n.pfnHi) return snap(n);
      overlap = true;
    } else if (overlap || n.pfnLo > hi) {
      // The kernel's loop goes on over later ranges while nothing overlapped yet,
      // but ranges are sorted: none after one starting above hi can overlap.
      break;
    }
    n = succOf(iovad._root, n);
  }
  const node = new IovaNode(lo, hi);
  iovad._root = treeInsert(iovad._root, node);
  iovad._count++;
  return snap(node);
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
  iovad._root = null;
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
  const stack: IovaNode[] = [];
  let n = iovad._root;
  while (n !== null || stack.length > 0) {
    while (n !== null) {
      stack.push(n);
      n = n.left;
    }
    const x = stack.pop()!;
    if (x !== iovad._anchor) out.push(snap(x));
    n = x.right;
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
  return offsetIn(iova, iovad.granule);
}

/**
 * iova_align(iovad, size): a byte size rounded up to the granule.
 * @throws ModelConfigError if `size` is not an integer in [0, 2^53) or the result would reach 2^53.
 * Source: include/linux/iova.h (v6.19).
 */
export function iovaAlign(iovad: IovaDomain, size: number): number {
  checkInt("iovaAlign(size)", size);
  return alignUp(size, iovad.granule);
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
