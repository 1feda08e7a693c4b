/**
 * vmalloc, vmalloc_32 and vmalloc_to_sg over the buddy allocator
 * (lib/mm/page-alloc.ts), honouring the per-release GFP rules that
 * lib/mm/gfp.ts found:
 *
 * - __vmalloc_area_node (mm/vmalloc.c, v4.4.1, v4.19.1, v6.19) allocates
 *   each page on its own (order 0) with the caller's flags plus
 *   __GFP_NOWARN, plus __GFP_HIGHMEM as {@link vmallocPageGfp} decides per
 *   release (v4.12 19809c2da28a always; v4.14 704b862f9efd only without
 *   GFP_DMA/GFP_DMA32);
 * - vmalloc() passes {@link gfpVmalloc}, vmalloc_32() passes
 *   {@link gfpVmalloc32} (64-bit: GFP_DMA32 | GFP_KERNEL);
 * - the pages are mapped at the first fit in vmalloc space with a guard page
 *   (lib/mm/remap.ts vmallocPages).
 *
 * What that means on x86-64: vmalloc() pages come from ZONE_NORMAL (above
 * 4 GiB when the machine has RAM there) and fall back downwards; vmalloc_32()
 * pages come from ZONE_DMA32, except in v4.12..v4.13 where GFP_DMA32 |
 * __GFP_HIGHMEM is a GFP_ZONE_BAD combination: without CONFIG_DEBUG_VM the
 * table yields zone 0, ZONE_DMA (16 MiB), whose zonelist has nothing below,
 * so large vmalloc_32 buffers fail there.
 *
 * vmalloc_to_sg is videobuf's videobuf_vmalloc_to_sg
 * (drivers/media/v4l2-core/videobuf-dma-sg.c, v4.19) and saa7146's private
 * copy (drivers/media/common/saa7146/saa7146_core.c vmalloc_to_sg, read in
 * torvalds/linux): one PAGE_SIZE entry per page via vmalloc_to_page, and
 * BUG_ON(PageHighMem(pg)).
 */
import { checkInt, hex } from "../core/arith.js";
import type { Pfn, VirtAddr } from "../core/addr.js";
import { KernelOops, ModelConfigError } from "../core/errors.js";
import { sgInitEntry, sgSetPage, type Scatterlist } from "../sg/scatterlist.js";
import { fmtGfp, gfp, gfpVmalloc, gfpVmalloc32, vmallocPageGfp, type GfpFlags, type VmallocArch } from "./gfp.js";
import { buddyOf, zoneConfigOf, type HasMm } from "./page-alloc.js";
import { vmallocPages } from "./remap.js";

/** A vmalloc'ed buffer and where its pages are. */
export interface VmallocBuffer {
  /** The vmalloc-space address. */
  va: VirtAddr;
  /** Bytes requested. */
  size: number;
  /** One pfn per page, in VA order. */
  pfns: Pfn[];
  /** The flags each page was allocated with. */
  pageGfp: GfpFlags;
  /** Zone of each page. */
  zones: string[];
  /** gfp_zone hit a GFP_ZONE_BAD combination. */
  badZoneCombination: boolean;
}

/** CONFIG_64BIT and the zone configuration of the machine, for gfpVmalloc32. */
export function vmallocArchOf(machine: HasMm): VmallocArch {
  return { is64bit: machine.mm.profile.arch !== "arm", zones: zoneConfigOf(machine.mm) };
}

declare module "./memory.js" {
  interface MemoryModel {
    /** Live __vmalloc / vmalloc_32 buffers by address (lib/mm/vmalloc32.ts); absent until the first one. */
    vmallocBuffers?: Map<number, VmallocBuffer>;
  }
}

function liveOf(machine: HasMm): Map<number, VmallocBuffer> {
  if (!machine.mm.vmallocBuffers) machine.mm.vmallocBuffers = new Map();
  return machine.mm.vmallocBuffers;
}

/**
 * __vmalloc(size, callerGfp): PAGE_ALIGN(size) / PAGE_SIZE order-0 pages with
 * vmallocPageGfp(kernel, callerGfp), mapped in vmalloc space.
 * @returns the buffer, or null when a page allocation or the vmalloc space
 * fails (pages already taken are given back).
 * @throws ModelConfigError for size < 1 (before any change).
 */
export function vmallocGfp(machine: HasMm, size: number, callerGfp: GfpFlags, caller = "vmalloc"): VmallocBuffer | null {
  checkInt(`${caller}(size)`, size, 1);
  const mm = machine.mm;
  const b = buddyOf(machine);
  const n = Math.ceil(size / mm.pageSize);
  const pageGfp = vmallocPageGfp(mm.machine.kernel, callerGfp);
  // one order-0 allocation per page, as allocExplain(pageGfp, 0) makes each (BuddyAllocator.allocOrder0Pages)
  const r = b.allocOrder0Pages(pageGfp, n);
  const pfns: Pfn[] = r.pfns;
  const zones: string[] = r.zones;
  const bad = r.badZoneCombination;
  if (r.failed) {
    for (const p of pfns) b.free(p, 0);
    return null;
  }
  const va = vmallocPages(mm, n * mm.pageSize, pfns, "vmalloc", "normal", caller);
  if (va === null) {
    for (const p of pfns) b.free(p, 0);
    return null;
  }
  const buf: VmallocBuffer = { va, size, pfns, pageGfp, zones, badZoneCombination: bad };
  liveOf(machine).set(va, buf);
  return buf;
}

/**
 * vmalloc(size) with the release's flags ({@link gfpVmalloc}).
 * @returns the buffer or null. @throws ModelConfigError for size < 1.
 */
export function vmallocBuddy(machine: HasMm, size: number): VmallocBuffer | null {
  return vmallocGfp(machine, size, gfpVmalloc(machine.mm.machine.kernel), "vmalloc");
}

/**
 * vmalloc_32(size) with the release's GFP_VMALLOC32 ({@link gfpVmalloc32}).
 * @returns the buffer or null. @throws ModelConfigError for size < 1.
 */
export function vmalloc32(machine: HasMm, size: number): VmallocBuffer | null {
  return vmallocGfp(machine, size, gfpVmalloc32(machine.mm.machine.kernel, vmallocArchOf(machine)), "vmalloc_32");
}

/**
 * vfree(va) of a buffer from {@link vmallocGfp}: unmap and free its pages.
 * @throws ModelConfigError if `va` is not such a live buffer (before any change).
 */
export function vfreeBuddy(machine: HasMm, va: number): void {
  checkInt("vfreeBuddy(va)", va);
  const m = liveOf(machine);
  const buf = m.get(va);
  if (!buf) throw new ModelConfigError("vfree(addr)", va, "the address vmalloc/vmalloc_32 returned (a live buffer)");
  m.delete(va);
  machine.mm.vmapSpace.free(va);
  const b = buddyOf(machine);
  for (const p of buf.pfns) b.free(p, 0);
}

/**
 * videobuf_vmalloc_to_sg(virt, nr_pages): one scatterlist entry per page
 * (sg_set_page(page, PAGE_SIZE, 0)), the page from vmalloc_to_page.
 * @returns the list, or null if a page is not mapped (the kernel's kfree + NULL).
 * @throws KernelOops for a ZONE_HIGHMEM page (BUG_ON(PageHighMem(pg))),
 * ModelConfigError for nrPages < 1.
 */
export function vmallocToSg(machine: HasMm, va: number, nrPages: number): Scatterlist[] | null {
  checkInt("vmallocToSg(nrPages)", nrPages, 1);
  const mm = machine.mm;
  const ps = mm.pageSize;
  const out: Scatterlist[] = [];
  for (let i = 0; i < nrPages; i++) {
    // the page of vmalloc_to_page, by its pfn (MemoryModel.vmallocToPfn: the same page, no struct page built)
    const pfn = mm.vmallocToPfn(va + i * ps);
    if (pfn === null) return null;
    if (mm.zoneOf(pfn * ps) === "ZONE_HIGHMEM") {
      const msg = `kernel BUG at vmalloc_to_sg: page ${hex(pfn * ps)} is HighMem (BUG_ON(PageHighMem(pg)))`;
      (mm.machine as { trace?: { record(e: object): void } }).trace?.record({ fn: "vmalloc_to_sg", kind: "oops", level: "fault", msg, data: { pfn: pfn } });
      throw new KernelOops(msg, pfn * ps, ["vmalloc_to_sg", "saa7146_vmalloc_build_pgtable"]);
    }
    const sg = sgInitEntry();
    sgSetPage(sg, pfn, ps, 0);
    out.push(sg);
  }
  out[out.length - 1]!.isLast = true;
  return out;
}

/** Describe the flags a vmalloc_32 page uses on this machine: "__GFP_DMA32|...". */
export function vmalloc32PageGfpText(machine: HasMm): string {
  return fmtGfp(vmallocPageGfp(machine.mm.machine.kernel, gfpVmalloc32(machine.mm.machine.kernel, vmallocArchOf(machine))));
}

/** gfp(GFP_KERNEL, GFP_DMA32): what a driver passes to allocate explicitly from ZONE_DMA32. */
export function gfpKernelDma32(): GfpFlags {
  return gfp("__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_IO", "__GFP_FS", "__GFP_DMA32");
}
