/**
 * The coherent-allocation half of dma-direct (kernel/dma/direct.c
 * dma_direct_alloc / dma_direct_free, v5.4.6 and v6.19, with kernel/dma/remap.c
 * of v5.4), reduced to what case 02 needs:
 *
 * - a **coherent** device gets pages from ordinary RAM within its coherent
 *   limit (dma_coherent_ok: min_not_zero(coherent_dma_mask, bus_dma_limit)),
 *   zeroed, and the **linear-map address** (no remap);
 * - a **non-coherent** arm64 device (CONFIG_DMA_DIRECT_REMAP; v5.4 via
 *   arch_dma_alloc in kernel/dma/remap.c, v5.8+ inside dma_direct_alloc) gets
 *   the same kind of pages, the linear alias cleaned (arch_dma_prep_coherent)
 *   and a **vmalloc-space** mapping with dma_pgprot (arm64 Normal-NC: "wc");
 * - the handle is phys_to_dma(page).
 * Not modelled: atomic pools (non-blocking callers), CMA, swiotlb allocation
 * pools, memory encryption, DMA_ATTR_NO_KERNEL_MAPPING.
 *
 * **Page source** (documented model choice: the buddy allocator is a later
 * issue). A deterministic first-fit allocator over RAM pages that have a
 * linear alias and are not in any reserved region, excluding the first 16 MiB
 * of the lowest bank (standing in for the kernel image and early
 * allocations). Requests take 2^get_order(size) pages, naturally aligned to
 * their size (as the buddy allocator's blocks are), lowest address first,
 * limited to the device's coherent DMA limit.
 */
import { checkInt, hex, minNotZero } from "../core/arith.js";
import type { DmaAddr, PhysAddr, Pfn, VirtAddr } from "../core/addr.js";
import { ModelConfigError } from "../core/errors.js";
import { dmaToPhys, physToDma, type Device } from "../platform/device.js";
import { mmOfDevice } from "../mm/memory.js";
import { vmallocPages, vunmapAny } from "../mm/remap.js";
import { pageSourceOf } from "../mm/page-source.js";

export { PageSource, pageSourceOf } from "../mm/page-source.js";
import { getOrder } from "./coherent.js";

/** A coherent allocation: CPU address and DMA handle, as dma_alloc_attrs returns them. */
export interface CoherentBuffer {
  cpuAddr: VirtAddr;
  dmaHandle: DmaAddr;
  /** Bytes requested. */
  size: number;
  /** How the CPU address was made. */
  how: "dev-coherent-pool" | "linear-map" | "remap";
}

/**
 * dma_direct_alloc(dev, size, &handle, gfp, attrs) for blocking callers.
 * @returns the buffer, or null (no memory under the coherent limit; vmalloc
 * space exhausted).
 * @throws ModelConfigError for size < 1, before any change.
 */
export function dmaDirectAlloc(dev: Device, size: number): CoherentBuffer | null {
  checkInt("dmaDirectAlloc(size)", size, 1);
  const mm = mmOfDevice(dev);
  const ps = mm.pageSize;
  const order = getOrder(size, ps);
  const limit = minNotZero(dev.coherentDmaMask, dev.busDmaLimit);
  // dma_coherent_ok works on DMA addresses; convert the limit to a physical one (dma_to_phys).
  const physLimit = dmaToPhys(dev, limit as DmaAddr) ?? limit;
  const src = pageSourceOf(mm);
  const pfn = src.alloc(order, physLimit);
  if (pfn === null) {
    dev.trace.record({ fn: "dma_direct_alloc", kind: "alloc_failed", level: "warn", msg: `${dev.name}: no pages below ${hex(physLimit)} for ${size} bytes`, data: { size } });
    return null;
  }
  const pa = (pfn * ps) as PhysAddr;
  const handle = physToDma(dev, pa);
  if (handle === null) {
    src.free(pfn);
    return null;
  }
  const aligned = ps * 2 ** order;
  if (dev.dmaCoherent || mm.profile.arch === "x86_64") {
    const cpu = mm.linearAddress(pa);
    dev.trace.record({ fn: "dma_direct_alloc", kind: "alloc_coherent", msg: `${dev.name}: ${size} bytes at phys ${hex(pa)}, linear map ${mm.fmtVa(cpu)} (coherent device: no remap)`, data: { phys: pa, virt: cpu, size } });
    return { cpuAddr: cpu, dmaHandle: handle, size, how: "linear-map" };
  }
  const pfns: Pfn[] = [];
  for (let i = 0; i < aligned / ps; i++) pfns.push((pfn + i) as Pfn);
  const va = vmallocPages(mm, aligned, pfns, "dma-remap", "wc", "dma_common_contiguous_remap");
  if (va === null) {
    src.free(pfn);
    return null;
  }
  dev.trace.record({
    fn: "dma_direct_alloc",
    kind: "alloc_remap",
    msg: `${dev.name}: ${size} bytes at phys ${hex(pa)}, alias cleaned (arch_dma_prep_coherent), remapped Normal-NC at ${mm.fmtVa(va)}`,
    data: { phys: pa, virt: va, size },
  });
  return { cpuAddr: va, dmaHandle: handle, size, how: "remap" };
}

/**
 * dma_direct_free(dev, size, cpu_addr, handle): unmap a remapped buffer and
 * return the pages.
 * @throws ModelConfigError if the handle does not decode to a live allocation.
 */
export function dmaDirectFree(dev: Device, size: number, cpuAddr: VirtAddr, handle: DmaAddr): void {
  checkInt("dmaDirectFree(size)", size, 1);
  const mm = mmOfDevice(dev);
  const pa = dmaToPhys(dev, handle);
  if (pa === null) throw new ModelConfigError("dmaFreeCoherent(handle)", handle, "a handle returned by dmaAllocCoherent for this device");
  const pfn = Math.floor(pa / mm.pageSize);
  pageSourceOf(mm).free(pfn); // throws (before any change) for a bad handle
  if (mm.isVmallocAddr(cpuAddr)) vunmapAny(mm, cpuAddr);
  dev.trace.record({ fn: "dma_direct_free", kind: "free_coherent", msg: `${dev.name}: freed ${size} bytes at phys ${hex(pa)}`, data: { phys: pa, size } });
}
