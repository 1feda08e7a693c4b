/**
 * A bounded model of an IOMMU's IOTLB: the translation cache the IOMMU
 * fills on a device access and the driver empties with invalidation
 * commands (VT-d IOTLB invalidate, AMD-Vi INVALIDATE_IOMMU_PAGES, SMMUv3
 * TLBI + CMD_SYNC). It counts hits, misses, evictions and invalidations per
 * workload, and keeps a translation after its mapping is gone until it is
 * invalidated: the window the flush queue (lib/iommu/flush-queue.ts) leaves
 * open in lazy mode.
 *
 * This is not kernel code: the kernel has no IOTLB model, only the calls
 * that invalidate it (iommu_iotlb_sync() with a gathered range after
 * iommu_unmap_fast() in strict mode; ops->flush_iotlb_all() from the flush
 * queue in lazy mode: drivers/iommu/dma-iommu.c __iommu_dma_unmap(),
 * fq_flush_iotlb(), v6.19). The entry count, the replacement policy and the
 * page sizes are MODEL PARAMETERS, not taken from any hardware manual or
 * measurement: the project's reference notes record no IOTLB sizes and no
 * per-invalidation latencies (/work/shared/reference/history-and-costs.md,
 * rows 25 and 28: "IOTLB invalidation latency ... NOT FOUND"; row 25 only
 * reports that SW+HW changes cut IOTLB miss rates by more than 60%). Use it
 * to count events, not to predict time.
 *
 * Model: a fully associative cache of `entries` translations. An entry is
 * tagged by (page size, base IOVA aligned down to that size); a lookup of an
 * address hits an entry of any page size that covers it. Replacement is LRU
 * (`policy: "lru"`, a hit makes the entry most recent) or FIFO
 * (`policy: "fifo"`, a hit changes nothing); a miss inserts the
 * translation, evicting the least recent (LRU) or oldest (FIFO) entry when
 * full. Range invalidation drops every entry whose page overlaps the range
 * and counts one command; invalidate-all drops everything and counts one
 * command. Addresses are IOVAs in bytes (exact JS integers below 2^53).
 */
import { alignDown, checkInt, isPowerOf2 } from "../core/arith.js";
import { ModelConfigError } from "../core/errors.js";

/** Replacement policy of the model IOTLB. */
export type IotlbPolicy = "lru" | "fifo";

/** Options of {@link iotlbCreate}. */
export interface IotlbOptions {
  /** Capacity, translations: an integer in [1, 65536]. A model parameter (no kernel source). */
  readonly entries: number;
  /** Replacement policy, default "lru". */
  readonly policy?: IotlbPolicy;
}

/** Counters of one IOTLB, since creation or the last {@link iotlbResetStats}. */
export interface IotlbStats {
  hits: number;
  misses: number;
  /** Accesses to an unmapped address that a held (stale) translation still served. */
  staleHits: number;
  /** Entries pushed out by a miss into a full IOTLB. */
  evictions: number;
  /** Range invalidation commands (iommu_iotlb_sync of a gathered range). */
  invalidateRange: number;
  /** Invalidate-all commands (flush_iotlb_all). */
  invalidateAll: number;
  /** Entries removed by invalidations of either kind. */
  entriesInvalidated: number;
}

interface Entry {
  readonly base: number;
  readonly pageSize: number;
  /** Physical address of the page the translation points at, when the caller gave it (see {@link iotlbHeldPhys}). */
  readonly paddr?: number;
}

/** A model IOTLB. Build with {@link iotlbCreate}. */
export class Iotlb {
  readonly entries: number;
  readonly policy: IotlbPolicy;
  /** @internal key -> entry, in recency (LRU) or insertion (FIFO) order, oldest first. */
  readonly _map = new Map<string, Entry>();
  /** @internal page sizes with at least one entry, with their counts. */
  readonly _sizes = new Map<number, number>();
  readonly stats: IotlbStats = { hits: 0, misses: 0, staleHits: 0, evictions: 0, invalidateRange: 0, invalidateAll: 0, entriesInvalidated: 0 };
  /** @internal use {@link iotlbCreate}. */
  constructor(entries: number, policy: IotlbPolicy) {
    this.entries = entries;
    this.policy = policy;
  }
  /** Translations held now. */
  get size(): number {
    return this._map.size;
  }
}

/**
 * A model IOTLB with `entries` translations and the given policy (see the
 * file header: both are model parameters).
 * @throws ModelConfigError for entries outside [1, 65536] or an unknown policy.
 */
export function iotlbCreate(options: IotlbOptions): Iotlb {
  if (typeof options !== "object" || options === null) throw new ModelConfigError("iotlbCreate(options)", options, "{ entries, policy? }");
  checkInt("iotlbCreate(options.entries)", options.entries, 1, 65536);
  const policy = options.policy ?? "lru";
  if (policy !== "lru" && policy !== "fifo") throw new ModelConfigError("iotlbCreate(options.policy)", policy, '"lru" or "fifo"');
  return new Iotlb(options.entries, policy);
}

function key(pageSize: number, base: number): string {
  return `${pageSize}:${base}`;
}

function checkPage(fn: string, pageSize: number): void {
  if (!(Number.isSafeInteger(pageSize) && pageSize >= 4096 && isPowerOf2(pageSize) && pageSize <= 2 ** 40)) {
    throw new ModelConfigError(`${fn}(pageSize)`, pageSize, "a power of two in [4096, 2^40] bytes (the mapping's leaf page size)");
  }
}

function find(tlb: Iotlb, iova: number): string | null {
  for (const ps of tlb._sizes.keys()) {
    const k = key(ps, alignDown(iova, ps));
    if (tlb._map.has(k)) return k;
  }
  return null;
}

function drop(tlb: Iotlb, k: string): void {
  const e = tlb._map.get(k)!;
  tlb._map.delete(k);
  const n = tlb._sizes.get(e.pageSize)! - 1;
  if (n === 0) tlb._sizes.delete(e.pageSize);
  else tlb._sizes.set(e.pageSize, n);
}

/**
 * A device access to `iova` translated through a mapping whose leaf page is
 * `pageSize` bytes: a hit if a held translation covers `iova` (LRU: it
 * becomes most recent), else a miss that inserts (pageSize, alignDown(iova,
 * pageSize)), evicting one entry if full. The caller says whether the
 * address is mapped; an unmapped address (a fault) is not cached: pass
 * `mapped = false` to count nothing and get "fault" unless a stale entry
 * still covers it, which is counted as a stale hit ("stale").
 * A miss fills the entry; `paddr` (optional) is the physical address of the
 * page's start, kept so a later stale hit can say where the device goes
 * ({@link iotlbHeldPhys}).
 * @returns "hit", "miss", "stale" (a held translation of an unmapped
 *   address: the device still reaches the old page) or "fault".
 * @throws ModelConfigError for a bad address or page size.
 */
export function iotlbAccess(tlb: Iotlb, iova: number, pageSize: number, mapped = true, paddr?: number): "hit" | "miss" | "stale" | "fault" {
  checkInt("iotlbAccess(iova)", iova);
  checkPage("iotlbAccess", pageSize);
  if (paddr !== undefined) checkInt("iotlbAccess(paddr)", paddr);
  const k = find(tlb, iova);
  if (k !== null) {
    if (mapped) tlb.stats.hits++;
    else tlb.stats.staleHits++;
    if (tlb.policy === "lru") {
      const e = tlb._map.get(k)!;
      tlb._map.delete(k);
      tlb._map.set(k, e);
    }
    return mapped ? "hit" : "stale";
  }
  if (!mapped) return "fault";
  tlb.stats.misses++;
  if (tlb._map.size >= tlb.entries) {
    const oldest = tlb._map.keys().next().value as string;
    drop(tlb, oldest);
    tlb.stats.evictions++;
  }
  const base = alignDown(iova, pageSize);
  tlb._map.set(key(pageSize, base), paddr === undefined ? { base, pageSize } : { base, pageSize, paddr });
  tlb._sizes.set(pageSize, (tlb._sizes.get(pageSize) ?? 0) + 1);
  return "miss";
}

/** True iff a held translation covers `iova` (no counters change). */
export function iotlbHolds(tlb: Iotlb, iova: number): boolean {
  checkInt("iotlbHolds(iova)", iova);
  return find(tlb, iova) !== null;
}

/**
 * One range invalidation command for [iova, iova + size): every entry whose
 * page overlaps it is dropped. Models iommu_iotlb_sync() of the range that
 * iommu_unmap_fast() gathered (strict unmap).
 * @returns the number of entries dropped.
 * @throws ModelConfigError for a bad address or size (size >= 1).
 */
export function iotlbInvalidateRange(tlb: Iotlb, iova: number, size: number): number {
  checkInt("iotlbInvalidateRange(iova)", iova);
  checkInt("iotlbInvalidateRange(size)", size, 1);
  const end = iova + size;
  let n = 0;
  for (const [k, e] of [...tlb._map]) {
    if (e.base < end && e.base + e.pageSize > iova) {
      drop(tlb, k);
      n++;
    }
  }
  tlb.stats.invalidateRange++;
  tlb.stats.entriesInvalidated += n;
  return n;
}

/**
 * One invalidate-all command: every entry is dropped. Models
 * ops->flush_iotlb_all() (the flush queue's fq_flush_iotlb()).
 * @returns the number of entries dropped.
 */
export function iotlbInvalidateAll(tlb: Iotlb): number {
  const n = tlb._map.size;
  tlb._map.clear();
  tlb._sizes.clear();
  tlb.stats.invalidateAll++;
  tlb.stats.entriesInvalidated += n;
  return n;
}

/** A copy of the counters. */
export function iotlbStats(tlb: Iotlb): IotlbStats {
  return { ...tlb.stats };
}

/** Zero the counters (the held translations stay). */
export function iotlbResetStats(tlb: Iotlb): void {
  const s = tlb.stats;
  s.hits = s.misses = s.staleHits = s.evictions = s.invalidateRange = s.invalidateAll = s.entriesInvalidated = 0;
}

/**
 * The physical address a held translation gives `iova` (the entry's page
 * start as filled by {@link iotlbAccess} with a `paddr`, plus the offset), or
 * null when no held entry covers it or the entry was filled without one.
 * Counts nothing and does not touch the recency order (a probe, not an access).
 * @throws ModelConfigError for a bad address.
 */
export function iotlbHeldPhys(tlb: Iotlb, iova: number): number | null {
  checkInt("iotlbHeldPhys(iova)", iova);
  const k = find(tlb, iova);
  if (k === null) return null;
  const e = tlb._map.get(k)!;
  return e.paddr === undefined ? null : e.paddr + (iova - e.base);
}
