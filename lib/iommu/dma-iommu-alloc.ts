/**
 * Coherent allocations for devices behind an IOMMU DMA domain
 * (drivers/iommu/dma-iommu.c iommu_dma_alloc, iommu_dma_free,
 * iommu_dma_get_sgtable, iommu_dma_mmap; v6.19, with v5.4.6 and v4.4.1
 * where they differ). dma_alloc_attrs reaches these after the per-device
 * coherent pool (lib/dma/mapping.ts).
 *
 * iommu_dma_alloc (v6.19), our reading:
 * - blocking caller without DMA_ATTR_FORCE_CONTIGUOUS ->
 *   iommu_dma_alloc_remap: pages from __iommu_dma_alloc_pages (the largest
 *   orders the IOMMU's page sizes allow first, never above MAX_PAGE_ORDER or
 *   the pages still needed, an order that fails is not tried again, every
 *   block split into single pages; DMA_ATTR_ALLOC_SINGLE_PAGES: the smallest
 *   size only), one IOVA range below the coherent DMA mask, an sg table from
 *   the page array, arch_dma_prep_coherent on each entry for a non-coherent
 *   device, iommu_map_sg at that IOVA, and dma_common_pages_remap: the page
 *   array mapped in vmalloc space (dma_pgprot: cacheable for a coherent
 *   device, Normal-NC / write-combine otherwise) with the array kept in the
 *   area (dma_common_find_pages finds it again). The device's buffer is
 *   contiguous in IOVA space; the CPU's in vmalloc space; the pages need not be.
 * - DMA_ATTR_FORCE_CONTIGUOUS or a non-blocking caller -> one physically
 *   contiguous block (iommu_dma_alloc_pages: dma_alloc_contiguous, then
 *   alloc_pages of get_order(size)); a non-coherent device gets it remapped
 *   (dma_common_contiguous_remap) after arch_dma_prep_coherent, a coherent one
 *   its linear-map address; then __iommu_dma_map of the block below the
 *   coherent DMA mask.
 * - every path zeroes the buffer (__GFP_ZERO / memset).
 *
 * Differences by release: v4.4 (arch/arm64/mm/dma-mapping.c
 * __iommu_alloc_attrs with iommu_dma_alloc in dma-iommu.c) ignored
 * DMA_ATTR_FORCE_CONTIGUOUS and took the IOVA from the coherent mask the same
 * way; v5.4's contiguous path passed the streaming mask (dma_get_mask) to
 * __iommu_dma_map. The model applies the v6.19 outline to every release.
 * get_sgtable / mmap before v5.3 (arm64 __iommu_get_sgtable /
 * __iommu_mmap_attrs, v4.4.1) needed the area's page array and returned
 * -ENXIO without one; v5.4.6 and v6.19 fall back to vmalloc_to_page /
 * virt_to_page ({@link CHANGE_IOMMU_DMA_GET_SGTABLE_FALLBACK}).
 *
 * Not modelled: CMA (dma_alloc_contiguous), the atomic pool of non-blocking
 * non-coherent callers (dma_alloc_from_pool: rejected as a model
 * limitation), NUMA nodes, highmem, DMA_ATTR_NO_KERNEL_MAPPING, the
 * noncontiguous API (iommu_dma_alloc_noncontiguous).
 */
import { MAX_ADDR, checkInt, hex } from "../core/arith.js";
import { DMA_MAPPING_ERROR, type DmaAddr, type PhysAddr, type Pfn, type VirtAddr } from "../core/addr.js";
import { DMA_ATTR_ALLOC_SINGLE_PAGES, DMA_ATTR_FORCE_CONTIGUOUS, DMA_ATTR_WRITE_COMBINE, DMA_BIDIRECTIONAL, hasAttr } from "../core/dma-types.js";
import { ENXIO } from "../core/errno.js";
import { ModelConfigError } from "../core/errors.js";
import { atLeast, defineChange } from "../kernel/version.js";
import type { Device } from "../platform/device.js";
import type { DmaMachine } from "../dma/state.js";
import { lineSpan, type MaintOp } from "../cache/maint.js";
import { mmOfDevice, type MemoryModel } from "../mm/memory.js";
import { pageSourceOf } from "../mm/page-source.js";
import { vmallocPages, vunmapAny } from "../mm/remap.js";
import type { VmProt } from "../mm/vmalloc.js";
import { sgAllocTableFromPages, sgPhys, type SgTable } from "../sg/scatterlist.js";
import { applyMaintenance } from "../dma/arch/index.js";
import { getOrder } from "../dma/coherent.js";
import { dmaCommonFindPages, sgSetSinglePage } from "../dma/ops-helpers.js";
import { dmaInfoToProt, iommuDmaAllocIova, iommuDmaFreeIova, iommuDmaMapPhysRange, iommuDmaUnmapRange } from "./dma-iommu.js";
import { IOMMU_CACHE, iommuMapSg } from "./io-pgtable.js";
import { iovaAlign } from "./iova.js";
import { iommuDmaCookieOf, type IommuAllocRecord, type IommuCoherentBuffer } from "./dma-cookie.js";

/** v5.3: iommu-dma's get_sgtable / mmap fall back to vmalloc_to_page / virt_to_page. */
export const CHANGE_IOMMU_DMA_GET_SGTABLE_FALLBACK = defineChange({
  id: "iommu-dma-get-sgtable-fallback",
  since: "v5.3",
  commit: "(Christoph Hellwig's series moving the arm64 iommu wrappers into dma-iommu.c, v5.3, incl. 06d60728ff5c; the patch is not pinned)",
  subject: "iommu/dma: move the arm64 wrappers to common code",
  files: ["drivers/iommu/dma-iommu.c", "arch/arm64/mm/dma-mapping.c"],
  effect: "get_sgtable/mmap of a buffer without a page array use vmalloc_to_page (vmalloc address) or virt_to_page instead of failing with -ENXIO. The kernel got there in three steps: v4.12 arm64 __iommu_get_sgtable handles DMA_ATTR_FORCE_CONTIGUOUS buffers (vmalloc_to_page, one entry); v5.1 or v5.2 (absent in v5.0.1, present in v5.2.1) it also handles non-vmalloc (atomic pool) addresses with virt_to_page; v5.3 drivers/iommu/dma-iommu.c:iommu_dma_get_sgtable has the generic rule (page array, else vmalloc_to_page, else virt_to_page; never -ENXIO). The model's get_sgtable takes no attrs and cannot tell a FORCE_CONTIGUOUS buffer from a pool one, so it keeps one switch at v5.3: for v4.12..v5.2 it returns -ENXIO where arm64 could already give a page (a known approximation).",
  bracket: "absent in v4.11.0 (HCLS/linux-4.11, arch/arm64/mm/dma-mapping.c:__iommu_get_sgtable: WARN and -ENXIO without a page array), present in v5.3.1 (github-lvbing/linux-5.3.1, drivers/iommu/dma-iommu.c:iommu_dma_get_sgtable: the generic fallback); the intermediate steps: v4.12.0 (jason50123/linux-4.12) FORCE_CONTIGUOUS, v5.2.1 (wangliang-cs/linux-5.2.1; absent in v5.0.1 VVvector/linux-5.0.1) the pool case; v4.14.177 carries a stable backport of the pool case",
});

/** MAX_PAGE_ORDER of the modelled 4 KiB-page kernels (include/linux/mmzone.h, v6.19: 10; before v6.8 MAX_ORDER 11, exclusive). */
export const DMA_IOMMU_MAX_PAGE_ORDER = 10;

export type { IommuCoherentBuffer } from "./dma-cookie.js";

function recordsOf(dev: Device): Map<number, IommuAllocRecord> {
  return iommuDmaCookieOf(dev).allocs;
}

function domainOrThrow(dev: Device, fn: string) {
  const d = dev.iommuDomain;
  if (!d || d.type !== "DMA" || !d.iovad) throw new ModelConfigError(`${fn}(dev).iommuDomain`, d ? d.type : null, "an initialised IOMMU DMA domain");
  return { domain: d, iovad: d.iovad };
}

/** Options of {@link iommuDmaAlloc} (the gfp flags the model distinguishes). */
export interface IommuDmaAllocOptions {
  /** gfpflags_allow_blocking(gfp): GFP_KERNEL (true, default) or GFP_ATOMIC (false). */
  blocking?: boolean;
}

/** dma_pgprot(dev, PAGE_KERNEL, attrs): cacheable for a coherent device; Normal-NC ("wc") otherwise or with DMA_ATTR_WRITE_COMBINE (arm64). */
function dmaPgprot(dev: Device, attrs: number): VmProt {
  if (dev.dmaCoherent) return hasAttr(attrs, DMA_ATTR_WRITE_COMBINE) ? "wc" : "normal";
  return "wc";
}

/** arch_dma_prep_coherent(page, size): clean+invalidate the linear alias (arm64 dcache_clean_inval_poc). */
function prepCoherent(m: DmaMachine, pa: number, size: number): void {
  const { start, end } = lineSpan(pa, size, m.profile.cpuCache.lineSize);
  const op: MaintOp = { kind: "cleanInvalidate", start, end, level: "inner", fn: "arch_dma_prep_coherent" };
  applyMaintenance(m, [op], pa);
}

/** __GFP_ZERO / memset: the CPU writes zeroes; through the linear map (cacheable) or the remap (its protection). */
function zero(m: DmaMachine, mm: MemoryModel, pa: number, size: number, va: number, attr: "cacheable" | "write-combine"): void {
  void mm;
  m.cpuCache.cpuWrite(pa, size, { va, attr });
}

/**
 * __iommu_dma_alloc_pages(dev, count, order_mask): `count` pages as blocks
 * of the orders in `orders` (largest first, at most floor(log2(pages
 * left)), an order that fails is dropped for the rest of the call).
 * @returns the blocks (first pfn, order), or null after giving back what was taken.
 */
function allocPageBlocks(mm: MemoryModel, count: number, orders: number[]): Array<{ pfn: number; order: number }> | null {
  const src = pageSourceOf(mm);
  const avail = orders.filter((o) => o >= 0 && o <= DMA_IOMMU_MAX_PAGE_ORDER).sort((a, b) => b - a);
  const blocks: Array<{ pfn: number; order: number }> = [];
  let left = count;
  while (left > 0) {
    let got: { pfn: number; order: number } | null = null;
    for (const o of avail.filter((x) => 2 ** x <= left)) {
      const pfn = src.alloc(o, MAX_ADDR);
      if (pfn === null) {
        avail.splice(avail.indexOf(o), 1);
        continue;
      }
      got = { pfn, order: o };
      break;
    }
    if (!got) {
      for (const b of blocks) src.free(b.pfn);
      return null;
    }
    blocks.push(got);
    left -= 2 ** got.order;
  }
  return blocks;
}

function pfnsOf(blocks: Array<{ pfn: number; order: number }>): Pfn[] {
  const out: Pfn[] = [];
  for (const b of blocks) for (let i = 0; i < 2 ** b.order; i++) out.push((b.pfn + i) as Pfn);
  return out;
}

/**
 * iommu_dma_alloc(dev, size, &handle, gfp, attrs) (see the module comment
 * for the two paths). The buffer is zeroed.
 * @returns the buffer, or null (the kernel's NULL: no pages, no IOVA space,
 * no vmalloc space; everything taken is given back).
 * @throws ModelConfigError for a device without an IOMMU DMA domain, size < 1,
 * or a non-blocking request from a non-coherent device (the atomic pool is
 * not modelled); nothing changes.
 * Source: drivers/iommu/dma-iommu.c iommu_dma_alloc, iommu_dma_alloc_remap,
 * __iommu_dma_alloc_noncontiguous, __iommu_dma_alloc_pages,
 * iommu_dma_alloc_pages (v6.19); v5.4.6; arch/arm64/mm/dma-mapping.c
 * __iommu_alloc_attrs (v4.4.1).
 */
export function iommuDmaAlloc(dev: Device, size: number, attrs = 0, opts: IommuDmaAllocOptions = {}): IommuCoherentBuffer | null {
  const { domain, iovad } = domainOrThrow(dev, "iommuDmaAlloc");
  checkInt("iommuDmaAlloc(size)", size, 1, MAX_ADDR);
  checkInt("iommuDmaAlloc(attrs)", attrs, 0);
  const blocking = opts.blocking ?? true;
  const coherent = dev.dmaCoherent;
  if (!blocking && !coherent) {
    throw new ModelConfigError("iommuDmaAlloc(opts.blocking)", false, "true for a non-coherent device (the atomic pool, dma_alloc_from_pool, is not modelled)");
  }
  const mm = mmOfDevice(dev);
  const m = mm.machine as unknown as DmaMachine;
  const ps = mm.pageSize;
  const ioprot = dmaInfoToProt(DMA_BIDIRECTIONAL, coherent, attrs);
  const prot = dmaPgprot(dev, attrs);
  const fail = (why: string): null => {
    dev.trace.record({ fn: "iommu_dma_alloc", kind: "alloc_failed", level: "warn", msg: `${dev.name}: iommu_dma_alloc of ${size} bytes failed (${why})`, data: { size } });
    return null;
  };

  if (blocking && !hasAttr(attrs, DMA_ATTR_FORCE_CONTIGUOUS)) {
    // iommu_dma_alloc_remap -> __iommu_dma_alloc_noncontiguous
    let minSize = domain.pageSizes[0]!;
    let sizes = domain.pageSizes.slice();
    let sz = size;
    if (minSize < ps) {
      minSize = ps;
      sizes.push(ps);
    } else {
      sz = Math.ceil(sz / minSize) * minSize;
    }
    if (hasAttr(attrs, DMA_ATTR_ALLOC_SINGLE_PAGES)) sizes = [minSize];
    const count = Math.ceil(sz / ps);
    const orders = [...new Set(sizes.filter((s) => s >= ps).map((s) => Math.round(Math.log2(s / ps))))];
    const blocks = allocPageBlocks(mm, count, orders);
    if (!blocks) return fail("no pages");
    const giveBack = () => blocks.forEach((b) => pageSourceOf(mm).free(b.pfn));
    const pages = pfnsOf(blocks);
    const ioLen = iovaAlign(iovad, sz);
    const iova = iommuDmaAllocIova(domain, ioLen, dev.coherentDmaMask, dev);
    if (!iova) {
      giveBack();
      return fail("no IOVA space below the coherent DMA mask");
    }
    const sgt: SgTable = { sgl: [], nents: 0, origNents: 0 };
    sgAllocTableFromPages(sgt, pages, count, 0, ioLen);
    for (const s of sgt.sgl) zero(m, mm, sgPhys(s, ps), s.length, mm.linearAddress(sgPhys(s, ps)), "cacheable");
    if (ioprot % (2 * IOMMU_CACHE) < IOMMU_CACHE) for (const s of sgt.sgl) prepCoherent(m, sgPhys(s, ps), s.length);
    const mapped = iommuMapSg(domain, iova, sgt.sgl, sgt.origNents, ioprot, ps);
    if (mapped < ioLen) {
      iommuDmaFreeIova(domain, iova);
      giveBack();
      return fail("iommu_map_sg failed");
    }
    const va = vmallocPages(mm, count * ps, pages, "dma-remap", prot, "dma_common_pages_remap");
    if (va === null) {
      iommuDmaUnmapRange(dev, iova, sz);
      giveBack();
      return fail("no vmalloc space");
    }
    const buf: IommuCoherentBuffer = { cpuAddr: va, dmaHandle: iova as DmaAddr, size, how: "remap", path: "iommu_dma_alloc_remap", pages };
    recordsOf(dev).set(va, { buf, blocks: blocks.map((b) => b.pfn) });
    dev.trace.record({
      fn: "iommu_dma_alloc_remap",
      kind: "alloc_coherent",
      msg: `${dev.name}: ${size} bytes as ${blocks.length} page blocks (orders ${blocks.map((b) => b.order).join(",")}), IOVA ${hex(iova)}, remapped ${prot === "wc" ? "Normal-NC" : "cacheable"} at ${mm.fmtVa(va)}`,
      data: { virt: va, handle: iova, size, blocks: blocks.length, entries: sgt.origNents },
    });
    return buf;
  }

  // iommu_dma_alloc_pages: one contiguous block (CMA not modelled), then __iommu_dma_map.
  const allocSize = Math.ceil(size / ps) * ps;
  const order = getOrder(allocSize, ps);
  const pfn = pageSourceOf(mm).alloc(order, MAX_ADDR);
  if (pfn === null) return fail("no contiguous pages");
  const pa = (pfn * ps) as PhysAddr;
  const pages: Pfn[] = [];
  for (let i = 0; i < allocSize / ps; i++) pages.push((pfn + i) as Pfn);
  let cpu: VirtAddr;
  if (!coherent) {
    const va = vmallocPages(mm, allocSize, pages, "dma-remap", prot, "dma_common_contiguous_remap");
    if (va === null) {
      pageSourceOf(mm).free(pfn);
      return fail("no vmalloc space");
    }
    cpu = va;
    prepCoherent(m, pa, size);
    zero(m, mm, pa, allocSize, va, "write-combine");
  } else {
    cpu = mm.linearAddress(pa);
    zero(m, mm, pa, allocSize, cpu, "cacheable");
  }
  const handle = iommuDmaMapPhysRange(dev, pa, size, ioprot, dev.coherentDmaMask);
  if (handle === DMA_MAPPING_ERROR) {
    if (!coherent) vunmapAny(mm, cpu);
    pageSourceOf(mm).free(pfn);
    return fail("no IOVA space below the coherent DMA mask");
  }
  const buf: IommuCoherentBuffer = { cpuAddr: cpu, dmaHandle: handle, size, how: coherent ? "linear-map" : "remap", path: "iommu_dma_alloc_pages", pages };
  recordsOf(dev).set(cpu, { buf, blocks: [pfn] });
  dev.trace.record({
    fn: "iommu_dma_alloc_pages",
    kind: "alloc_coherent",
    msg: `${dev.name}: ${size} bytes contiguous at phys ${hex(pa)}, IOVA ${hex(handle)}, CPU ${mm.fmtVa(cpu)}${coherent ? " (linear map)" : " (remapped Normal-NC)"}`,
    data: { virt: cpu, handle, phys: pa, size },
  });
  return buf;
}

/**
 * The live iommu-dma coherent allocation at `cpuAddr` of `dev`, or null
 * (model helper: the kernel finds it through the vm area / the page).
 */
export function iommuDmaFindAlloc(dev: Device, cpuAddr: number): IommuCoherentBuffer | null {
  const r = dev.iommuDmaCookie?.allocs.get(cpuAddr);
  return r ? r.buf : null;
}

/**
 * iommu_dma_free(dev, size, cpu_addr, handle, attrs): __iommu_dma_unmap of
 * the handle, then __iommu_dma_free: a remapped buffer loses its vmalloc
 * mapping, and the pages (page array or contiguous block) are freed.
 * @throws ModelConfigError (before any change) if (cpuAddr, handle, size)
 * is not a live allocation of this device from {@link iommuDmaAlloc}
 * (the kernel would corrupt memory).
 * Source: drivers/iommu/dma-iommu.c iommu_dma_free, __iommu_dma_free (v6.19, v5.4.6).
 */
export function iommuDmaFree(dev: Device, size: number, cpuAddr: number, dmaHandle: number): void {
  domainOrThrow(dev, "iommuDmaFree");
  checkInt("iommuDmaFree(size)", size, 1);
  const mm = mmOfDevice(dev);
  const ps = mm.pageSize;
  const recs = recordsOf(dev);
  const r = recs.get(cpuAddr);
  if (!r) throw new ModelConfigError("iommuDmaFree(cpuAddr)", cpuAddr, `the CPU address of a live iommuDmaAlloc buffer of ${dev.name}`);
  if (r.buf.dmaHandle !== dmaHandle) throw new ModelConfigError("iommuDmaFree(dmaHandle)", dmaHandle, `the handle ${hex(r.buf.dmaHandle)} returned with that buffer`);
  if (Math.ceil(size / ps) !== Math.ceil(r.buf.size / ps)) throw new ModelConfigError("iommuDmaFree(size)", size, `the allocation's size (${r.buf.size} bytes, same PAGE_ALIGN)`);
  iommuDmaUnmapRange(dev, dmaHandle, size);
  if (mm.isVmallocAddr(cpuAddr)) vunmapAny(mm, cpuAddr);
  for (const b of r.blocks) pageSourceOf(mm).free(b);
  recs.delete(cpuAddr);
  dev.trace.record({ fn: "iommu_dma_free", kind: "free_coherent", msg: `${dev.name}: freed ${size} bytes at IOVA ${hex(dmaHandle)} (${r.buf.pages.length} pages)`, data: { virt: cpuAddr, handle: dmaHandle, size } });
}

/** How {@link iommuDmaGetSgtable} / {@link iommuDmaMmap} found the pages. */
export type IommuGetSgtablePath = "page array (dma_common_find_pages)" | "vmalloc_to_page" | "virt_to_page" | "-ENXIO (no page array, before v5.3)";

/**
 * iommu_dma_get_sgtable(dev, sgt, cpu_addr, handle, size, attrs):
 * - a remapped buffer with a page array: sg_alloc_table_from_pages over
 *   PAGE_ALIGN(size) / PAGE_SIZE pages (contiguous pages merge into one entry);
 * - otherwise from v5.3 one entry of PAGE_ALIGN(size) at vmalloc_to_page
 *   (vmalloc address) or virt_to_page; before v5.3 -ENXIO (WARN).
 * @returns 0 or -ENXIO, and the path taken; the table is unchanged on -ENXIO.
 * @throws ModelConfigError for size < 1.
 * Source: drivers/iommu/dma-iommu.c iommu_dma_get_sgtable (v6.19, v5.4.6);
 * arch/arm64/mm/dma-mapping.c __iommu_get_sgtable (v4.4.1).
 */
export function iommuDmaGetSgtable(dev: Device, sgt: SgTable, cpuAddr: number, dmaHandle: number, size: number): { ret: number; path: IommuGetSgtablePath } {
  checkInt("iommuDmaGetSgtable(size)", size, 1);
  checkInt("iommuDmaGetSgtable(cpuAddr)", cpuAddr);
  checkInt("iommuDmaGetSgtable(dmaHandle)", dmaHandle);
  void dmaHandle;
  const mm = mmOfDevice(dev);
  const ps = mm.pageSize;
  const count = Math.ceil(size / ps);
  const pages = dmaCommonFindPages(mm, cpuAddr);
  if (pages) {
    const ret = sgAllocTableFromPages(sgt, pages, count, 0, size);
    return { ret, path: "page array (dma_common_find_pages)" };
  }
  if (!atLeast(dev.kernel, CHANGE_IOMMU_DMA_GET_SGTABLE_FALLBACK)) {
    dev.trace.record({ fn: "__iommu_get_sgtable", kind: "warn", level: "warn", msg: `WARN_ON(!area || !area->pages): ${dev.name} buffer ${mm.fmtVa(cpuAddr)} has no page array: -ENXIO`, data: { virt: cpuAddr } });
    return { ret: -ENXIO, path: "-ENXIO (no page array, before v5.3)" };
  }
  let pfn: number;
  let path: IommuGetSgtablePath;
  if (mm.isVmallocAddr(cpuAddr)) {
    const p = mm.vmallocToPage(cpuAddr);
    pfn = p ? p.pfn : 0;
    path = "vmalloc_to_page";
  } else {
    pfn = mm.virtToPage(cpuAddr).pfn;
    path = "virt_to_page";
  }
  sgSetSinglePage(sgt, pfn, count * ps);
  return { ret: 0, path };
}

/** Result of {@link iommuDmaMmap}: the kernel's return and the pfns the vma would map (in order). */
export interface IommuDmaMmapResult {
  ret: number;
  /** The pfns mapped into the vma (empty on error). */
  pfns: number[];
  path: "vm_map_pages" | "remap_pfn_range (vmalloc_to_pfn)" | "remap_pfn_range (virt_to_page)" | "-ENXIO";
}

/**
 * iommu_dma_mmap(dev, vma, cpu_addr, handle, size, attrs) for a vma of
 * `userPages` pages at page offset `pgoff` (the per-device pool is handled
 * by the caller first): -ENXIO if pgoff >= nr_pages or the vma is longer
 * than nr_pages - pgoff; a page array -> vm_map_pages (pages[pgoff...]);
 * else (v5.3+) remap_pfn_range from vmalloc_to_pfn / page_to_pfn(virt_to_page)
 * + pgoff; before v5.3 -ENXIO without a page array.
 * @throws ModelConfigError for size < 1, userPages < 1, pgoff < 0.
 * Source: drivers/iommu/dma-iommu.c iommu_dma_mmap (v6.19, v5.4.6);
 * arch/arm64/mm/dma-mapping.c __iommu_mmap_attrs (v4.4.1).
 */
export function iommuDmaMmap(dev: Device, cpuAddr: number, dmaHandle: number, size: number, userPages?: number, pgoff = 0): IommuDmaMmapResult {
  checkInt("iommuDmaMmap(size)", size, 1);
  checkInt("iommuDmaMmap(cpuAddr)", cpuAddr);
  checkInt("iommuDmaMmap(dmaHandle)", dmaHandle);
  if (userPages !== undefined) checkInt("iommuDmaMmap(userPages)", userPages);
  checkInt("iommuDmaMmap(pgoff)", pgoff);
  void dmaHandle;
  const mm = mmOfDevice(dev);
  const ps = mm.pageSize;
  const nr = Math.ceil(size / ps);
  const user = checkInt("iommuDmaMmap(userPages)", userPages ?? nr, 1);
  checkInt("iommuDmaMmap(pgoff)", pgoff);
  if (pgoff >= nr || user > nr - pgoff) return { ret: -ENXIO, pfns: [], path: "-ENXIO" };
  const pages = dmaCommonFindPages(mm, cpuAddr);
  if (pages) return { ret: 0, pfns: pages.slice(pgoff, pgoff + user).map((p) => p as number), path: "vm_map_pages" };
  if (!atLeast(dev.kernel, CHANGE_IOMMU_DMA_GET_SGTABLE_FALLBACK)) return { ret: -ENXIO, pfns: [], path: "-ENXIO" };
  let first: number;
  let path: IommuDmaMmapResult["path"];
  if (mm.isVmallocAddr(cpuAddr)) {
    const p = mm.vmallocToPage(cpuAddr);
    first = p ? p.pfn : 0;
    path = "remap_pfn_range (vmalloc_to_pfn)";
  } else {
    first = mm.virtToPage(cpuAddr).pfn;
    path = "remap_pfn_range (virt_to_page)";
  }
  const pfns: number[] = [];
  for (let i = 0; i < user; i++) pfns.push(first + pgoff + i);
  return { ret: 0, pfns, path };
}
