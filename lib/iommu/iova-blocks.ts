/**
 * The block index behind the IOVA allocator of lib/iommu/iova.ts: the set of
 * `struct iova` ranges of one domain (anchor included) as one sorted sequence
 * cut into blocks, with per-alignment gap summaries, answering the kernel's
 * top-down first-fit walk of `__alloc_and_insert_iova_range()`
 * (drivers/iommu/iova.c) without stepping `rb_prev()` one node at a time.
 *
 * Layout. The ranges sit in blocks of at most 32 (pfn_lo and pfn_hi in two
 * Float64Arrays per block; full blocks split in halves, nearly empty ones
 * merge with a neighbour). The free gap below a range, down to the range
 * before it (possibly the last range of the previous block) or to pfn 0,
 * belongs to the range's block. Each block keeps caps[k], k = 0..6: the
 * largest size that fits at a start aligned to 2^k in one of its gaps. These
 * are exact or upper bounds: a merge of two gaps raises them exactly; when a
 * gap that reaches a maximum is split (insert), shrunk (reserve) or lost to
 * the next block (free), the block is only marked stale, and it is recounted
 * when a search is sent to it and finds nothing there. The index also keeps,
 * per order, a contiguous column of the blocks' caps and an array of each
 * block's first pfn_lo (for a binary search by pfn).
 *
 * State. Everything lives on the {@link IovaBlockIndex} instance (one per
 * IovaDomain): the blocks, the columns, the start-position hint, and the
 * search cursor and scratch of the last lookup (`posB`/`posJ` from
 * {@link IovaBlockIndex.floorPos}, `foundB`/`foundJ` from
 * {@link IovaBlockIndex.walk}). The module holds only constants.
 *
 * Units: IOVA pfns (granule-sized pages), exact JS numbers below 2^53 (the
 * anchor reads 2^64); no bitwise operator touches a pfn or size.
 * Kernel source of the rules: drivers/iommu/iova.c,
 * __alloc_and_insert_iova_range() (v4.4 .. v6.19, see lib/iommu/iova.ts for
 * the per-release differences, which the callers apply around walk()).
 */

/** Alignments tracked by the block summaries: 2^0 .. 2^6 (the per-CPU cached sizes); larger ones prune with 2^6. */
const CAP_ORDERS = 7;
const CAP_MOD = 2 ** (CAP_ORDERS - 1); // 64
/** Highest tracked alignment order (2^6); callers clamp a request's order to it. */
export const TOP_ORDER = CAP_ORDERS - 1;
/** ROUND_UP[k * 64 + r]: what rounding a pfn p with p mod 64 = r up to 2^k adds. */
const ROUND_UP = new Float64Array(CAP_ORDERS * CAP_MOD);
for (let k = 0; k < CAP_ORDERS; k++) {
  const a = 2 ** k;
  for (let rem = 0; rem < CAP_MOD; rem++) ROUND_UP[k * CAP_MOD + rem] = (a - (rem % a)) % a;
}

/** Most ranges one block holds; a full block is split in two halves on insert. */
const BLOCK_CAP = 32;
/** A block with fewer ranges than this after a free is merged with a neighbour when the two fit in MERGE_MAX. */
const MERGE_BELOW = BLOCK_CAP / 4;
const MERGE_MAX = (BLOCK_CAP * 3) / 4;

/**
 * A run of consecutive ranges (`struct iova`s), sorted by pfn_lo. Blocks are
 * never empty; the last block ends with the anchor. The free gap below a
 * range (down to the range before it, which may sit in the previous block,
 * or down to pfn 0) belongs to the range's block.
 */
export class Block {
  /** pfn_lo of the ranges, ascending; entries [0, n) are live. */
  readonly lo = new Float64Array(BLOCK_CAP);
  /** pfn_hi of the same ranges. */
  readonly hi = new Float64Array(BLOCK_CAP);
  n = 0;
  /**
   * caps[k], k = 0..CAP_ORDERS-1: over the free gaps below this block's
   * ranges, the largest size that fits at a start aligned to 2^k (gap top
   * minus the gap bottom rounded up to 2^k), or 0 if none fits.
   */
  readonly caps = new Float64Array(CAP_ORDERS);
  /**
   * caps may be too high (a gap reaching a maximum was split, shrunk or
   * removed): until a search recounts the block, caps is an upper bound.
   */
  dirty = false;
}


/** p mod 64 for an integer 0 <= p < 2^53 (exact: dividing by a power of two is exact in a double). */
function modCap(p: number): number {
  return p - Math.floor(p / CAP_MOD) * CAP_MOD;
}

/** Fold the gap [bottom, top) into block b's caps: for each order k, top - roundup(bottom, 2^k). True if caps rose. */
function addGap(b: Block, bottom: number, top: number): boolean {
  const caps = b.caps;
  const gap = top - bottom;
  // caps[k] never increases with k and no order beats the raw gap: nothing to raise.
  if (gap <= caps[TOP_ORDER]!) return false;
  const rem = modCap(bottom);
  let rose = false;
  for (let k = 0; k < CAP_ORDERS; k++) {
    const c = gap - ROUND_UP[k * CAP_MOD + rem]!;
    if (c > caps[k]!) {
      caps[k] = c;
      rose = true;
    }
  }
  return rose;
}

/** Block b loses the gap [bottom, top): if that gap reaches some positive caps[k], the caps become an upper bound (dirty). */
function dropGap(b: Block, bottom: number, top: number): void {
  const caps = b.caps;
  const gap = top - bottom;
  if (gap < caps[TOP_ORDER]! || gap <= 0) return;
  const rem = modCap(bottom);
  for (let k = 0; k < CAP_ORDERS; k++) {
    const c = gap - ROUND_UP[k * CAP_MOD + rem]!;
    if (c > 0 && c === caps[k]) {
      b.dirty = true;
      return;
    }
  }
}

/** pfn_hi of the range before block bi's first range, or -1. */
function hiBefore(blocks: Block[], bi: number): number {
  if (bi === 0) return -1;
  const p = blocks[bi - 1]!;
  return p.hi[p.n - 1]!;
}

/** Make block bi's caps exact (one pass over its gaps, the seven maxima kept in locals). */
function recount(blocks: Block[], bi: number): void {
  const b = blocks[bi]!;
  const lo = b.lo;
  const hi = b.hi;
  const n = b.n;
  const RU = ROUND_UP;
  let c0 = 0;
  let c1 = 0;
  let c2 = 0;
  let c3 = 0;
  let c4 = 0;
  let c5 = 0;
  let c6 = 0;
  let bottom = hiBefore(blocks, bi) + 1;
  for (let i = 0; i < n; i++) {
    const top = lo[i]!;
    const gap = top - bottom;
    // c6 <= c5 <= ... <= c0 and no order beats the raw gap: a gap not above c6 raises nothing.
    if (gap > c6) {
      const rem = modCap(bottom);
      if (gap > c0) c0 = gap;
      let c = gap - RU[CAP_MOD + rem]!;
      if (c > c1) c1 = c;
      c = gap - RU[2 * CAP_MOD + rem]!;
      if (c > c2) c2 = c;
      c = gap - RU[3 * CAP_MOD + rem]!;
      if (c > c3) c3 = c;
      c = gap - RU[4 * CAP_MOD + rem]!;
      if (c > c4) c4 = c;
      c = gap - RU[5 * CAP_MOD + rem]!;
      if (c > c5) c5 = c;
      c = gap - RU[6 * CAP_MOD + rem]!;
      if (c > c6) c6 = c;
    }
    bottom = hi[i]! + 1;
  }
  const caps = b.caps;
  caps[0] = c0;
  caps[1] = c1;
  caps[2] = c2;
  caps[3] = c3;
  caps[4] = c4;
  caps[5] = c5;
  caps[6] = c6;
  b.dirty = false;
}

/** An empty slot of a {@link StartTable} (pfns are >= 0). */
const EMPTY = -1;

/** The smallest prime >= n (n >= 2): table capacities are primes so that `pfn mod capacity` spreads aligned pfns. */
function primeAtLeast(n: number): number {
  for (let c = n; ; c++) {
    let prime = true;
    for (let d = 2; d * d <= c; d++) {
      if (c % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) return c;
  }
}

/**
 * pfn_lo -> pfn_hi of every range of a block index, as an open-addressing
 * hash table (linear probing, backward-shift deletion, no tombstones) in one
 * typed array: an O(1) answer, with no search and no allocation, to "does a
 * range start exactly at this pfn, and where does it end", which the rcache
 * free checks ask on every free_iova_fast.
 *
 * Each entry also carries a mark, and the table keeps the marks as an exact
 * set of pfns of its own: a pfn stays marked until unmarked, whatever happens
 * to the range starting there (a mark whose entry is removed waits in a side
 * set and comes back with an entry that starts at that pfn again). The
 * rcaches mark the pfns parked in a magazine (iova-rcache.ts `_cached`), so
 * the free check reads the range's end and its "already cached" mark from
 * one slot (16 bytes, one cache line).
 *
 * Layout: slot s is e[2s] = key (pfn_lo, or EMPTY) and e[2s + 1] = pfn_hi,
 * stored as -1 - pfn_hi when the entry is marked (pfn_hi >= 0, so the sign
 * is the mark; exact below 2^53). Hashing: home slot = pfn mod capacity (a
 * prime, so aligned pfns spread), computed with a floor division (pfns are
 * exact doubles; no bitwise operator touches them). The table grows to keep
 * its load at most 1/2 and shrinks below 1/16.
 */
export class StartTable {
  /** Capacity in slots (a prime). */
  cap = 0;
  /** 1 / cap, for the slot arithmetic. */
  private inv = 0;
  /** The slots, 2 numbers each: key, pfn_hi (negative: -1 - pfn_hi, marked). */
  e: Float64Array = new Float64Array(0);
  /** Number of entries. */
  size = 0;
  /** Number of marked pfns (entries' marks plus the side set). */
  markCount = 0;
  /** Marked pfns with no entry (their range was freed or moved while marked); usually empty. */
  private orphans: Set<number> | null = null;

  constructor(minCap = 61) {
    this.alloc(primeAtLeast(Math.max(61, minCap)));
  }

  private alloc(cap: number): void {
    this.cap = cap;
    this.inv = 1 / cap;
    const e = new Float64Array(cap * 2);
    for (let s = 0; s < cap; s++) e[s * 2] = EMPTY;
    this.e = e;
  }

  /** The home slot of `pfn`: pfn mod cap (one floor division, corrected; keys beyond 2^53 such as the anchor take the exact remainder). */
  home(pfn: number): number {
    const cap = this.cap;
    let r = pfn - Math.floor(pfn * this.inv) * cap;
    if (r < 0) r += cap;
    else if (r >= cap) r -= cap;
    if (r >= 0 && r < cap) return r;
    return pfn % cap;
  }

  /** The slot holding `pfn`, or -1. */
  find(pfn: number): number {
    const e = this.e;
    const cap = this.cap;
    let i = this.home(pfn);
    for (;;) {
      const k = e[i * 2]!;
      if (k === pfn) return i;
      if (k === EMPTY) return -1;
      i = i + 1 === cap ? 0 : i + 1;
    }
  }

  /** pfn_hi of the entry in slot `slot`. */
  hiAt(slot: number): number {
    const v = this.e[slot * 2 + 1]!;
    return v < 0 ? -1 - v : v;
  }

  /** True if the entry in slot `slot` is marked. */
  markedAt(slot: number): boolean {
    return this.e[slot * 2 + 1]! < 0;
  }

  /** pfn_hi of the range starting at `pfn`, or -1 if none does. */
  hiOf(pfn: number): number {
    const i = this.find(pfn);
    return i < 0 ? -1 : this.hiAt(i);
  }

  /** Add or update the entry pfn_lo = `lo` -> pfn_hi = `hi` (an update keeps the mark). */
  set(lo: number, hi: number): void {
    const e = this.e;
    const cap = this.cap;
    let i = this.home(lo);
    for (;;) {
      const k = e[i * 2]!;
      if (k === lo) {
        e[i * 2 + 1] = e[i * 2 + 1]! < 0 ? -1 - hi : hi;
        return;
      }
      if (k === EMPTY) break;
      i = i + 1 === cap ? 0 : i + 1;
    }
    const orphans = this.orphans;
    e[i * 2] = lo;
    e[i * 2 + 1] = orphans !== null && orphans.delete(lo) ? -1 - hi : hi;
    this.size++;
    if (this.size * 2 > cap) this.rebuild(this.size * 4);
  }

  /** Remove the entry of `lo` (a mark on it moves to the side set). False if there was none. */
  delete(lo: number): boolean {
    const i = this.find(lo);
    if (i < 0) return false;
    if (this.e[i * 2 + 1]! < 0) {
      if (this.orphans === null) this.orphans = new Set<number>();
      this.orphans.add(lo);
    }
    this.removeAt(i);
    this.size--;
    if (this.size * 16 < this.cap && this.cap > 61) this.rebuild(this.size * 4);
    return true;
  }

  /** Empty slot `slot` and shift the following entries of its cluster back so every key stays reachable from its home. */
  private removeAt(slot: number): void {
    const e = this.e;
    const cap = this.cap;
    let i = slot;
    let j = slot;
    for (;;) {
      j = j + 1 === cap ? 0 : j + 1;
      const k = e[j * 2]!;
      if (k === EMPTY) break;
      const h = this.home(k);
      // The entry at j may move to the hole at i unless its home lies cyclically in (i, j].
      const stays = i <= j ? h > i && h <= j : h > i || h <= j;
      if (!stays) {
        e[i * 2] = k;
        e[i * 2 + 1] = e[j * 2 + 1]!;
        i = j;
      }
    }
    e[i * 2] = EMPTY;
    e[i * 2 + 1] = 0;
  }

  /** Re-insert every entry into a table of capacity primeAtLeast(max(61, n)). */
  private rebuild(n: number): void {
    const old = this.e;
    this.alloc(primeAtLeast(Math.max(61, n)));
    const e = this.e;
    const cap = this.cap;
    for (let s = 0; s < old.length; s += 2) {
      const k = old[s]!;
      if (k === EMPTY) continue;
      let i = this.home(k);
      while (e[i * 2] !== EMPTY) i = i + 1 === cap ? 0 : i + 1;
      e[i * 2] = k;
      e[i * 2 + 1] = old[s + 1]!;
    }
  }

  /** Drop every entry (their marks move to the side set). */
  clear(): void {
    const e = this.e;
    for (let s = 0; s < e.length; s += 2) {
      if (e[s] !== EMPTY && e[s + 1]! < 0) {
        if (this.orphans === null) this.orphans = new Set<number>();
        this.orphans.add(e[s]!);
      }
    }
    this.alloc(61);
    this.size = 0;
  }

  /** Every entry as [pfn_lo, pfn_hi], in slot order (model helper for tests). */
  entries(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let s = 0; s < this.cap; s++) if (this.e[s * 2] !== EMPTY) out.push([this.e[s * 2]!, this.hiAt(s)]);
    return out;
  }

  /** True if `pfn` is marked. */
  hasMark(pfn: number): boolean {
    const i = this.find(pfn);
    if (i >= 0) return this.e[i * 2 + 1]! < 0;
    return this.orphans !== null && this.orphans.has(pfn);
  }

  /** Mark the unmarked entry in slot `slot` (a slot from {@link find}, with no change to the table since). */
  markSlot(slot: number): void {
    this.e[slot * 2 + 1] = -1 - this.e[slot * 2 + 1]!;
    this.markCount++;
  }

  /** Unmark `pfn`, trying slot `hint` first (where it was last seen; -1 for none). False if it was not marked. */
  unmark(pfn: number, hint: number): boolean {
    const e = this.e;
    if (hint >= 0 && hint < this.cap && e[hint * 2] === pfn) {
      const v = e[hint * 2 + 1]!;
      if (v >= 0) return false;
      e[hint * 2 + 1] = -1 - v;
      this.markCount--;
      return true;
    }
    return this.unmarkSlow(pfn);
  }

  /** {@link unmark} without a usable hint: look the pfn up, else in the side set. */
  private unmarkSlow(pfn: number): boolean {
    const e = this.e;
    const i = this.find(pfn);
    if (i >= 0) {
      const v = e[i * 2 + 1]!;
      if (v >= 0) return false;
      e[i * 2 + 1] = -1 - v;
      this.markCount--;
      return true;
    }
    if (this.orphans !== null && this.orphans.delete(pfn)) {
      this.markCount--;
      return true;
    }
    return false;
  }
}

/**
 * The block index of one IOVA domain: the sorted ranges (the anchor last),
 * their per-block gap summaries and the search state. Owned by an IovaDomain
 * (lib/iommu/iova.ts); every pfn is an IOVA pfn. Positions are
 * (block index, index in block).
 */
export class IovaBlockIndex {
  /** The ranges in order, in blocks; the last block ends with the anchor. Empty once cleared. */
  blocks: Block[];
  /** caps columns: block i's order-k value at k * stride + i (contiguous per order, for the block skip). */
  cols: Float64Array = new Float64Array(0);
  /** Capacity (in blocks) of cols and first: a power of two above the block count. */
  stride = 0;
  /** pfn_lo of each block's first range (the block-level search key); +Infinity past the last block. */
  first: Float64Array = new Float64Array(0);
  /** Position hint (block, index) for the node a walk starts from; checked before use. */
  startB = 0;
  /** @see startB */
  startJ = 0;
  /** Result of the last {@link floorPos}: block index. */
  posB = 0;
  /** Result of the last {@link floorPos}: index in block. */
  posJ = 0;
  /** Where the last successful {@link walk} found its gap: below the range at (foundB, foundJ). */
  foundB = 0;
  /** @see foundB */
  foundJ = 0;
  // Parameters of the current search, read by scanBlock (no closure per call).
  private fSize = 0;
  private fAlign = 1;
  private fLow = 0;
  private fMinKey = 0;

  /**
   * Once {@link enableStarts} ran (the domain got rcaches): pfn_lo -> pfn_hi
   * of every range held (the anchor included), kept in step with the blocks
   * by insertBefore, removeAt, clear and {@link moveStart}; an O(1) answer to
   * "does a range start exactly at this pfn, and where does it end" for the
   * rcache free checks, with the rcaches' "cached" marks ({@link StartTable}).
   * Null before: domains without rcaches do not pay for the upkeep (a table
   * update per rbtree insert or remove).
   */
  starts: StartTable | null = null;

  /** An index holding only the anchor range [anchor, anchor] (pfn_lo = pfn_hi = `anchor`). */
  constructor(anchor: number) {
    const b = new Block();
    b.lo[0] = anchor;
    b.hi[0] = anchor;
    b.n = 1;
    this.blocks = [b];
    recount(this.blocks, 0);
    this.indexBuild();
  }

  /** Drop every range (put_iova_domain): the index is empty afterwards. */
  clear(): void {
    this.blocks = [];
    if (this.starts !== null) this.starts.clear();
  }

  /** Build {@link starts} from the ranges held and keep it from now on (idempotent). */
  enableStarts(): StartTable {
    if (this.starts === null) {
      let n = 0;
      for (const b of this.blocks) n += b.n;
      const m = new StartTable(4 * n);
      for (const b of this.blocks) for (let i = 0; i < b.n; i++) m.set(b.lo[i]!, b.hi[i]!);
      this.starts = m;
    }
    return this.starts;
  }

  /** Record that the range starting at `oldLo` (ending at `hi`) now starts at `newLo` (reserve_iova growing a range down); the caller moves the block entry. */
  moveStart(oldLo: number, newLo: number, hi: number): void {
    if (this.starts === null) return;
    this.starts.delete(oldLo);
    this.starts.set(newLo, hi);
  }

  /** Rebuild the block index (first keys and the caps columns) after the block list changed shape (split, merge, removal). */
  indexBuild(): void {
    const blocks = this.blocks;
    const nb = blocks.length;
    let stride = this.stride;
    if (stride < nb + 1) {
      // A power of two (floorPos halves it), with room past the last block.
      stride = 64;
      while (stride < 2 * nb) stride *= 2;
      this.cols = new Float64Array(stride * CAP_ORDERS);
      this.first = new Float64Array(stride);
      this.stride = stride;
    }
    const cols = this.cols;
    const first = this.first;
    for (let i = 0; i < nb; i++) {
      const b = blocks[i]!;
      const caps = b.caps;
      for (let k = 0; k < CAP_ORDERS; k++) cols[k * stride + i] = caps[k]!;
      first[i] = b.lo[0]!;
    }
    for (let i = nb; i < stride; i++) first[i] = Infinity;
  }

  /** Copy block bi's caps (exact, or an upper bound while dirty) into the columns. */
  settle(bi: number): void {
    const b = this.blocks[bi]!;
    const cols = this.cols;
    const stride = this.stride;
    const caps = b.caps;
    for (let k = 0; k < CAP_ORDERS; k++) cols[k * stride + bi] = caps[k]!;
  }

  /** The highest block index <= r whose caps[order] >= size, or -1: a tight loop over one contiguous column. */
  findBlockBelow(r: number, order: number, size: number): number {
    const cols = this.cols;
    const base = order * this.stride;
    let c = r;
    while (c >= 0 && cols[base + c]! < size) c--;
    return c;
  }

  /** Position of the highest range with pfn_lo <= key into posB/posJ; false if there is none. */
  floorPos(key: number): boolean {
    const first = this.first;
    if (this.blocks.length === 0 || first[0]! > key) return false;
    // Binary search by halving power-of-two steps; first[] reads +Infinity past the last block.
    let a = 0;
    for (let step = this.stride / 2; step >= 1; step /= 2) {
      if (first[a + step]! <= key) a += step;
    }
    const b = this.blocks[a]!;
    const lo = b.lo;
    const n = b.n;
    let i = 0;
    while (i + 1 < n && lo[i + 1]! <= key) i++;
    this.posB = a;
    this.posJ = i;
    return true;
  }

  /** True if a range starts exactly at pfn `lo` (posB/posJ are left as {@link floorPos} sets them). */
  isLo(lo: number): boolean {
    return this.floorPos(lo) && this.blocks[this.posB]!.lo[this.posJ] === lo;
  }

  /** Split the full block bi in two halves and rebuild. */
  splitBlock(bi: number): void {
    const blocks = this.blocks;
    const b = blocks[bi]!;
    const half = Math.floor(b.n / 2);
    const nb = new Block();
    nb.lo.set(b.lo.subarray(half, b.n));
    nb.hi.set(b.hi.subarray(half, b.n));
    nb.n = b.n - half;
    // Both halves keep the whole block's caps as upper bounds until a search recounts them.
    nb.caps.set(b.caps);
    nb.dirty = true;
    b.n = half;
    b.dirty = true;
    blocks.splice(bi + 1, 0, nb);
    this.indexBuild();
  }

  /** Insert the range [lo, hi] (disjoint from every range) in order. */
  insertRange(lo: number, hi: number): void {
    const blocks = this.blocks;
    // The new range goes just below X, the first range above it (the anchor at worst), in X's block:
    // the gap it splits is the gap below X, which X's block holds.
    let bi = 0;
    let j = 0;
    if (this.floorPos(lo)) {
      bi = this.posB;
      j = this.posJ + 1;
      if (j === blocks[bi]!.n) {
        bi++;
        j = 0;
      }
    }
    this.insertBefore(bi, j, lo, hi);
  }

  /** Insert the range [lo, hi] just below the range at (bi, j), in the gap below that range. */
  insertBefore(bi: number, j: number, lo: number, hi: number): void {
    const blocks = this.blocks;
    let b = blocks[bi]!;
    if (b.n === BLOCK_CAP) {
      this.splitBlock(bi);
      if (j >= b.n) {
        j -= b.n;
        bi++;
        b = blocks[bi]!;
      }
    }
    const n = b.n;
    const L = b.lo;
    const H = b.hi;
    const ph = j > 0 ? H[j - 1]! : hiBefore(blocks, bi);
    // The gap [ph + 1, X.lo) becomes two smaller ones: caps can only fall, and only if no gap reaches a maximum any more.
    if (!b.dirty) {
      dropGap(b, ph + 1, L[j]!);
    }
    // Shift up by hand: cheaper than copyWithin for a few dozen entries.
    for (let i = n; i > j; i--) {
      L[i] = L[i - 1]!;
      H[i] = H[i - 1]!;
    }
    L[j] = lo;
    H[j] = hi;
    b.n = n + 1;
    if (this.starts !== null) this.starts.set(lo, hi);
    if (j === 0) this.first[bi] = lo;
    // caps never rise on an insert: the columns stay valid upper bounds.
    this.startB = bi;
    this.startJ = j;
  }

  /** Remove the range at (bi, j) (never the anchor). */
  removeAt(bi: number, j: number): void {
    const blocks = this.blocks;
    const b = blocks[bi]!;
    const n = b.n;
    const L = b.lo;
    const H = b.hi;
    const ph = j > 0 ? H[j - 1]! : hiBefore(blocks, bi);
    if (this.starts !== null) this.starts.delete(L[j]!);
    // The gap below the removed range and the one below the next range Y merge into Y's gap.
    if (j + 1 < n) {
      // Both gaps lie inside the merged one: whatever maximum they reached, it reaches too (or beats).
      const grew = addGap(b, ph + 1, L[j + 1]!);
      for (let i = j; i < n - 1; i++) {
        L[i] = L[i + 1]!;
        H[i] = H[i + 1]!;
      }
      b.n = n - 1;
      if (j === 0) this.first[bi] = L[0]!;
      if (grew) this.settle(bi);
    } else {
      // Y is the first range of the next block (the anchor is last and never removed).
      const nx = blocks[bi + 1]!;
      const grew = addGap(nx, ph + 1, nx.lo[0]!);
      if (n === 1) {
        blocks.splice(bi, 1);
        this.indexBuild();
        return;
      }
      if (!b.dirty) dropGap(b, ph + 1, L[j]!);
      b.n = n - 1;
      if (grew) this.settle(bi + 1);
    }
    if (b.n < MERGE_BELOW) {
      // Merged caps are the maxima of both: the second block's gaps stay the same gaps.
      const nx = bi + 1 < blocks.length ? blocks[bi + 1]! : null;
      const pv = bi > 0 ? blocks[bi - 1]! : null;
      let into: Block | null = null;
      let from: Block | null = null;
      let at = 0;
      if (nx !== null && b.n + nx.n <= MERGE_MAX) {
        into = b;
        from = nx;
        at = bi + 1;
      } else if (pv !== null && pv.n + b.n <= MERGE_MAX) {
        into = pv;
        from = b;
        at = bi;
      }
      if (into !== null && from !== null) {
        into.lo.set(from.lo.subarray(0, from.n), into.n);
        into.hi.set(from.hi.subarray(0, from.n), into.n);
        into.n += from.n;
        into.dirty = into.dirty || from.dirty;
        const ic = into.caps;
        const fc = from.caps;
        for (let k = 0; k < CAP_ORDERS; k++) if (fc[k]! > ic[k]!) ic[k] = fc[k]!;
        blocks.splice(at, 1);
        this.indexBuild();
      }
    }
  }

  /**
   * Check the gaps below block bi's ranges j, j-1, ..., 0 in that order with
   * the kernel's arithmetic. Returns the new pfn_lo, -1 if the pass fails
   * (a fitting gap whose candidate is below low, or a range below
   * low + size reached), or -2 if no gap in the block fits.
   */
  private scanBlock(blocks: Block[], bi: number, j: number): number {
    const b = blocks[bi]!;
    const L = b.lo;
    const H = b.hi;
    const size = this.fSize;
    for (let i = j; i >= 0; i--) {
      const top = L[i]!;
      if (top < this.fMinKey) return -1;
      const ph = i > 0 ? H[i - 1]! : hiBefore(blocks, bi);
      if (top - ph - 1 >= size) {
        // Plain division: pfns are below 2^53, align is a power of two.
        const cand = Math.floor((top - size) / this.fAlign) * this.fAlign;
        if (cand > ph) {
          this.foundB = bi;
          this.foundJ = i;
          return cand >= this.fLow ? cand : -1;
        }
      }
    }
    return -2;
  }

  /**
   * One pass of the kernel's backwards walk, answered from the blocks.
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
   * Below that, the pass looks for the highest range N with
   * low + size <= N.pfn_lo <= top.pfn_lo whose gap below fits:
   * alignDown(N.pfn_lo - size, align) > (pfn_hi of the range before N, or -1).
   * Ranges below low + size cannot give a candidate >= low, and pfn_lo falls,
   * so the scan stops at the first of them (stopping there or going on to
   * the first fitting gap below gives the same failure). The start block is
   * scanned gap by gap from the top node down; then a scan of one contiguous
   * column of block summaries names the next lower block whose summary at
   * `order` (min(log2 align, 6)) is at least size, and that block is scanned from its top. For align <= 64 an
   * exact summary guarantees a fitting gap there; a stale one (an upper bound)
   * or an align > 64 (the 2^6 summary is only a necessary condition) may miss,
   * and then the search goes on below it (recounting a stale block first).
   *
   * @returns the new pfn_lo, or -1 if this pass fails.
   */
  walk(startLo: number, limit: number, size: number, align: number, order: number, low: number): number {
    const blocks = this.blocks;
    let bi: number;
    let j: number;
    if (startLo >= limit) {
      // Skip the ranges at or above the limit: first the gap that holds the limit.
      if (!this.floorPos(limit - 1)) {
        // No range below the limit.
        if (limit < size) return -1;
        const cand = Math.floor((limit - size) / align) * align;
        this.foundB = 0;
        this.foundJ = 0;
        return cand >= low ? cand : -1;
      }
      const belowHi = blocks[this.posB]!.hi[this.posJ]!;
      if (belowHi < limit) {
        if (limit < size) return -1;
        const cand = Math.floor((limit - size) / align) * align;
        if (cand > belowHi) {
          // The gap lies below the range after `below` (the anchor at worst).
          this.foundB = this.posB;
          this.foundJ = this.posJ + 1;
          if (this.foundJ === blocks[this.posB]!.n) {
            this.foundB++;
            this.foundJ = 0;
          }
          return cand >= low ? cand : -1;
        }
      }
      bi = this.posB;
      j = this.posJ;
    } else {
      // The start node is in the domain; its last known position is usually still right.
      const hb = this.startB;
      const hj = this.startJ;
      if (hb < blocks.length && hj < blocks[hb]!.n && blocks[hb]!.lo[hj] === startLo) {
        bi = hb;
        j = hj;
      } else {
        this.floorPos(startLo);
        bi = this.posB;
        j = this.posJ;
      }
    }
    this.fSize = size;
    this.fAlign = align;
    this.fLow = low;
    this.fMinKey = low + size;
    if (blocks[bi]!.lo[j]! < this.fMinKey) return -1;
    if (blocks[bi]!.caps[order]! >= size) {
      const r = this.scanBlock(blocks, bi, j);
      if (r !== -2) return r;
    }
    for (;;) {
      bi = this.findBlockBelow(bi - 1, order, size);
      if (bi < 0) return -1;
      const r = this.scanBlock(blocks, bi, blocks[bi]!.n - 1);
      if (r !== -2) return r;
      // A stale (too high) summary sent the search here: make it exact now that the block is known to miss.
      if (blocks[bi]!.dirty) {
        recount(blocks, bi);
        this.settle(bi);
      }
    }
  }
}
