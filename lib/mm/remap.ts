/**
 * vmalloc, vmap, ioremap and memremap on a machine's {@link MemoryModel}.
 *
 * Sources: mm/vmalloc.c (__vmalloc_node, vmap, __get_vm_area_node), kernel/iomem.c
 * (memremap, try_ram_remap), arch/arm64/mm/ioremap.c (__ioremap_caller:
 * refuses RAM that is pfn_valid — "ioremap on RAM" — in v4.19/v5.4;
 * arm64 IOREMAP_MAX_ORDER = PUD_SHIFT with 4K pages), all v5.4.6 / v6.19.
 */
import { checkInt } from "../core/arith.js";
import { checkIntArg } from "../core/arg-checks.js";
import type { PhysAddr, Pfn, VirtAddr } from "../core/addr.js";
import { ModelConfigError } from "../core/errors.js";
import type { MemoryModel } from "./memory.js";
import type { VmArea, VmKind, VmProt } from "./vmalloc.js";
import { pageSourceOf } from "./page-source.js";

/** memremap flags (include/linux/io.h). */
export type MemremapFlag = "MEMREMAP_WB" | "MEMREMAP_WT" | "MEMREMAP_WC";

function ioremapMaxOrder(mm: MemoryModel): number {
  const ps = Math.log2(mm.pageSize);
  return mm.profile.arch === "arm64" && mm.pageSize === 4096 ? 30 : 7 + ps;
}

/**
 * region_intersects(start, size, IORESOURCE_SYSTEM_RAM): "intersects" when the
 * whole range is System RAM (RAM banks minus no-map regions), "disjoint" when
 * none of it is, else "mixed".
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function regionIntersectsSystemRam(mm: MemoryModel, start: number, size: number): "intersects" | "disjoint" | "mixed" {
  checkInt("regionIntersectsSystemRam(start)", start);
  checkInt("regionIntersectsSystemRam(size)", size);
  checkInt("regionIntersectsSystemRam(size)", start + size);
  const ps = mm.pageSize;
  let ram = 0;
  let other = 0;
  for (let a = Math.floor(start / ps) * ps; a < start + size; a += ps) {
    if (mm.isRam(a) && mm.regionOf(a).kind !== "nomap") ram++;
    else other++;
    if (ram && other) return "mixed";
  }
  return ram ? "intersects" : "disjoint";
}

/**
 * vmalloc(size): PAGE_SIZE pages (given: the model has no page allocator yet,
 * so the caller passes the pfns it got; see lib/dma/direct-alloc.ts's page
 * source) mapped at the first fit in vmalloc space, normal cacheable, with a
 * guard page.
 * @returns the address, or null when vmalloc space is exhausted.
 * @throws ModelConfigError if `pfns` does not hold size / PAGE_SIZE pages.
 */
export function vmallocPages(mm: MemoryModel, size: number, pfns: readonly Pfn[], kind: VmKind = "vmalloc", prot: VmProt = "normal", caller = "vmalloc"): VirtAddr | null {
  checkInt("vmalloc(size)", size, 1);
  // (the field name is built only for a pfn checkInt rejects: this runs per page)
  // (indexed: this runs per page, and an unoptimized for-of makes an iterator result per page)
  for (let i = 0; i < pfns.length; i++) checkIntArg(caller, "pfn", pfns[i]!);
  const n = Math.ceil(size / mm.pageSize);
  if (pfns.length !== n) throw new ModelConfigError("vmalloc(pfns)", pfns.length, `${n} pages for ${size} bytes`);
  const a = mm.vmapSpace.alloc(size, { kind, prot, pfns, caller });
  return a ? a.start : null;
}

/**
 * vmap(pages, count, VM_MAP, prot): map existing pages contiguously in vmalloc space.
 * @returns the address or null (space exhausted).
 * @throws ModelConfigError for an empty page list.
 */
export function vmap(mm: MemoryModel, pfns: readonly Pfn[], prot: VmProt = "normal", caller = "vmap"): VirtAddr | null {
  if (pfns.length === 0) throw new ModelConfigError("vmap(count)", 0, "at least one page");
  return vmallocPages(mm, pfns.length * mm.pageSize, pfns, "vmap", prot, caller);
}

/**
 * ioremap(phys, size) / ioremap_wc / ioremap_cache: a VM_IOREMAP area mapping
 * [phys, phys + size) contiguously. The returned address keeps the offset of
 * `phys` within its page.
 * arm64 v4.19..v6.19 refuses memory that has a linear alias ("ioremap on RAM"
 * WARN, NULL) — the model checks pfn_valid-and-mapped the same way.
 * @returns the address or null.
 * @throws ModelConfigError for a zero size.
 */
export function ioremap(mm: MemoryModel, phys: number, size: number, prot: VmProt = "device", caller = "ioremap"): VirtAddr | null {
  checkInt("ioremap(phys)", phys);
  checkInt("ioremap(size)", size, 1);
  const ps = mm.pageSize;
  const base = Math.floor(phys / ps) * ps;
  const off = phys - base;
  if (mm.profile.arch === "arm64" && mm.hasLinearAlias(base)) return null;
  const a = mm.vmapSpace.alloc(off + size, { kind: "ioremap", prot, physBase: base as PhysAddr, ioremap: true, ioremapMaxOrder: ioremapMaxOrder(mm), caller });
  return a ? ((a.start + off) as VirtAddr) : null;
}

/** Result of {@link memremap}. */
export interface MemremapResult {
  /** The CPU address, or null (the kernel's NULL). */
  addr: VirtAddr | null;
  /** How it was obtained. */
  how: "linear-map (try_ram_remap)" | "vmalloc space (arch_memremap_wb / ioremap_wc)" | "refused: memremap attempted on ram" | "refused: mixed range" | "vmalloc space exhausted";
  /** The vm area, when one was created. */
  area: VmArea | null;
}

/**
 * memremap(offset, size, flags) (kernel/iomem.c):
 * - System RAM (with a linear alias) and MEMREMAP_WB: the linear-map address (try_ram_remap);
 * - WB on anything else: a new vmalloc-space mapping (ioremap_cache), cacheable;
 * - WC/WT on System RAM: refused ("memremap attempted on ram"), null;
 * - WC/WT elsewhere (e.g. a no-map pool): a new write-combine mapping;
 * - a range that is partly System RAM: refused ("mixed range").
 * @throws ModelConfigError for a zero size or a bad address, before any change.
 */
export function memremap(mm: MemoryModel, offset: number, size: number, flag: MemremapFlag, caller = "memremap"): MemremapResult {
  checkInt("memremap(offset)", offset);
  checkInt("memremap(size)", size, 1);
  const is = regionIntersectsSystemRam(mm, offset, size);
  if (is === "mixed") return { addr: null, how: "refused: mixed range", area: null };
  if (flag === "MEMREMAP_WB" && is === "intersects") {
    const pfn = Math.floor(offset / mm.pageSize);
    if (mm.pfnValid(pfn) && mm.hasLinearAlias(offset)) return { addr: mm.linearAddress(offset), how: "linear-map (try_ram_remap)", area: null };
  }
  if (is === "intersects") return { addr: null, how: "refused: memremap attempted on ram", area: null };
  const ps = mm.pageSize;
  const base = Math.floor(offset / ps) * ps;
  const off = offset - base;
  const prot: VmProt = flag === "MEMREMAP_WB" ? "normal" : flag === "MEMREMAP_WC" ? "wc" : "uncached";
  const a = mm.vmapSpace.alloc(off + size, { kind: "memremap", prot, physBase: base as PhysAddr, ioremap: true, ioremapMaxOrder: ioremapMaxOrder(mm), caller });
  if (!a) return { addr: null, how: "vmalloc space exhausted", area: null };
  return { addr: (a.start + off) as VirtAddr, how: "vmalloc space (arch_memremap_wb / ioremap_wc)", area: a };
}

/**
 * memunmap / iounmap / vfree / vunmap: remove the vm area at `addr` (page
 * offset allowed, as iounmap rounds down). A linear-map address (memremap's
 * try_ram_remap result) is a no-op, as memunmap does for non-vmalloc addresses.
 * @throws ModelConfigError if `addr` is a vmalloc address with no area there.
 */
export function vunmapAny(mm: MemoryModel, addr: number): void {
  checkInt("vunmapAny(addr)", addr);
  if (!mm.isVmallocAddr(addr)) return;
  const ps = mm.pageSize;
  mm.vmapSpace.free(Math.floor(addr / ps) * ps);
}

/**
 * vmalloc(size): PAGE_ALIGN(size) / PAGE_SIZE single pages from the page
 * source (lib/mm/page-source.ts), mapped normal cacheable at the first fit in
 * vmalloc space with a guard page (mm/vmalloc.c __vmalloc_node_range).
 * @returns the address, or null when pages or vmalloc space run out (pages
 * already taken are given back).
 * @throws ModelConfigError for size < 1.
 */
export function vmalloc(mm: MemoryModel, size: number): VirtAddr | null {
  checkInt("vmalloc(size)", size, 1);
  const n = Math.ceil(size / mm.pageSize);
  const src = pageSourceOf(mm);
  const pfns: Pfn[] = [];
  for (let i = 0; i < n; i++) {
    const p = src.alloc(0, Number.MAX_SAFE_INTEGER);
    if (p === null) {
      for (const q of pfns) src.free(q);
      return null;
    }
    pfns.push(p);
  }
  const va = vmallocPages(mm, n * mm.pageSize, pfns, "vmalloc", "normal", "vmalloc");
  if (va === null) for (const q of pfns) src.free(q);
  return va;
}

/**
 * vfree(addr): unmap a vmalloc() area and give its pages back.
 * @throws ModelConfigError if no vmalloc() area starts at `addr`.
 */
export function vfree(mm: MemoryModel, addr: number): void {
  const a = mm.vmapSpace.find(addr);
  if (!a || a.start !== addr || a.kind !== "vmalloc") throw new ModelConfigError("vfree(addr)", addr, "the address vmalloc returned");
  mm.vmapSpace.free(addr);
  const src = pageSourceOf(mm);
  for (const p of a.pfns ?? []) src.free(p);
}
