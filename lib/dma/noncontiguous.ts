/**
 * Streaming-memory allocators of the DMA API:
 *
 * - dma_alloc_pages / dma_free_pages (v5.10, {@link DMA_ALLOC_PAGES}):
 *   pages the device can reach, owned like streaming memory (the caller
 *   syncs with dma_sync_single_*);
 * - dma_alloc_noncontiguous / dma_vmap_noncontiguous /
 *   dma_vunmap_noncontiguous / dma_free_noncontiguous (v5.13,
 *   {@link DMA_ALLOC_NONCONTIGUOUS}): an sg_table already DMA-mapped for
 *   the device, contiguous in DMA space, and an optional vmap for the CPU.
 *   dma-direct gives one contiguous allocation (an sg_table of one entry,
 *   kernel/dma/mapping.c alloc_single_sgt); dma-iommu builds it from pages
 *   that need not be contiguous and maps them contiguously in IOVA space
 *   (drivers/iommu/dma-iommu.c iommu_dma_alloc_noncontiguous).
 * - the proposed dma_alloc_sg (Matthew Wilcox, 2018-02-11, in the saa7146 /
 *   vmalloc_to_sg thread: `struct scatterlist *dma_alloc_sg(struct device
 *   *dev, int *nents)`): never merged (no dma_alloc_sg or dma_free_sg in
 *   v6.19 include/linux/dma-mapping.h). Modelled as proposed, on every
 *   release: a scatterlist of single pages the device can address, with no
 *   contiguity requirement: without an IOMMU each page comes from the zone
 *   below the device's DMA mask (the proposal: "allocate memory below the
 *   4GB boundary on systems with no IOMMU"), one DMA segment per page; with
 *   an IOMMU the pages come from anywhere and are mapped (here contiguously
 *   in IOVA space, as dma-iommu maps a list).
 *
 * Sources: kernel/dma/mapping.c dma_alloc_pages, dma_alloc_noncontiguous,
 * dma_vmap_noncontiguous (as of v5.13 and v6.19, from the API's change log
 * and documentation); kernel/dma/direct.c dma_direct_alloc_pages. Model
 * choices: the IOMMU path allocates single pages (order 0; the kernel tries
 * larger orders that the IOMMU's page sizes allow first), the highmem and
 * CMA paths are not modelled, and the direct path's vmap returns the
 * linear-map address (page_address), as it does for lowmem pages.
 */
import { checkInt, hex } from "../core/arith.js";
import { checkDirection } from "../core/dma-types.js";
import type { DmaAddr, PhysAddr, Pfn, VirtAddr } from "../core/addr.js";
import { ModelConfigError } from "../core/errors.js";
import { atLeast, defineChange , type KernelChange } from "../kernel/version.js";
import { iommuDmaAllocIova, iommuDmaFreeIova, dmaInfoToProt } from "../iommu/dma-iommu.js";
import { iommuMap, iommuUnmap } from "../iommu/io-pgtable.js";
import { GFP_DMA, GFP_DMA32, GFP_KERNEL, fmtGfp, gfp, type GfpFlags } from "../mm/gfp.js";
import { mmOfDevice } from "../mm/memory.js";
import { buddyOf } from "../mm/page-alloc.js";
import { vmap, vunmapAny } from "../mm/remap.js";
import { dmaStreamingLimit, dmaToPhys, physToDma, type Device } from "../platform/device.js";
import { sgTableFromEntries, type SgTable } from "../sg/scatterlist.js";
import { getOrder } from "./coherent.js";
import { dmaDirectAllocPagesExplain, zoneDmaLimit } from "./direct-alloc.js";
import { dmaCapable } from "./map-ops.js";
import { useDmaIommu } from "./mapping.js";

/** v5.10: dma_alloc_pages. */
export const DMA_ALLOC_PAGES = defineChange({
  id: "dma-alloc-pages",
  since: "v5.10",
  commit: "efa70f2fdc84",
  subject: "dma-mapping: add a new dma_alloc_pages API",
  files: ["kernel/dma/mapping.c", "include/linux/dma-mapping.h"],
  effect: "dma_alloc_pages/dma_free_pages exist: non-coherent pages the device can address, for use with dma_sync_single_*. (Christoph Hellwig, 2020-09; hash confirmed by later Fixes: tags naming efa70f2fdc84 'dma-mapping: add a new dma_alloc_pages API'.)",
  bracket: "absent in v5.9.1 (ach84/linux-5.9.1, include/linux/dma-mapping.h: no dma_alloc_pages), present in v5.10.89 (Prashant446/linux-5.10.89, include/linux/dma-mapping.h:dma_alloc_pages)",
});

/** v5.13: dma_alloc_noncontiguous and friends. */
export const DMA_ALLOC_NONCONTIGUOUS = defineChange({
  id: "dma-alloc-noncontiguous",
  since: "v5.13",
  commit: "7d5b5738d149",
  subject: "dma-mapping: add a dma_alloc_noncontiguous API",
  files: ["kernel/dma/mapping.c", "include/linux/dma-mapping.h", "drivers/iommu/dma-iommu.c"],
  effect:
    "dma_alloc_noncontiguous returns a DMA-mapped sg_table (one contiguous DMA segment); dma_vmap_noncontiguous gives a CPU mapping (flush_kernel_vmap_range / invalidate_kernel_vmap_range needed on VIPT caches); dma-iommu implements it with pages mapped contiguously in IOVA space. Merged through the dma-mapping-5.13 pull; hash confirmed as 7d5b573 'dma-mapping: add a dma_alloc_noncontiguous API' in a later list reference.",
  bracket: "absent in v5.12.9 (zhangyinjun/linux-5.12.9, include/linux/dma-mapping.h), present in v5.14-rc5 (lsk-legends/linux-5.14, include/linux/dma-mapping.h:dma_alloc_noncontiguous) and v5.14.2 (Kingdo777/linux-5.14.2-faascale-host); loose: no v5.13 tree, v5.13 from the dma-mapping-5.13 pull",
});

/** One dma_alloc_pages result. */
export interface DmaPages {
  pfn: Pfn;
  dmaHandle: DmaAddr;
  size: number;
  /** Which implementation served it. */
  via: "dma-direct" | "dma-iommu";
}

function requireRelease(dev: Device, change: KernelChange, api: string): void {
  if (!atLeast(dev.kernel, change)) throw new ModelConfigError(`${api}: kernel`, dev.kernel.name, `${change.since} or later (the API does not exist before)`);
}

/**
 * dma_alloc_pages(dev, size, &dma_handle, dir, GFP_KERNEL) (v5.10+):
 * dma-direct: __dma_direct_alloc_pages with the zone choice and retry
 * (lib/dma/direct-alloc.ts), handle = phys_to_dma; dma-iommu: pages from
 * any zone (GFP_KERNEL), mapped at an IOVA below the coherent mask.
 * @returns the pages and handle, or null (no memory, or no IOVA space).
 * @throws ModelConfigError before v5.10 or for size < 1.
 */
export function dmaAllocPages(dev: Device, size: number, dir: number): DmaPages | null {
  requireRelease(dev, DMA_ALLOC_PAGES, "dmaAllocPages");
  checkInt("dmaAllocPages(size)", size, 1);
  checkDirection("dmaAllocPages(dir)", dir);
  const mm = mmOfDevice(dev);
  const ps = mm.pageSize;
  if (!useDmaIommu(dev)) {
    const r = dmaDirectAllocPagesExplain(dev, size);
    if (r.pfn === null) return null;
    const h = physToDma(dev, (r.pfn * ps) as PhysAddr)!;
    dev.trace.record({ fn: "dma_alloc_pages", kind: "alloc_pages", msg: `${dev.name}: ${size} bytes at phys ${hex(r.pfn * ps)} (tries: ${r.tries.join(" ; ")})`, data: { pfn: r.pfn, size } });
    return { pfn: r.pfn, dmaHandle: h, size, via: "dma-direct" };
  }
  const order = getOrder(size, ps);
  const b = buddyOf(mm);
  const pfn = b.alloc(GFP_KERNEL, order);
  if (pfn === null) return null;
  const domain = dev.iommuDomain!;
  const len = ps * 2 ** order;
  const iova = iommuDmaAllocIova(domain, len, dev.coherentDmaMask, dev);
  if (!iova) {
    b.free(pfn, order);
    return null;
  }
  iommuMap(domain, iova, pfn * ps, len, dmaInfoToProt(dir, dev.dmaCoherent, 0));
  return { pfn, dmaHandle: iova, size, via: "dma-iommu" };
}

/**
 * dma_free_pages(dev, size, page, dma_handle, dir).
 * @throws ModelConfigError for pages not from {@link dmaAllocPages}.
 */
export function dmaFreePages(dev: Device, p: DmaPages): void {
  const mm = mmOfDevice(dev);
  const order = getOrder(p.size, mm.pageSize);
  if (p.via === "dma-iommu") {
    iommuUnmap(dev.iommuDomain!, p.dmaHandle, mm.pageSize * 2 ** order);
    iommuDmaFreeIova(dev.iommuDomain!, p.dmaHandle);
  }
  buddyOf(mm).free(p.pfn, order);
}

/** A dma_alloc_noncontiguous allocation: the mapped table and its pages. */
export interface NoncontigAlloc {
  /** The sg_table: CPU entries (pages) and DMA segments (`nents`, sg_dma_address / sg_dma_len of the first entries). */
  sgt: SgTable;
  size: number;
  /** Which implementation served it. */
  via: "dma-direct" | "dma-iommu";
  /** The pages, in order (one block for dma-direct, single pages for dma-iommu). */
  pfns: Pfn[];
  /** Block order of the dma-direct allocation (0 for dma-iommu pages). */
  order: number;
  /** The CPU mapping from {@link dmaVmapNoncontiguous}, if any. */
  vaddr: VirtAddr | null;
  /** True for the dma_alloc_sg what-if. */
  whatIf: boolean;
}

function allocNoncontig(dev: Device, size: number, dir: number, whatIf: boolean): NoncontigAlloc | null {
  checkInt("dmaAllocNoncontiguous(size)", size, 1);
  const mm = mmOfDevice(dev);
  const ps = mm.pageSize;
  const fn = whatIf ? "dma_alloc_sg (proposed, never merged)" : "dma_alloc_noncontiguous";
  if (!useDmaIommu(dev)) {
    const r = dmaDirectAllocPagesExplain(dev, size);
    if (r.pfn === null) {
      dev.trace.record({ fn, kind: "alloc_failed", level: "warn", msg: `${dev.name}: no ${2 ** r.order} contiguous pages the device can reach for ${size} bytes (tries: ${r.tries.join(" ; ")})`, data: { size } });
      return null;
    }
    const sgt = sgTableFromEntries([{ pfn: r.pfn, offset: 0, length: Math.ceil(size / ps) * ps }]);
    sgt.sgl[0]!.dmaAddress = physToDma(dev, (r.pfn * ps) as PhysAddr)!;
    sgt.sgl[0]!.dmaLength = size;
    sgt.nents = 1;
    const pfns: Pfn[] = [];
    for (let i = 0; i < 2 ** r.order; i++) pfns.push((r.pfn + i) as Pfn);
    dev.trace.record({ fn, kind: "alloc_noncontiguous", msg: `${dev.name}: dma-direct, one contiguous block of ${2 ** r.order} pages at phys ${hex(r.pfn * ps)}, DMA ${hex(sgt.sgl[0]!.dmaAddress)}`, data: { size, pfn: r.pfn } });
    return { sgt, size, via: "dma-direct", pfns, order: r.order, vaddr: null, whatIf };
  }
  const n = Math.ceil(size / ps);
  const b = buddyOf(mm);
  const pfns: Pfn[] = [];
  for (let i = 0; i < n; i++) {
    const p = b.alloc(gfp(GFP_KERNEL, "__GFP_HIGHMEM"), 0);
    if (p === null) {
      for (const q of pfns) b.free(q, 0);
      return null;
    }
    pfns.push(p);
  }
  const domain = dev.iommuDomain!;
  const iova = iommuDmaAllocIova(domain, n * ps, dev.coherentDmaMask, dev);
  if (!iova) {
    for (const q of pfns) b.free(q, 0);
    return null;
  }
  const prot = dmaInfoToProt(dir, dev.dmaCoherent, 0);
  pfns.forEach((p, i) => iommuMap(domain, iova + i * ps, p * ps, ps, prot));
  const sgt = sgTableFromEntries(pfns.map((p) => ({ pfn: p, offset: 0, length: ps })));
  sgt.sgl[0]!.dmaAddress = iova;
  sgt.sgl[0]!.dmaLength = size;
  sgt.nents = 1;
  dev.trace.record({ fn, kind: "alloc_noncontiguous", msg: `${dev.name}: dma-iommu, ${n} single pages mapped contiguously at IOVA ${hex(iova)}`, data: { size, iova } });
  return { sgt, size, via: "dma-iommu", pfns, order: 0, vaddr: null, whatIf };
}

/**
 * dma_alloc_noncontiguous(dev, size, dir, GFP_KERNEL, 0) (v5.13+).
 * @returns the allocation (sgt.nents = 1 DMA segment covering `size`), or null.
 * @throws ModelConfigError before v5.13 or for size < 1.
 */
export function dmaAllocNoncontiguous(dev: Device, size: number, dir: number): NoncontigAlloc | null {
  requireRelease(dev, DMA_ALLOC_NONCONTIGUOUS, "dmaAllocNoncontiguous");
  checkDirection("dmaAllocNoncontiguous(dir)", dir);
  return allocNoncontig(dev, size, dir, false);
}

/**
 * The proposed (2018) dma_alloc_sg(dev, &nents), as a what-if on any
 * release (never merged): `ceil(size / PAGE_SIZE)` single pages, none
 * required to be next to another.
 * - Without an IOMMU: each page from the zone the device's streaming DMA
 *   mask reaches (GFP_DMA at or below the ZONE_DMA limit, GFP_DMA32 at or
 *   below 4 GiB, else any zone), checked with dma_capable; one sg entry and
 *   one DMA segment per page (dma address = phys_to_dma). Fails (null, pages
 *   freed) when the zone runs out.
 * - With an IOMMU: pages from any zone (GFP_KERNEL | __GFP_HIGHMEM), mapped
 *   at one IOVA range below the mask (one DMA segment).
 * The CPU mapping (the proposal's vmalloc view) is {@link dmaVmapNoncontiguous}.
 * @returns the allocation (`whatIf` true) or null. @throws ModelConfigError for size < 1.
 */
export function dmaAllocSgWhatIf(dev: Device, size: number, dir: number): NoncontigAlloc | null {
  checkDirection("dmaAllocSgWhatIf(dir)", dir);
  if (useDmaIommu(dev)) return allocNoncontig(dev, size, dir, true);
  checkInt("dmaAllocSg(size)", size, 1);
  const mm = mmOfDevice(dev);
  const ps = mm.pageSize;
  const fn = "dma_alloc_sg (proposed, never merged)";
  const limit = dmaStreamingLimit(dev) ?? 0;
  const physLimit = dmaToPhys(dev, limit as DmaAddr) ?? limit;
  const zone: GfpFlags = physLimit <= zoneDmaLimit(dev) ? GFP_DMA : physLimit <= 0xffffffff ? GFP_DMA32 : gfp();
  const flags = gfp(GFP_KERNEL, zone);
  const n = Math.ceil(size / ps);
  const b = buddyOf(mm);
  const pfns: Pfn[] = [];
  const giveBack = (why: string): null => {
    for (const q of pfns) b.free(q, 0);
    dev.trace.record({ fn, kind: "alloc_failed", level: "warn", msg: `${dev.name}: ${why} after ${pfns.length} of ${n} pages (${fmtGfp(flags)})`, data: { size } });
    return null;
  };
  for (let i = 0; i < n; i++) {
    const p = b.alloc(flags, 0);
    if (p === null) return giveBack("no page left in the zones below the mask");
    pfns.push(p);
    const d = physToDma(dev, (p * ps) as PhysAddr);
    if (d === null || !dmaCapable(dev, d, ps)) return giveBack(`page ${hex(p * ps)} is beyond the device's mask`);
  }
  const sgt = sgTableFromEntries(pfns.map((p) => ({ pfn: p, offset: 0, length: ps })));
  sgt.sgl.forEach((e, i) => {
    e.dmaAddress = physToDma(dev, (pfns[i]! * ps) as PhysAddr)!;
    e.dmaLength = i === n - 1 ? size - i * ps : ps;
  });
  sgt.nents = n;
  dev.trace.record({ fn, kind: "alloc_sg", msg: `${dev.name}: ${n} single pages with ${fmtGfp(flags)}, each its own DMA segment (no contiguity needed)`, data: { size, pages: n } });
  return { sgt, size, via: "dma-direct", pfns, order: 0, vaddr: null, whatIf: true };
}

/**
 * dma_vmap_noncontiguous(dev, size, sgt): dma-iommu vmaps the pages
 * (contiguous in vmalloc space, cacheable); dma-direct returns
 * page_address of its single block (the linear map).
 * @returns the CPU address, or null if vmalloc space is exhausted.
 */
export function dmaVmapNoncontiguous(dev: Device, a: NoncontigAlloc): VirtAddr | null {
  const mm = mmOfDevice(dev);
  if (a.vaddr !== null) return a.vaddr;
  // dma-direct's one block: its linear address; single pages (dma-iommu, the dma_alloc_sg what-if): a vmap.
  a.vaddr = a.via === "dma-direct" && !(a.whatIf && a.pfns.length > 1) ? mm.linearAddress(a.pfns[0]! * mm.pageSize) : vmap(mm, a.pfns, "normal", "dma_vmap_noncontiguous");
  return a.vaddr;
}

/** dma_vunmap_noncontiguous(dev, vaddr): removes the vmap (a no-op for the linear address). */
export function dmaVunmapNoncontiguous(dev: Device, a: NoncontigAlloc): void {
  if (a.vaddr === null) return;
  vunmapAny(mmOfDevice(dev), a.vaddr);
  a.vaddr = null;
}

/**
 * dma_free_noncontiguous(dev, size, sgt, dir): unmap from the IOMMU, free
 * the IOVA and the pages (the vmap must be gone first, as the kernel
 * requires; the model removes it if it is still there).
 * @throws ModelConfigError for an allocation already freed.
 */
export function dmaFreeNoncontiguous(dev: Device, a: NoncontigAlloc): void {
  const mm = mmOfDevice(dev);
  const b = buddyOf(mm);
  if (!b.isAllocatedHead(a.pfns[0]!)) throw new ModelConfigError("dmaFreeNoncontiguous(sgt)", hex(a.pfns[0]! * mm.pageSize), "a live allocation");
  dmaVunmapNoncontiguous(dev, a);
  if (a.via === "dma-iommu") {
    const d = dev.iommuDomain!;
    iommuUnmap(d, a.sgt.sgl[0]!.dmaAddress, a.pfns.length * mm.pageSize);
    iommuDmaFreeIova(d, a.sgt.sgl[0]!.dmaAddress);
    for (const p of a.pfns) b.free(p, 0);
  } else if (a.whatIf && a.pfns.length > 1) {
    for (const p of a.pfns) b.free(p, 0);
  } else b.free(a.pfns[0]!, a.order);
}
