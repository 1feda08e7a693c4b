/**
 * Cost parameters per platform (data/costs/<id>.json), validated with zod.
 * Every parameter carries its value, unit, source and whether it is an
 * estimate; where no measurement exists the file says so and gives the
 * reasoning. The only measurements behind these files are end-to-end
 * figures from commit messages (pwc on a
 * BeagleBone Black and an i5-3470, commit 1161db6776bd; uvcvideo and stk1160
 * on arm64, "media: uvcvideo: Use dma_alloc_noncontiguous API" and "media:
 * stk1160: use dma_alloc_noncontiguous API"). No per-cache-line measurement
 * was found, so every per-line figure is an estimate.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ModelConfigError } from "../core/errors.js";
import { findDataDir } from "../core/data-dir.js";

/** One cost parameter. */
const zCostParam = z
  .object({
    value: z.number().finite().nonnegative(),
    /** "ns/line", "ns/byte", "ns/call", "ns/pte", "ns/page", "ns/op", "ns". */
    unit: z.enum(["ns/line", "ns/byte", "ns/call", "ns/pte", "ns/page", "ns/op", "ns"]),
    /** Where the value comes from: a measurement (commit, Message-ID) or the reasoning of an estimate. */
    source: z.string().min(1),
    /** True when no measurement backs the value. */
    estimate: z.boolean(),
  })
  .strict();

/** The parameters the streaming-DMA model charges. */
const zCostParams = z
  .object({
    /** Cleaning one cache line to PoC (dc cvac, DCCMVAC). */
    lineCleanNs: zCostParam,
    /** Invalidating one cache line (dc ivac, DCIMVAC, pdc). */
    lineInvalidateNs: zCostParam,
    /** Clean+invalidate of one line (dc civac, DCCIMVAC, fdc). */
    lineCleanInvalidateNs: zCostParam,
    /** One outer-cache (PL310-style) line operation; 0 where there is no outer cache. */
    outerLineNs: zCostParam,
    /** Flushing the whole data cache (PA-RISC flush_data_cache). */
    wholeCacheFlushNs: zCostParam,
    /** CPU touching one byte through a cacheable mapping (memcpy out of a buffer). */
    cachedByteNs: zCostParam,
    /** CPU touching one byte through an uncached / write-combine mapping. */
    uncachedByteNs: zCostParam,
    /** Fixed software overhead of one map / unmap / sync call (dispatch, dma-debug off). */
    mapCallNs: zCostParam,
    /**
     * Extra software cost of one iommu-dma map or unmap call on top of
     * mapCallNs: iommu_map / iommu_unmap dispatch and the io-pgtable walk to
     * the leaf table (drivers/iommu/iommu.c, io-pgtable-arm.c, intel/iommu.c).
     */
    iommuDmaCallNs: zCostParam,
    /** Writing or clearing one IOMMU page-table entry (a leaf PTE of any page size). */
    iommuPteWriteNs: zCostParam,
    /**
     * Per granule page of a range invalidation, where the IOMMU takes one
     * command per page (SMMUv3 CMD_TLBI_NH_VA without range invalidation);
     * 0 where one command covers the range (VT-d page-selective with an
     * address mask, the M4U's range registers).
     */
    iotlbInvalidatePageNs: zCostParam,
    /** Issuing one range invalidation and waiting for it (SMMUv3 CMD_SYNC, VT-d wait descriptor, M4U completion poll): iommu_iotlb_sync. */
    iotlbSyncNs: zCostParam,
    /** One flush of the whole domain's IOTLB and its wait (flush_iotlb_all: the flush-queue flush). */
    iotlbFlushAllNs: zCostParam,
    /** alloc_iova_fast served from the per-CPU rcache (a magazine pop). */
    iovaAllocFastNs: zCostParam,
    /** free_iova_fast into the per-CPU rcache (a magazine push). */
    iovaFreeFastNs: zCostParam,
    /** alloc_iova: the rbtree search under the domain's lock (an rcache miss, a size above the rcache range, or a release without rcaches). */
    iovaAllocSlowNs: zCostParam,
    /** free_iova: rbtree erase under the domain's lock. */
    iovaFreeSlowNs: zCostParam,
  })
  .strict();

/** A cost file. */
const zCostFile = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    description: z.string().min(1),
    params: zCostParams,
    /** How the values were derived, step by step. */
    notes: z.array(z.string().min(1)).min(1),
  })
  .strict();
export type CostFile = z.infer<typeof zCostFile>;


/**
 * data/costs of this repository, found from this module's folder or the
 * working directory.
 * @throws ModelConfigError if no data/costs folder is found.
 */
function costsDir(): string {
  const dir = findDataDir("costs");
  if (dir) return dir;
  throw new ModelConfigError("data/costs", process.cwd(), "a working directory below the repository that holds data/costs");
}

/**
 * Validate a parsed cost file.
 * @throws ModelConfigError naming the file, the field path and the problem.
 */
export function validateCostFile(raw: unknown, file = "<costs>"): CostFile {
  const r = zCostFile.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ModelConfigError(`${file}: ${i.path.join(".") || "(root)"}`, undefined, i.message);
  }
  return r.data;
}

const cache = new Map<string, CostFile>();

/**
 * Load data/costs/<id>.json (cached after the first read).
 * @throws ModelConfigError for a missing file, bad JSON, an invalid field,
 * or an id that does not match the file name.
 */
export function loadCosts(id: string): CostFile {
  const hit = cache.get(id);
  if (hit) return hit;
  const file = join(costsDir(), `${id}.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new ModelConfigError("costs", id, `a readable data/costs/<id>.json (${(e as Error).message})`);
  }
  const c = validateCostFile(raw, file);
  if (c.id !== id) throw new ModelConfigError(`${file}: id`, c.id, `the file name stem ${JSON.stringify(id)}`);
  cache.set(id, c);
  return c;
}

/** Plain numbers of a cost file's parameters (ns per unit), for the hot paths. */
export interface CostValues {
  lineCleanNs: number;
  lineInvalidateNs: number;
  lineCleanInvalidateNs: number;
  outerLineNs: number;
  wholeCacheFlushNs: number;
  cachedByteNs: number;
  uncachedByteNs: number;
  mapCallNs: number;
  iommuDmaCallNs: number;
  iommuPteWriteNs: number;
  iotlbInvalidatePageNs: number;
  iotlbSyncNs: number;
  iotlbFlushAllNs: number;
  iovaAllocFastNs: number;
  iovaFreeFastNs: number;
  iovaAllocSlowNs: number;
  iovaFreeSlowNs: number;
}

/** The values of a cost file without their sources. */
export function costValues(c: CostFile): CostValues {
  const p = c.params;
  return {
    lineCleanNs: p.lineCleanNs.value,
    lineInvalidateNs: p.lineInvalidateNs.value,
    lineCleanInvalidateNs: p.lineCleanInvalidateNs.value,
    outerLineNs: p.outerLineNs.value,
    wholeCacheFlushNs: p.wholeCacheFlushNs.value,
    cachedByteNs: p.cachedByteNs.value,
    uncachedByteNs: p.uncachedByteNs.value,
    mapCallNs: p.mapCallNs.value,
    iommuDmaCallNs: p.iommuDmaCallNs.value,
    iommuPteWriteNs: p.iommuPteWriteNs.value,
    iotlbInvalidatePageNs: p.iotlbInvalidatePageNs.value,
    iotlbSyncNs: p.iotlbSyncNs.value,
    iotlbFlushAllNs: p.iotlbFlushAllNs.value,
    iovaAllocFastNs: p.iovaAllocFastNs.value,
    iovaFreeFastNs: p.iovaFreeFastNs.value,
    iovaAllocSlowNs: p.iovaAllocSlowNs.value,
    iovaFreeSlowNs: p.iovaFreeSlowNs.value,
  };
}

/** All-zero costs, for machines without a cost file. */
export const ZERO_COSTS: CostValues = {
  lineCleanNs: 0,
  lineInvalidateNs: 0,
  lineCleanInvalidateNs: 0,
  outerLineNs: 0,
  wholeCacheFlushNs: 0,
  cachedByteNs: 0,
  uncachedByteNs: 0,
  mapCallNs: 0,
  iommuDmaCallNs: 0,
  iommuPteWriteNs: 0,
  iotlbInvalidatePageNs: 0,
  iotlbSyncNs: 0,
  iotlbFlushAllNs: 0,
  iovaAllocFastNs: 0,
  iovaFreeFastNs: 0,
  iovaAllocSlowNs: 0,
  iovaFreeSlowNs: 0,
};
