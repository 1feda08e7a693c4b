/**
 * Per-device coherent memory pools (kernel/dma/coherent.c, read at v5.4.6 and
 * v6.19): a `shared-dma-pool` reserved-memory region named by a device's
 * `memory-region` becomes that device's pool at probe
 * (of_reserved_mem_device_init -> rmem_dma_device_init ->
 * dma_init_coherent_memory -> memremap(base, size, MEMREMAP_WC)), and
 * dma_alloc_attrs serves the device from it first (dma_alloc_from_dev_coherent).
 *
 * Rules:
 * - rmem_dma_setup refuses `reusable` regions (-EINVAL) and, on 32-bit ARM,
 *   regions without `no-map` ("regions without no-map are not yet supported").
 * - The pool is memremapped write-combine. A no-map region is not System RAM,
 *   so memremap creates a vmalloc-space mapping (lib/mm/remap.ts); a region
 *   that is System RAM is refused by memremap's WC rule (the pool is not created).
 * - Allocation: order = get_order(size); a request larger than the pool fails;
 *   bitmap_find_free_region finds the first free, naturally aligned run of
 *   2^order pages; the memory is zeroed; the CPU address is virt_base +
 *   pageno * PAGE_SIZE and the handle device_base + pageno * PAGE_SIZE, with
 *   device_base = phys_to_dma(pool base) (use_dev_dma_pfn_offset).
 * - Whatever the pool returns is final: dma_alloc_from_dev_coherent returns 1
 *   (handled) whenever the device has a pool, even when the allocation failed.
 */
import { checkInt, checkPowerOf2, hex } from "../core/arith.js";
import type { DmaAddr, PhysAddr, VirtAddr } from "../core/addr.js";
import { EINVAL, ENXIO } from "../core/errno.js";
import { ModelConfigError } from "../core/errors.js";
import { physToDma, type Device } from "../platform/device.js";
import type { ReservedProfile } from "../platform/profile.js";
import type { MemoryModel } from "../mm/memory.js";
import { memremap } from "../mm/remap.js";
import { archHooksOf } from "./arch/index.js";

/** struct dma_coherent_mem. */
export interface DmaCoherentMem {
  /** The reserved-memory node it came from. */
  readonly name: string;
  /** CPU address of the pool (memremap result). */
  readonly virtBase: VirtAddr;
  /** Device address of the pool's first byte. */
  readonly deviceBase: DmaAddr;
  /** Physical address of the pool's first byte (pfn_base * PAGE_SIZE). */
  readonly physBase: PhysAddr;
  /** Pool size in pages. */
  readonly pages: number;
  /** Allocation bitmap: true = page in use. */
  readonly bitmap: boolean[];
}

declare module "../platform/device.js" {
  interface Device {
    /** dev->dma_mem: the per-device coherent pool, set from `memory-region` at probe ({@link dmaCoherentDeviceInit}); absent = none. */
    dmaMem?: DmaCoherentMem | null;
  }
}

/** get_order(size): the smallest order with PAGE_SIZE << order >= size (size >= 1). */
export function getOrder(size: number, pageSize = 4096): number {
  checkInt("getOrder(size)", size, 1);
  let o = 0;
  while (pageSize * 2 ** o < size) o++;
  return o;
}

/**
 * bitmap_find_free_region(bitmap, bits, order): the first naturally aligned
 * free run of 2^order bits, marked used; -1 if none. (lib/bitmap.c)
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function bitmapFindFreeRegion(bitmap: boolean[], order: number): number {
  checkInt("bitmapFindFreeRegion(order)", order, 0, 30);
  const run = 2 ** order;
  for (let pos = 0; pos + run <= bitmap.length; pos += run) {
    let free = true;
    for (let i = pos; i < pos + run; i++) if (bitmap[i]) { free = false; break; }
    if (free) {
      for (let i = pos; i < pos + run; i++) bitmap[i] = true;
      return pos;
    }
  }
  return -1;
}

/** Outcome of setting up a device's pool. */
export interface RmemInitResult {
  ret: number;
  mem: DmaCoherentMem | null;
  msg: string;
}

/**
 * rmem_dma_setup + rmem_dma_device_init for `dev` and the reserved node `r`:
 * validates the node, memremaps it WC and assigns it as the device's pool.
 * Records events in the device's trace. Returns the kernel's result (0 or
 * -EINVAL) and the pool.
 */
export function rmemDmaDeviceInit(mm: MemoryModel, dev: Device, r: ReservedProfile): RmemInitResult {
  const fn = "rmem_dma_device_init";
  if (r.reusable) {
    dev.trace.record({ fn: "rmem_dma_setup", kind: "rmem_refused", level: "warn", msg: `Reserved memory: ${r.name} is reusable: not a DMA pool (-EINVAL)`, data: { base: r.base } });
    return { ret: -EINVAL, mem: null, msg: "reusable region" };
  }
  if (archHooksOf(mm.profile.arch).rmemRequiresNoMap && !r.noMap) {
    dev.trace.record({ fn: "rmem_dma_setup", kind: "rmem_refused", level: "warn", msg: "Reserved memory: regions without no-map are not yet supported", data: { base: r.base } });
    return { ret: -EINVAL, mem: null, msg: "no no-map on ARM" };
  }
  const res = memremap(mm, r.base, r.size, "MEMREMAP_WC", "dma_init_coherent_memory");
  if (res.addr === null) {
    dev.trace.record({ fn: "dma_init_coherent_memory", kind: "memremap_failed", level: "warn", msg: `memremap(${hex(r.base)}, ${hex(r.size)}, MEMREMAP_WC): ${res.how}`, data: { base: r.base, size: r.size } });
    return { ret: -EINVAL, mem: null, msg: res.how };
  }
  const pages = Math.floor(r.size / mm.pageSize);
  const dbase = physToDma(dev, r.base as PhysAddr);
  const mem: DmaCoherentMem = {
    name: r.name,
    virtBase: res.addr,
    deviceBase: (dbase ?? r.base) as DmaAddr,
    physBase: r.base as PhysAddr,
    pages,
    bitmap: new Array<boolean>(pages).fill(false),
  };
  dev.trace.record({
    fn,
    kind: "dev_coherent_pool",
    msg: `${dev.name}: coherent pool ${r.name} phys ${hex(r.base)} size ${hex(r.size)} memremapped (WC) at ${mm.fmtVa(res.addr)} [${res.how}]`,
    data: { phys: r.base, size: r.size, virt: res.addr, deviceBase: mem.deviceBase },
  });
  if (mem.deviceBase + r.size - 1 > Math.min(dev.coherentDmaMask, dev.busDmaLimit || Infinity)) {
    dev.trace.record({ fn, kind: "rmem_beyond_mask", level: "warn", msg: `${dev.name}: reserved memory is beyond device's set DMA address range`, data: {} });
  }
  dev.dmaMem = mem;
  return { ret: 0, mem, msg: "ok" };
}

/** Result of {@link dmaAllocFromDevCoherent}. */
export interface DevCoherentAlloc {
  /** 1: the device has a pool and the result is final; 0: no pool, continue. */
  handled: 0 | 1;
  cpuAddr: VirtAddr | null;
  dmaHandle: DmaAddr | null;
}

/**
 * dma_alloc_from_dev_coherent(dev, size, &handle, &ret).
 * @throws ModelConfigError for size < 1 (before any change).
 */
export function dmaAllocFromDevCoherent(dev: Device, size: number, pageSize = 4096): DevCoherentAlloc {
  checkInt("dmaAllocFromDevCoherent(size)", size, 1);
  checkPowerOf2("dmaAllocFromDevCoherent(pageSize)", pageSize);
  const mem = dev.dmaMem ?? null;
  if (!mem) return { handled: 0, cpuAddr: null, dmaHandle: null };
  if (size > mem.pages * pageSize) return { handled: 1, cpuAddr: null, dmaHandle: null };
  const order = getOrder(size, pageSize);
  const pageno = bitmapFindFreeRegion(mem.bitmap, order);
  if (pageno < 0) return { handled: 1, cpuAddr: null, dmaHandle: null };
  return {
    handled: 1,
    cpuAddr: (mem.virtBase + pageno * pageSize) as VirtAddr,
    dmaHandle: (mem.deviceBase + pageno * pageSize) as DmaAddr,
  };
}

/**
 * dma_release_from_dev_coherent(dev, order, vaddr): 1 if `vaddr` is in the
 * device's pool (its 2^order pages are freed), else 0.
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function dmaReleaseFromDevCoherent(dev: Device, order: number, vaddr: number, pageSize = 4096): 0 | 1 {
  checkInt("dmaReleaseFromDevCoherent(order)", order, 0, 30);
  checkInt("dmaReleaseFromDevCoherent(vaddr)", vaddr);
  checkPowerOf2("dmaReleaseFromDevCoherent(pageSize)", pageSize);
  const mem = dev.dmaMem ?? null;
  if (!mem || vaddr < mem.virtBase || vaddr >= mem.virtBase + mem.pages * pageSize) return 0;
  const page = Math.floor((vaddr - mem.virtBase) / pageSize);
  for (let i = page; i < Math.min(page + 2 ** order, mem.pages); i++) mem.bitmap[i] = false;
  return 1;
}

/** True iff `cpuAddr` lies in the device's coherent pool. */
export function inDevCoherentPool(dev: Device, cpuAddr: number, pageSize = 4096): boolean {
  const mem = dev.dmaMem ?? null;
  return !!mem && cpuAddr >= mem.virtBase && cpuAddr < mem.virtBase + mem.pages * pageSize;
}

/** Pages in use in the device's pool (for tests and charts). */
export function devCoherentUsedPages(dev: Device): number {
  const mem = dev.dmaMem ?? null;
  return mem ? mem.bitmap.filter(Boolean).length : 0;
}

/**
 * of_reserved_mem_device_init(dev) at probe: set up the device's
 * `memory-region` pool (rmem_dma_device_init), or share the pool of a device
 * that named the same node before it (rmem->priv). The machine calls it for
 * each device, in profile order, right after registering the device with the
 * memory model (deterministic vmalloc placement). A device without
 * `memory-region`, or whose node is not a `shared-dma-pool`, gets nothing.
 * @throws ModelConfigError if `memory-region` names no reserved-memory node of the profile.
 */
export function dmaCoherentDeviceInit(mm: MemoryModel, dev: Device): void {
  const d = mm.profile.devices.find((x) => x.name === dev.name);
  if (!d || d.memoryRegion === undefined) return;
  const r = mm.profile.reserved.find((x) => x.name === d.memoryRegion);
  if (!r) throw new ModelConfigError(`devices(${d.name}).memoryRegion`, d.memoryRegion, "a reserved-memory node of the profile");
  const devs = mm.machine.devices;
  const shared = devs ? [...devs.values()].find((o) => o !== dev && o.dmaMem && o.dmaMem.name === r.name) : undefined;
  if (shared && shared.dmaMem) {
    // rmem->priv: a second device naming the same node shares the pool.
    dev.dmaMem = shared.dmaMem;
    return;
  }
  if (r.compatible !== undefined && r.compatible !== "shared-dma-pool") return;
  rmemDmaDeviceInit(mm, dev, r);
}

/**
 * dma_mmap_from_dev_coherent(dev, vma, vaddr, size, &ret): for a buffer in
 * the device's pool, the first pfn of a vma of `userPages` pages at page
 * offset `pgoff` over a buffer of `count` pages (pool pfn + offset), or
 * -ENXIO when the vma runs past the buffer; null when `cpuAddr` is not in
 * the device's pool (the caller goes on with its ops).
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function dmaMmapFromDevCoherent(dev: Device, cpuAddr: number, count: number, userPages: number, pgoff: number, pageSize = 4096): { ret: number; pfn: number | null } | null {
  checkInt("dmaMmapFromDevCoherent(cpuAddr)", cpuAddr);
  checkInt("dmaMmapFromDevCoherent(count)", count);
  checkInt("dmaMmapFromDevCoherent(userPages)", userPages);
  checkInt("dmaMmapFromDevCoherent(pgoff)", pgoff);
  checkPowerOf2("dmaMmapFromDevCoherent(pageSize)", pageSize);
  const mem = dev.dmaMem ?? null;
  if (!mem || !inDevCoherentPool(dev, cpuAddr, pageSize)) return null;
  const start = Math.floor((cpuAddr - mem.virtBase) / pageSize);
  if (pgoff >= count || userPages > count - pgoff) return { ret: -ENXIO, pfn: null };
  return { ret: 0, pfn: mem.physBase / pageSize + start + pgoff };
}
