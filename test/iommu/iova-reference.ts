/**
 * A deliberately literal reference of the kernel's IOVA rbtree allocator,
 * used to check lib/iommu/iova.ts op by op (tests) and as the slow baseline
 * of bench/iova.bench.ts. Written from the rules of drivers/iommu/iova.c
 * (v6.19): the ranges sit in one array sorted by pfn_lo, so rb_prev() and
 * rb_next() are index - 1 and index + 1, and the allocation walk steps down
 * one range at a time exactly like `__alloc_and_insert_iova_range()`,
 * including the unsigned wrap of `high_pfn - size`.
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

  constructor(granule: number, startPfn: number) {
    this.granule = granule;
    this.startPfn = startPfn;
    // dma_32bit_pfn = 1UL << (32 - iova_shift) = 2^32 / granule.
    this.dma32Pfn = 2 ** 32 / granule;
    this.max32AllocSize = this.dma32Pfn;
    this.anchor = { pfnLo: ANCHOR, pfnHi: ANCHOR };
    this.nodes = [this.anchor];
    this.cachedNode = this.anchor;
    this.cached32Node = this.anchor;
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
    const limitPfn = limitPfnArg + 1; // alloc_iova passes limit_pfn + 1
    // align_mask = ~0UL << fls_long(size - 1): alignment A = 2^fls(size - 1).
    let shift = 0;
    if (sizeAligned) while (2 ** shift < size) shift++; // smallest shift with 2^shift >= size == fls(size - 1)
    const A = 2 ** shift;
    let highPfn = limitPfn;
    let lowPfn = this.startPfn;
    if (limitPfn <= this.dma32Pfn && size >= this.max32AllocSize) return null;
    let curr: RefIova | null = limitPfn <= this.dma32Pfn ? this.cached32Node : this.cachedNode;
    let currIdx = this.indexOf(curr);
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
        if (!(curr !== null && newPfn <= curr.pfnHi && newPfn >= lowPfn)) break;
      }
      if (highPfn < size || newPfn < lowPfn) {
        if (lowPfn === this.startPfn && retryPfn < limitPfn) {
          highPfn = limitPfn;
          lowPfn = retryPfn + 1;
          curr = this.anchor;
          currIdx = this.nodes.length - 1;
          continue;
        }
        this.max32AllocSize = size;
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
    if (n === c32 || (n.pfnHi < this.dma32Pfn && n.pfnLo >= c32.pfnLo)) this.cached32Node = next;
    if (n.pfnLo < this.dma32Pfn) this.max32AllocSize = this.dma32Pfn;
    if (n.pfnLo >= this.cachedNode.pfnLo) this.cachedNode = next;
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
