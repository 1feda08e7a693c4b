/**
 * A deliberately literal reference of the kernel's IOVA rbtree allocator,
 * used to check lib/iommu/iova.ts op by op (tests) and as the slow baseline
 * of bench/iova.bench.ts. Written from the rules of drivers/iommu/iova.c
 * (v6.19 by default; any release from v4.4 with the `kernel` option): the
 * ranges sit in one array sorted by pfn_lo, so rb_prev() and rb_next() are
 * index - 1 and index + 1, and the allocation walk steps down one range at a
 * time exactly like `__alloc_and_insert_iova_range()` of that release,
 * including the unsigned wraps (`high_pfn - size` from v4.15; the unsigned
 * int `pad_size` before).
 *
 * Releases, each walk written from our reading of the release's code (the
 * switches are decided here on their own, from the release number, not from
 * lib/iommu/iova-release.ts, so that the tests compare two readings):
 * - v4.4 .. v4.12 (read in 4.4.1, 4.7.4, 4.9.0, 4.10.17, 4.11.0, 4.12.0):
 *   inclusive limit_pfn; no anchor (the array's anchor is never visited);
 *   cached32_node is used when limit_pfn == pfn_32bit (from v4.10: <=), its
 *   pfn_lo - 1 then becoming the limit; updated when limit_pfn == pfn_32bit;
 *   a node is passed if the limit is below its pfn_lo, the limit drops to
 *   pfn_lo - 1 if it is below its pfn_hi, else the range goes above the node
 *   if pfn_hi + size + pad <= limit, else the limit drops; with no node left,
 *   start_pfn + size + pad must be <= limit. pfn_lo - 1 of a node at pfn 0
 *   wraps before v4.12 (the reference throws: not representable) and is 0
 *   from v4.12.
 * - v4.13, v4.14 (4.13.9, 4.14.177): the same with an exclusive limit
 *   (limit_pfn + 1, dma_32bit_pfn = pfn_32bit + 1).
 * - v4.15 .. v6.19: the walk below, with max32_alloc_size from v5.0 (the fast
 *   fail also storing size in v5.0 only), freeing the cached32 node itself
 *   always moving it from v5.3 (before, a stale cached32 node stays: the
 *   reference keeps the freed object and its rb_prev() is the highest live
 *   node below its pfn_lo), the retry from v5.11 (retry_pfn = pfn_hi + 1,
 *   0 for the anchor, until v6.2; pfn_hi after), and the max32 reset on any
 *   free below 4 GiB from v5.18.
 * A NULL cached32_node (before v4.15) is stored as the anchor object.
 *
 * One simplification, equal in placement: the retry pass restarts at the
 * anchor (as releases before iova_find_limit() did) instead of at
 * iova_find_limit(); from the anchor the walk passes every range above the
 * limit without a fit (the candidate is below the limit, inside them).
 */

/** `struct iova` of the reference. */
export interface RefIova {
  pfnLo: number;
  pfnHi: number;
}

/** IOVA_ANCHOR (~0UL) as the nearest double. */
const ANCHOR = 2 ** 64;

/** Options of the reference domain: the release ("v4.4" .. "v6.19") and the pre-v4.15 pfn_32bit. */
export interface RefIovaOptions {
  kernel?: string;
  pfn32bit?: number;
}

/** "vX.Y" to X * 100 + Y (the reference's own release arithmetic). */
function relNum(kernel: string): number {
  const m = /^v?(\d+)\.(\d+)/.exec(kernel);
  if (!m) throw new Error(`reference: bad release ${kernel}`);
  return Number(m[1]) * 100 + Number(m[2]);
}

/** The reference domain: `struct iova_domain` without rcaches. */
export class RefIovaDomain {
  readonly granule: number;
  readonly startPfn: number;
  readonly dma32Pfn: number;
  max32AllocSize: number;
  /** Sorted by pfnLo; the last element is always the anchor. */
  readonly nodes: RefIova[];
  readonly anchor: RefIova;
  cachedNode: RefIova;
  cached32Node: RefIova;
  /** Total rb_prev() steps taken by allocations (the kernel's cost driver). */
  prevSteps = 0;
  /** The release as X * 100 + Y (619 for v6.19). */
  readonly rel: number;
  /** pfn_32bit of the pre-v4.15 init (a limit_pfn), else -1. */
  readonly pfn32bit: number;

  constructor(granule: number, startPfn: number, opts: RefIovaOptions = {}) {
    this.granule = granule;
    this.startPfn = startPfn;
    this.rel = relNum(opts.kernel ?? "v6.19");
    if (this.rel >= 415) {
      // dma_32bit_pfn = 1UL << (32 - iova_shift) = 2^32 / granule.
      this.dma32Pfn = 2 ** 32 / granule;
      this.pfn32bit = -1;
    } else {
      this.pfn32bit = opts.pfn32bit ?? 2 ** 32 / granule - 1;
      // v4.13 stores pfn_32bit + 1 (its limits are exclusive).
      this.dma32Pfn = this.rel >= 413 ? this.pfn32bit + 1 : this.pfn32bit;
    }
    this.max32AllocSize = this.dma32Pfn;
    this.anchor = { pfnLo: ANCHOR, pfnHi: ANCHOR };
    this.nodes = [this.anchor];
    this.cachedNode = this.anchor;
    this.cached32Node = this.anchor;
  }

  /** Number of nodes with pfnLo below `pfn`: the index a node at `pfn` would take. */
  private countBelow(pfn: number): number {
    let lo = 0;
    let hi = this.nodes.length;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.nodes[mid]!.pfnLo < pfn) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the node with this exact pfnLo (binary search). */
  private indexOf(node: RefIova): number {
    let lo = 0;
    let hi = this.nodes.length - 1;
    while (lo <= hi) {
      const mid = Math.floor((lo + hi) / 2);
      const m = this.nodes[mid]!;
      if (m === node) return mid;
      if (m.pfnLo < node.pfnLo) lo = mid + 1;
      else hi = mid - 1;
    }
    throw new Error("reference: node not in tree");
  }

  private insertSorted(node: RefIova): void {
    let lo = 0;
    let hi = this.nodes.length;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.nodes[mid]!.pfnLo < node.pfnLo) lo = mid + 1;
      else hi = mid;
    }
    if (this.nodes[lo] !== undefined && this.nodes[lo]!.pfnLo === node.pfnLo) throw new Error("reference: duplicate pfn_lo (kernel WARN_ON)");
    this.nodes.splice(lo, 0, node);
  }

  /** alloc_iova(iovad, size, limit_pfn, size_aligned). */
  alloc(size: number, limitPfnArg: number, sizeAligned: boolean): RefIova | null {
    if (this.rel < 415) return this.rel >= 413 ? this.allocExclusive(size, limitPfnArg, sizeAligned) : this.allocInclusive(size, limitPfnArg, sizeAligned);
    const limitPfn = limitPfnArg + 1; // alloc_iova passes limit_pfn + 1
    // align_mask = ~0UL << fls_long(size - 1): alignment A = 2^fls(size - 1).
    let shift = 0;
    if (sizeAligned) while (2 ** shift < size) shift++; // smallest shift with 2^shift >= size == fls(size - 1)
    const A = 2 ** shift;
    let highPfn = limitPfn;
    let lowPfn = this.startPfn;
    if (this.rel >= 500 && limitPfn <= this.dma32Pfn && size >= this.max32AllocSize) {
      if (this.rel < 501) this.max32AllocSize = size; // v5.0: iova32_full stores size on this path too
      return null;
    }
    let curr: RefIova | null = limitPfn <= this.dma32Pfn ? this.cached32Node : this.cachedNode;
    // A freed (stale) cached32 node, possible before v5.3: rb_prev() of it is taken as the highest live node below its pfn_lo.
    let currIdx = this.rel < 503 && !this.nodes.includes(curr) ? this.countBelow(curr.pfnLo) : this.indexOf(curr);
    const retryPfn = curr.pfnHi;
    let newPfn = 0;
    for (;;) {
      // do { ... } while (curr && new_pfn <= curr->pfn_hi && new_pfn >= low_pfn)
      for (;;) {
        highPfn = Math.min(highPfn, curr!.pfnLo);
        // (high_pfn - size) & align_mask, unsigned: a negative difference wraps near 2^64.
        newPfn = highPfn >= size ? Math.floor((highPfn - size) / A) * A : ANCHOR - (size - highPfn);
        currIdx -= 1;
        this.prevSteps++;
        curr = currIdx >= 0 ? this.nodes[currIdx]! : null;
        // Before v5.11 the loop has no low_pfn test (the outcome is the same: the candidates only fall).
        if (!(curr !== null && newPfn <= curr.pfnHi && (this.rel < 511 || newPfn >= lowPfn))) break;
      }
      if (highPfn < size || newPfn < lowPfn) {
        if (this.rel >= 511 && lowPfn === this.startPfn) {
          // v5.11 .. v6.1: retry_pfn = pfn_hi + 1 (~0UL + 1 wraps to 0), low = retry_pfn; v6.2 on: retry_pfn = pfn_hi, low = retry_pfn + 1.
          const wraps = this.rel < 602;
          const rp = wraps ? (retryPfn === ANCHOR ? 0 : retryPfn + 1) : retryPfn;
          if (rp < limitPfn) {
            highPfn = limitPfn;
            lowPfn = wraps ? rp : rp + 1;
            curr = this.anchor;
            currIdx = this.nodes.length - 1;
            continue;
          }
        }
        if (this.rel >= 500) this.max32AllocSize = size;
        return null;
      }
      break;
    }
    const node: RefIova = { pfnLo: newPfn, pfnHi: newPfn + size - 1 };
    this.insertSorted(node);
    // __cached_rbnode_insert_update
    if (node.pfnHi < this.dma32Pfn) this.cached32Node = node;
    else this.cachedNode = node;
    return node;
  }

  /** iova_get_pad_size(): (x - size) & (roundup_pow_of_two(size) - 1) in unsigned int arithmetic (the power divides 2^32). */
  private pad(x: number, size: number, aligned: boolean): number {
    if (!aligned) return 0;
    if (size > 2 ** 31) throw new Error("reference: size above 2^31 in iova_get_pad_size");
    let p = 1;
    while (p < size) p *= 2;
    return (((x - size) % p) + p) % p;
  }

  /** The pre-v4.15 node before the anchor: rb_last() of a tree without one (-1 when empty). */
  private lastReal(): number {
    return this.nodes.length - 2;
  }

  /** alloc_iova of v4.4 .. v4.12: inclusive limit_pfn. */
  private allocInclusive(size: number, limitPfnArg: number, sizeAligned: boolean): RefIova | null {
    let limit = limitPfnArg;
    const saved = limit;
    const c32 = this.cached32Node;
    const useCached = c32 !== this.anchor && (this.rel >= 410 ? limit <= this.dma32Pfn : limit === this.dma32Pfn);
    let idx: number;
    if (useCached) {
      idx = this.indexOf(c32) - 1;
      if (c32.pfnLo === 0) throw new Error("reference: pfn_lo - 1 wraps (cached32 at pfn 0)");
      limit = c32.pfnLo - 1;
    } else {
      idx = this.lastReal();
    }
    let pad = 0;
    while (idx >= 0) {
      const n = this.nodes[idx]!;
      this.prevSteps++;
      if (limit < n.pfnLo) {
        idx--;
        continue;
      }
      if (limit >= n.pfnHi) {
        pad = this.pad(limit + 1, size, sizeAligned);
        if (n.pfnHi + size + pad <= limit) break;
      }
      if (n.pfnLo === 0) {
        if (this.rel < 412) throw new Error("reference: pfn_lo - 1 wraps (a node at pfn 0)");
        limit = 0;
      } else {
        limit = n.pfnLo - 1;
      }
      idx--;
    }
    if (idx < 0) {
      pad = this.pad(limit + 1, size, sizeAligned);
      if (this.startPfn + size + pad > limit) return null;
    }
    const node: RefIova = { pfnLo: limit - (size + pad) + 1, pfnHi: limit - pad };
    this.insertSorted(node);
    if (saved === this.dma32Pfn) this.cached32Node = node;
    return node;
  }

  /** alloc_iova of v4.13, v4.14: alloc_iova passes limit_pfn + 1, the walk works below it. */
  private allocExclusive(size: number, limitPfnArg: number, sizeAligned: boolean): RefIova | null {
    let limit = limitPfnArg + 1;
    const saved = limit;
    const c32 = this.cached32Node;
    let idx: number;
    if (c32 !== this.anchor && !(limit > this.dma32Pfn)) {
      idx = this.indexOf(c32) - 1;
      limit = c32.pfnLo;
    } else {
      idx = this.lastReal();
    }
    let pad = 0;
    while (idx >= 0) {
      const n = this.nodes[idx]!;
      this.prevSteps++;
      if (limit <= n.pfnLo) {
        idx--;
        continue;
      }
      if (limit > n.pfnHi) {
        pad = this.pad(limit, size, sizeAligned);
        if (n.pfnHi + size + pad < limit) break;
      }
      limit = n.pfnLo;
      idx--;
    }
    if (idx < 0) {
      pad = this.pad(limit, size, sizeAligned);
      if (this.startPfn + size + pad > limit) return null;
    }
    const lo = limit - (size + pad);
    const node: RefIova = { pfnLo: lo, pfnHi: lo + size - 1 };
    this.insertSorted(node);
    if (saved === this.dma32Pfn) this.cached32Node = node;
    return node;
  }

  /** find_iova: linear scan (obviously right). */
  find(pfn: number): RefIova | null {
    for (const n of this.nodes) if (n !== this.anchor && pfn >= n.pfnLo && pfn <= n.pfnHi) return n;
    return null;
  }

  /** free_iova(iovad, pfn). */
  free(pfn: number): RefIova | null {
    const n = this.find(pfn);
    if (n === null) return null;
    const idx = this.indexOf(n);
    const next = this.nodes[idx + 1]!; // rb_next; the anchor is always above
    // __cached_rbnode_delete_update
    const c32 = this.cached32Node;
    if (this.rel < 415) {
      // Only cached32_node (NULL stored as the anchor): moved to the successor, or cleared, when the freed node is at or above it.
      if (c32 !== this.anchor && n.pfnLo >= c32.pfnLo) {
        this.cached32Node = next !== this.anchor && next.pfnLo < this.dma32Pfn ? next : this.anchor;
      }
    } else {
      const moved = (this.rel >= 503 && n === c32) || (n.pfnHi < this.dma32Pfn && n.pfnLo >= c32.pfnLo);
      if (moved) this.cached32Node = next;
      if (this.rel >= 518 ? n.pfnLo < this.dma32Pfn : this.rel >= 500 && moved) this.max32AllocSize = this.dma32Pfn;
      if (n.pfnLo >= this.cachedNode.pfnLo) this.cachedNode = next;
    }
    this.nodes.splice(idx, 1);
    return n;
  }

  /** reserve_iova(iovad, pfn_lo, pfn_hi): the rb_first() .. rb_next() loop, literally. */
  reserve(pfnLoArg: number, pfnHi: number): RefIova {
    let pfnLo = pfnLoArg;
    let overlap = false;
    for (let i = 0; i < this.nodes.length; i++) {
      const n = this.nodes[i]!;
      if (pfnLo <= n.pfnHi && pfnHi >= n.pfnLo) {
        // __adjust_overlap_range
        if (pfnLo < n.pfnLo) n.pfnLo = pfnLo;
        if (pfnHi > n.pfnHi) pfnLo = n.pfnHi + 1;
        if (pfnLo >= n.pfnLo && pfnHi <= n.pfnHi) return n;
        overlap = true;
      } else if (overlap) break;
    }
    const node: RefIova = { pfnLo, pfnHi };
    this.insertSorted(node);
    return node;
  }

  /** All ranges but the anchor, lowest first. */
  ranges(): RefIova[] {
    return this.nodes.filter((n) => n !== this.anchor).map((n) => ({ pfnLo: n.pfnLo, pfnHi: n.pfnHi }));
  }
}
