/**
 * What one DMA mapping operation costs, by component: the counts of what
 * the operation did (calls, PTEs written, IOTLB commands, IOVA allocations
 * by path, bytes bounced) times the per-operation figures of the platform's
 * cost file (data/costs/<id>.json, lib/cost/schema.ts). The counts come from
 * the model (the trace and the IOMMU domain's counters); this module only
 * multiplies and adds, so every charged nanosecond can be traced to one
 * cost parameter and its source.
 */
import { checkInt } from "../core/arith.js";
import { ModelConfigError } from "../core/errors.js";
import type { CostValues } from "./schema.js";

/** The components of an operation's cost, in the order charts stack them. */
export const DMA_COST_COMPONENTS = [
  "map call",
  "iommu-dma path",
  "cache maintenance",
  "bounce copy",
  "IOVA alloc (rcache)",
  "IOVA alloc (rbtree)",
  "IOVA free (rcache)",
  "IOVA free (rbtree)",
  "PTE writes",
  "IOTLB invalidation",
  "FQ flush",
] as const;
/** One component of {@link DMA_COST_COMPONENTS}. */
export type DmaCostComponent = (typeof DMA_COST_COMPONENTS)[number];

/** What one or more DMA API calls did, as counts (all non-negative integers except `maintenanceNs`). */
export interface DmaOpCounts {
  /** DMA API calls (map, unmap, sync): each pays mapCallNs. */
  calls: number;
  /** Of those, calls that went through iommu-dma's iommu_map / iommu_unmap: each pays iommuDmaCallNs. */
  iommuCalls: number;
  /** Cache maintenance the model charged for these calls, ns (lines x per-line figures, lib/dma/arch). */
  maintenanceNs: number;
  /** Bytes swiotlb copied (map, sync or unmap), each paid at cachedByteNs. */
  bounceBytes: number;
  /** alloc_iova_fast served by the rcache / by alloc_iova (the rbtree). */
  iovaAllocFast: number;
  iovaAllocSlow: number;
  /** free_iova_fast into the rcache / free_iova into the rbtree. */
  iovaFreeFast: number;
  iovaFreeSlow: number;
  /** IOMMU PTEs written (map) plus cleared (unmap). */
  pteWrites: number;
  /** Granule pages named one by one in range invalidations (0 where the IOMMU invalidates a range with one command). */
  iotlbInvalidatePages: number;
  /** Range invalidations waited for (iommu_iotlb_sync: CMD_SYNC, VT-d wait descriptor, M4U poll). */
  iotlbSyncs: number;
  /** Whole-domain IOTLB flushes (flush_iotlb_all, the flush queue's flush). */
  iotlbFlushAll: number;
}

/** Costs by component, ns, and their sum. */
export interface DmaCostBreakdown {
  byComponent: Record<DmaCostComponent, number>;
  totalNs: number;
}

/** Counts of an operation that did nothing. */
export function emptyDmaOpCounts(): DmaOpCounts {
  return { calls: 0, iommuCalls: 0, maintenanceNs: 0, bounceBytes: 0, iovaAllocFast: 0, iovaAllocSlow: 0, iovaFreeFast: 0, iovaFreeSlow: 0, pteWrites: 0, iotlbInvalidatePages: 0, iotlbSyncs: 0, iotlbFlushAll: 0 };
}

/** Throws ModelConfigError naming `${name}.${field}` for a count that is not a non-negative integer (maintenanceNs: a finite number >= 0), or a record that is not an object. */
function checkCounts(name: string, n: DmaOpCounts): void {
  if (typeof n !== "object" || n === null) throw new ModelConfigError(name, n, "a DmaOpCounts record (emptyDmaOpCounts())");
  for (const k of Object.keys(emptyDmaOpCounts()) as Array<keyof DmaOpCounts>) {
    if (k === "maintenanceNs") {
      if (typeof n[k] !== "number" || !Number.isFinite(n[k]) || n[k] < 0 || n[k] > Number.MAX_SAFE_INTEGER) throw new ModelConfigError(`${name}.${k}`, n[k], "a finite number of ns in [0, 2^53 - 1]");
    } else checkInt(`${name}.${k}`, n[k], 0);
  }
}

/**
 * Field-by-field sum of two count records (a new object).
 * @throws ModelConfigError naming `a.<field>` / `b.<field>` for a count that
 * is not a non-negative integer (maintenanceNs: a finite number >= 0), or a
 * sum above 2^53 - 1.
 */
export function addDmaOpCounts(a: DmaOpCounts, b: DmaOpCounts): DmaOpCounts {
  checkCounts("a", a);
  checkCounts("b", b);
  const r = emptyDmaOpCounts();
  for (const k of Object.keys(r) as Array<keyof DmaOpCounts>) if (!(a[k] + b[k] <= Number.MAX_SAFE_INTEGER)) throw new ModelConfigError(`b.${k}`, b[k], `a count whose sum with a.${k} (${a[k]}) stays below 2^53`);
  for (const k of Object.keys(r) as Array<keyof DmaOpCounts>) r[k] = a[k] + b[k];
  return r;
}

/**
 * Charge counts at a platform's figures: map call = calls x mapCallNs;
 * iommu-dma path = iommuCalls x iommuDmaCallNs; cache maintenance as
 * given; bounce copy = bounceBytes x cachedByteNs (swiotlb copies through
 * the cache); IOVA components = count x the path's figure; PTE writes =
 * pteWrites x iommuPteWriteNs; IOTLB invalidation = pages x
 * iotlbInvalidatePageNs + syncs x iotlbSyncNs; FQ flush = flushes x
 * iotlbFlushAllNs.
 * @returns ns per component and the total.
 * @throws ModelConfigError naming a count that is not a non-negative
 * integer (maintenanceNs: a finite number >= 0).
 */
export function chargeDmaOp(c: CostValues, n: DmaOpCounts): DmaCostBreakdown {
  checkCounts("counts", n);
  const byComponent: Record<DmaCostComponent, number> = {
    "map call": n.calls * c.mapCallNs,
    "iommu-dma path": n.iommuCalls * c.iommuDmaCallNs,
    "cache maintenance": n.maintenanceNs,
    "bounce copy": n.bounceBytes * c.cachedByteNs,
    "IOVA alloc (rcache)": n.iovaAllocFast * c.iovaAllocFastNs,
    "IOVA alloc (rbtree)": n.iovaAllocSlow * c.iovaAllocSlowNs,
    "IOVA free (rcache)": n.iovaFreeFast * c.iovaFreeFastNs,
    "IOVA free (rbtree)": n.iovaFreeSlow * c.iovaFreeSlowNs,
    "PTE writes": n.pteWrites * c.iommuPteWriteNs,
    "IOTLB invalidation": n.iotlbInvalidatePages * c.iotlbInvalidatePageNs + n.iotlbSyncs * c.iotlbSyncNs,
    "FQ flush": n.iotlbFlushAll * c.iotlbFlushAllNs,
  };
  let totalNs = 0;
  for (const k of DMA_COST_COMPONENTS) totalNs += byComponent[k];
  return { byComponent, totalNs };
}
