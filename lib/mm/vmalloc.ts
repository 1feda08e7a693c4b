/**
 * The vmalloc / vmap area and its allocator, and the calls that use it:
 * vmalloc, vmap, ioremap, memremap.
 *
 * Allocator rules (mm/vmalloc.c, v5.4.6 and v6.19: __get_vm_area_node,
 * alloc_vmap_area): the size is rounded up to PAGE_SIZE; VM_IOREMAP areas are
 * aligned to 2^clamp(get_count_order(size), PAGE_SHIFT, IOREMAP_MAX_ORDER)
 * (arm64 4K pages: IOREMAP_MAX_ORDER = PUD_SHIFT = 30; generic: 7 + PAGE_SHIFT);
 * unless VM_NO_GUARD one guard page is added to the area; the address is the
 * lowest free, suitably aligned one at or above VMALLOC_START (first fit:
 * find_vmap_lowest_match). Deterministic: no randomisation is modelled.
 *
 * memremap (kernel/iomem.c, v5.4.6): a range that is entirely System RAM with
 * MEMREMAP_WB is served from the linear map (try_ram_remap: pfn_valid and not
 * highmem -> __va); otherwise MEMREMAP_WB uses arch_memremap_wb (ioremap_cache
 * on arm64), and WC/WT on System RAM is refused with a warning (NULL). A
 * `no-map` reserved region is not "System RAM" in /proc/iomem (arm64
 * request_standard_resources names it "reserved"), so it always gets a new
 * vmalloc-space mapping.
 */
import { checkInt, hex, orderBase2 } from "../core/arith.js";
import type { PhysAddr, Pfn, VirtAddr } from "../core/addr.js";
import { ModelConfigError } from "../core/errors.js";

/** get_count_order_long(x): ceil(log2(x)) for x >= 1 (include/linux/bitops.h). */
export function getCountOrderLong(x: number): number {
  checkInt("getCountOrderLong(x)", x, 1);
  return orderBase2(x);
}

/** Page protection of a kernel mapping. */
export type VmProt = "normal" | "wc" | "device" | "uncached";

/** Who created a vm area. */
export type VmKind = "vmalloc" | "vmap" | "ioremap" | "memremap" | "dma-remap";

/** One vm area (struct vm_struct + vmap_area). Sizes in bytes; `size` includes the guard page. */
export class VmArea {
  constructor(
    readonly start: VirtAddr,
    /** Bytes including the guard page (get_vm_area_size = size - guard). */
    readonly size: number,
    readonly guard: number,
    readonly kind: VmKind,
    readonly prot: VmProt,
    /** Either the pages (vmalloc, vmap) or a contiguous physical start (ioremap/memremap). */
    readonly pfns: readonly Pfn[] | null,
    readonly physBase: PhysAddr | null,
    readonly caller: string,
  ) {}
  /** Mapped bytes (without the guard page). */
  get mappedSize(): number {
    return this.size - this.guard;
  }
  /** The physical address `va` maps to, or null in the guard page / outside. */
  physOf(va: number, pageSize: number): PhysAddr | null {
    const off = va - this.start;
    if (off < 0 || off >= this.mappedSize) return null;
    if (this.physBase !== null) return (this.physBase + off) as PhysAddr;
    const p = this.pfns![Math.floor(off / pageSize)];
    return p === undefined ? null : ((p * pageSize + (off % pageSize)) as PhysAddr);
  }
}

/** Options of {@link VmapSpace.alloc}. */
export interface VmAllocOptions {
  kind: VmKind;
  prot: VmProt;
  pfns?: readonly Pfn[];
  physBase?: PhysAddr;
  /** VM_IOREMAP alignment rule. */
  ioremap?: boolean;
  /** IOREMAP_MAX_ORDER (log2 bytes). */
  ioremapMaxOrder?: number;
  /** VM_NO_GUARD. */
  noGuard?: boolean;
  caller?: string;
}

/** The vmalloc area [start, end) and its live areas, sorted by address. */
export class VmapSpace {
  private readonly areas: VmArea[] = [];
  /**
   * The area {@link find} last returned while it stays live (null after a free): walks over
   * consecutive pages (vmalloc_to_sg, a buffer's pages one by one) find it again without the
   * scan. Areas never overlap (first fit in {@link alloc}), so the one containing an address
   * is the scan's answer.
   */
  private last: VmArea | null = null;
  constructor(
    readonly start: number,
    readonly end: number,
    readonly pageSize: number,
  ) {}

  /** Live areas, lowest address first. */
  list(): readonly VmArea[] {
    return this.areas;
  }

  /** The area containing `va` (guard page included), or null. */
  find(va: number): VmArea | null {
    const last = this.last;
    if (last !== null && va >= last.start && va < last.start + last.size) return last;
    for (const a of this.areas) {
      if (va >= a.start && va < a.start + a.size) {
        this.last = a;
        return a;
      }
    }
    return null;
  }

  /**
   * __get_vm_area_node + alloc_vmap_area: first fit from VMALLOC_START.
   * @returns the new area, or null when the space is exhausted (the kernel's
   * "vmap allocation for size ... failed" and NULL).
   * @throws ModelConfigError for a zero or unaligned size request, before any change.
   */
  alloc(size: number, o: VmAllocOptions): VmArea | null {
    checkInt("vmalloc(size)", size, 1);
    const ps = this.pageSize;
    const sz = Math.ceil(size / ps) * ps;
    let align = ps;
    if (o.ioremap) {
      const order = Math.min(Math.max(getCountOrderLong(sz), Math.log2(ps)), o.ioremapMaxOrder ?? 7 + Math.log2(ps));
      align = 2 ** order;
    }
    const guard = o.noGuard ? 0 : ps;
    const total = sz + guard;
    let cand = Math.ceil(this.start / align) * align;
    for (const a of this.areas) {
      if (cand + total <= a.start) break;
      if (a.start + a.size > cand) cand = Math.ceil((a.start + a.size) / align) * align;
    }
    if (cand + total > this.end) return null;
    const area = new VmArea(cand as VirtAddr, total, guard, o.kind, o.prot, o.pfns ?? null, o.physBase ?? null, o.caller ?? o.kind);
    this.areas.push(area);
    this.areas.sort((x, y) => x.start - y.start);
    return area;
  }

  /**
   * Free the area starting at `va` (vfree / vunmap / iounmap / memunmap).
   * @throws ModelConfigError if no area starts there (the kernel WARNs "Trying to vfree() nonexistent vm area").
   */
  free(va: number): VmArea {
    const i = this.areas.findIndex((a) => a.start === va);
    if (i < 0) throw new ModelConfigError("vfree(addr)", va, `the start of a live vm area (${this.areas.map((a) => hex(a.start)).join(", ") || "none"})`);
    this.last = null;
    return this.areas.splice(i, 1)[0]!;
  }
}
