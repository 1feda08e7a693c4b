/**
 * The machine's memory model as the DMA layer sees it:
 *
 * - the physical map: RAM banks, /reserved-memory regions (`no-map`,
 *   `reusable`/CMA, `shared-dma-pool`), MMIO windows and holes;
 * - zones (ZONE_DMA / DMA32 / NORMAL / HIGHMEM) as address limits (the
 *   buddy allocator over them is lib/mm/page-alloc.ts);
 * - the memmap: which pfns have a `struct page` (`pfnValid`), where each
 *   struct page lives (`pfnToPage` gives a {@link Page} whose `address` is
 *   its kernel VA in the vmemmap / mem_map), and whether that struct page
 *   memory is mapped at all (`hasMemmap`: touching an unmapped one oopses);
 * - the kernel VA space: the linear map (which physical ranges have an alias,
 *   granularity, attributes), and the vmalloc/vmap area with a deterministic
 *   first-fit allocator (lib/mm/vmalloc.ts);
 * - `virtToPage` (like the kernel: arithmetic for ANY address), `vmallocToPage`,
 *   `isVmallocAddr`.
 *
 * Kernel sources read: arch/arm64/mm/init.c pfn_valid (v4.19: memblock_is_map_memory,
 * false for no-map even inside a present section), include/linux/mmzone.h
 * pfn_valid (v6.19 generic SPARSEMEM: true for every pfn of a present early
 * section, including no-map memory and holes inside it), arch/arm/mm/init.c
 * pfn_valid (memblock_is_map_memory), arch/arm64/include/asm/memory.h
 * virt_to_page (v4.19 and v6.19 VMEMMAP forms), include/linux/mm.h is_vmalloc_addr.
 */
import { SZ_4G, SZ_16M, SZ_1G, checkInt } from "../core/arith.js";
import { fmtVirtAddr, type PhysAddr, type Pfn, type VirtAddr } from "../core/addr.js";
import { ModelConfigError } from "../core/errors.js";
import { atLeast, defineChange } from "../kernel/version.js";
import type { Device } from "../platform/device.js";
import type { PlatformProfile } from "../platform/profile.js";
import { ARM64_FLIP_VA, inLinearRange, inVmallocRange, kernelLayout, wrapVa, type KernelLayout, type LayoutHost } from "./layout.js";
import { physToVirt, rawVirtToPhys } from "./linear-map.js";
import { VmapSpace, type VmArea, type VmProt } from "./vmalloc.js";

/** What a physical address is. */
export type PhysKind = "ram" | "reserved" | "nomap" | "cma" | "mmio" | "hole";

/** One region of the physical map (bytes; end exclusive). */
export interface PhysRegion {
  readonly kind: PhysKind;
  readonly name: string;
  readonly base: number;
  readonly size: number;
  /** The reserved-memory compatible string ("shared-dma-pool"), if any. */
  readonly compatible?: string;
}

/** A zone's span as a physical limit. */
export interface ZoneSpan {
  readonly name: "ZONE_DMA" | "ZONE_DMA32" | "ZONE_NORMAL" | "ZONE_HIGHMEM";
  /** First physical address (inclusive) and end (exclusive), clipped to RAM. */
  readonly start: number;
  readonly end: number;
}

/**
 * A `struct page *`. The kernel computes page pointers arithmetically from a
 * pfn (vmemmap / mem_map base + index * sizeof(struct page)), so every pfn
 * has a page *address*; whether memory backs that address is `hasMemmap`.
 * - `pfn`: page_to_pfn of this pointer.
 * - `address`: the struct page's kernel VA (stored form, see fmtVirtAddr).
 * - `hasMemmap`: the struct page memory is mapped (vmemmap populated for the
 *   pfn's section / inside the FLATMEM mem_map). Reading it otherwise is
 *   "Unable to handle kernel paging request" at `address`.
 * - `valid`: pfn_valid(pfn) on this release.
 */
export interface Page {
  readonly pfn: Pfn;
  readonly address: VirtAddr;
  readonly hasMemmap: boolean;
  readonly valid: boolean;
  /**
   * The pointer as the kernel prints it (%016lx / %08lx). Usually
   * fmtVirtAddr(address); when the vmemmap arithmetic wrapped past 2^64 (or
   * below the kernel half) the real pointer is not a kernel address and this
   * shows it as such, e.g. "0x0000000000200000".
   */
  readonly addressText: string;
}

/** arm64 stops overriding pfn_valid: no-map memory inside a present section becomes pfn_valid. */
export const ARM64_ZONE_DMA = defineChange({
  id: "arm64-zone-dma",
  since: "v5.5",
  commit: "1a8e1cef7603",
  subject: "arm64: use both ZONE_DMA and ZONE_DMA32",
  files: ["arch/arm64/Kconfig", "arch/arm64/mm/init.c"],
  effect: "arm64 has a ZONE_DMA (below 1 GiB by default) under ZONE_DMA32.",
  bracket: "absent in v5.4.0 (MrJu/linux-5.4, arch/arm64/mm/init.c:zone_sizes_init: ZONE_DMA32 only), present in v5.6.4 (shmily1012/linux-5.6.4, arch/arm64/mm/init.c:zone_sizes_init, arch/arm64/Kconfig ZONE_DMA, ARM64_ZONE_DMA_BITS 30); loose: no v5.5 tree was found, v5.5 from the series' review history (merged in Dec 2019)",
});

export const ARM64_GENERIC_PFN_VALID = defineChange({
  id: "arm64-generic-pfn-valid",
  since: "v5.16",
  commit: "3de360c3fdb3 (full hash from Will Deacon's \"Applied to arm64 (for-next/pfn-valid)\" mail and a v5.16-rc1 shortlog)",
  subject: "arm64/mm: drop HAVE_ARCH_PFN_VALID",
  files: ["arch/arm64/mm/init.c", "include/linux/mmzone.h"],
  effect: "pfn_valid() is the generic SPARSEMEM one: every pfn of a present early section is valid, so no-map memory inside a RAM section has pfn_valid() true (its struct pages exist, initialised as reserved). Before, arm64 kept its own pfn_valid(): memblock_is_map_memory() up to v5.13 (false for no-map memory), memblock_is_memory() in v5.14 and v5.15 (873ba463914c, not modelled: no-map ranges still in memblock.memory were already valid there).",
  bracket: "absent in v5.15.16 (yashlala/fastswap-linux-5.16.16, Makefile 5.15.16, arch/arm64/mm/init.c:pfn_valid, arch/arm64/Kconfig selects HAVE_ARCH_PFN_VALID), present in v5.17-rc5 (dunli/linux-5.17, include/linux/mmzone.h:pfn_valid, no arm64 override); v5.16 because the 2022-04 stable queue took it for 5.15 only; wowk/linux-5.15 (5.15.55) carries that backport, and lsk-legends/linux-5.14 (5.14-rc5) lacks the override through 16c9afc77660, reverted before v5.14",
});

/** arm64 section size shrinks from 1 GiB to 128 MiB (SECTION_SIZE_BITS 30 -> 27). */
export const ARM64_SECTION_27 = defineChange({
  id: "arm64-section-size-bits-27",
  since: "v5.12",
  commit: "f0b13ee23241",
  subject: "arm64/sparsemem: reduce SECTION_SIZE_BITS",
  files: ["arch/arm64/include/asm/sparsemem.h"],
  effect: "memory sections (the unit of vmemmap population and of generic pfn_valid) are 128 MiB instead of 1 GiB with 4K pages",
  bracket: "absent in v5.11.0 (CompressionDuck/linux-5.11, arch/arm64/include/asm/sparsemem.h:SECTION_SIZE_BITS 30), present in v5.12.9 (zhangyinjun/linux-5.12.9, arch/arm64/include/asm/sparsemem.h:SECTION_SIZE_BITS 27 for 4K pages, 29 for 64K)",
});

/**
 * The memory model of one machine. Built lazily from the profile on first
 * use (so it can be attached to a Machine as a field).
 */
export class MemoryModel {
  private readonly host: LayoutHost & { readonly devices?: Map<string, Device> };
  private initDone = false;
  private _regions: PhysRegion[] = [];
  /** The zone spans, computed on first use (profile, release and layout do not change). */
  private _zones: ZoneSpan[] | null = null;
  private _vmap: VmapSpace | null = null;
  constructor(host: LayoutHost & { readonly devices?: Map<string, Device> }) {
    this.host = host;
  }

  private ensure(): void {
    if (this.initDone) return;
    this.initDone = true;
    this._regions = buildPhysMap(this.host.profile);
  }

  /** Called when the machine adds a device: initialises the model. */
  deviceAdded(dev: Device): void {
    void dev;
    this.ensure();
  }

  /** The machine this model belongs to (profile, kernel, devices). */
  get machine(): LayoutHost & { readonly devices?: Map<string, Device> } {
    return this.host;
  }
  get profile(): PlatformProfile {
    return this.host.profile;
  }
  get layout(): KernelLayout {
    return kernelLayout(this.host);
  }
  /** PAGE_SIZE, bytes. */
  get pageSize(): number {
    return this.host.profile.pageSize;
  }
  /** The vmalloc/vmap area allocator. */
  get vmapSpace(): VmapSpace {
    this.ensure();
    // Built on first use: a profile without a modelled layout (parisc without a layout block)
    // still gets a machine; only VA-space calls then throw (from kernelLayout).
    if (!this._vmap) this._vmap = new VmapSpace(this.layout.vmallocStart, this.layout.vmallocEnd, this.pageSize);
    return this._vmap;
  }

  /** The physical map, sorted by base: RAM, reserved (by kind), MMIO; holes are not listed. */
  regions(): readonly PhysRegion[] {
    this.ensure();
    return this._regions;
  }

  /** The region holding physical address `pa` (a "hole" region of size 0 if none). */
  regionOf(pa: number): PhysRegion {
    this.ensure();
    // Reserved regions are listed before the RAM bank that contains them.
    for (const r of this._regions) if (pa >= r.base && pa < r.base + r.size) return r;
    return { kind: "hole", name: "hole", base: pa, size: 0 };
  }

  /** True iff `pa` is in a RAM bank (memblock.memory: includes no-map and CMA regions). */
  isRam(pa: number): boolean {
    const ram = this.profile.ram;
    for (let i = 0; i < ram.length; i++) if (pa >= ram[i]!.base && pa < ram[i]!.base + ram[i]!.size) return true;
    return false;
  }

  /** Memory section size, bytes (SECTION_SIZE_BITS). */
  get sectionSize(): number {
    switch (this.profile.arch) {
      case "arm64":
        return atLeast(this.host.kernel, ARM64_SECTION_27) ? 2 ** 27 : 2 ** 30;
      case "x86_64":
        return 2 ** 27;
      default:
        return 2 ** 28; // arm SPARSEMEM default; with FLATMEM not used
    }
  }

  /** True iff the memmap uses sparse sections (arm64, x86-64); arm is modelled FLATMEM. */
  get sparse(): boolean {
    return this.profile.arch !== "arm";
  }

  private sectionPresent(pfn: number): boolean {
    const ss = this.sectionSize;
    const sec = Math.floor((pfn * this.pageSize) / ss);
    return this.profile.ram.some((b) => Math.floor(b.base / ss) <= sec && sec <= Math.floor((b.base + b.size - 1) / ss));
  }

  /** FLATMEM span: [first RAM pfn, last RAM pfn + 1). */
  private flatSpan(): [number, number] {
    const lo = Math.min(...this.profile.ram.map((b) => b.base)) / this.pageSize;
    const hi = Math.max(...this.profile.ram.map((b) => b.base + b.size)) / this.pageSize;
    return [lo, hi];
  }

  /**
   * pfn_valid(pfn) on this machine's release:
   * - arm64 before v5.15 and arm: memblock_is_map_memory: RAM and not `no-map`.
   * - arm64 v5.15+ and x86-64: generic SPARSEMEM: the pfn's section is present
   *   (it overlaps a RAM bank); every pfn of it is valid, no-map or not.
   * @throws ModelConfigError for a pfn that is not an integer in [0, 2^53 / PAGE_SIZE).
   */
  pfnValid(pfn: Pfn | number): boolean {
    checkInt("pfnValid(pfn)", pfn, 0, Math.floor(Number.MAX_SAFE_INTEGER / this.pageSize));
    this.ensure();
    const pa = pfn * this.pageSize;
    const arch = this.profile.arch;
    if (arch === "arm" || (arch === "arm64" && !atLeast(this.host.kernel, ARM64_GENERIC_PFN_VALID))) {
      const r = this.regionOf(pa);
      return this.isRam(pa) && r.kind !== "nomap";
    }
    return this.sectionPresent(pfn);
  }

  /**
   * True iff the struct page of `pfn` is backed by mapped memory: SPARSEMEM
   * VMEMMAP populates the vmemmap for every present section (memblock.memory,
   * no-map included); FLATMEM's mem_map covers [first RAM pfn, last RAM pfn).
   * Beyond that the page pointer is computable but points at nothing.
   */
  hasMemmap(pfn: number): boolean {
    if (!Number.isSafeInteger(pfn) || pfn < 0) return false;
    this.ensure();
    if (this.sparse) return this.sectionPresent(pfn);
    const [lo, hi] = this.flatSpan();
    return pfn >= lo && pfn < hi;
  }

  /** The struct page address of `pfn`: vmemmap (or mem_map) + (pfn - PHYS_OFFSET pfn) * sizeof(struct page), in stored form (wrapped to the VA width). */
  pageAddressOf(pfn: number): VirtAddr {
    return wrapVa(this.layout, this.rawPageAddress(pfn)) as VirtAddr;
  }

  private rawPageAddress(pfn: number): number {
    const l = this.layout;
    const base = this.sparse ? l.physOffset / this.pageSize : this.flatSpan()[0];
    return l.vmemmapStart + (pfn - base) * l.structPageSize;
  }

  /** The kernel's printed form of the struct page pointer of `pfn` (see {@link Page.addressText}). */
  pageAddressText(pfn: number): string {
    const raw = this.rawPageAddress(pfn);
    return this.rawVaText(raw);
  }

  /**
   * Print a raw (unwrapped) VA computation: inside [0, span) it is a kernel
   * address (fmtVirtAddr); outside, the 64-bit value wrapped out of the kernel
   * half and is printed as the low user/non-canonical address it became.
   */
  rawVaText(raw: number): string {
    const l = this.layout;
    if (raw >= 0 && raw < l.vaSpan) return fmtVirtAddr(raw, l.vaBits);
    const w = wrapVa(l, raw);
    return l.vaBits === 48 ? "0x0000" + w.toString(16).padStart(12, "0") : "0x" + w.toString(16).padStart(8, "0");
  }

  /**
   * pfn_to_page(pfn): always a page pointer (arithmetic); check `hasMemmap` /
   * `valid` before touching it, as careful kernel code does with pfn_valid.
   * @throws ModelConfigError for a negative or non-integer pfn.
   */
  pfnToPage(pfn: Pfn | number): Page {
    checkInt("pfnToPage(pfn)", pfn);
    return {
      pfn: pfn as Pfn,
      address: this.pageAddressOf(pfn),
      hasMemmap: this.hasMemmap(pfn),
      valid: this.pfnValid(pfn),
      addressText: this.pageAddressText(pfn),
    };
  }

  /** page_to_pfn(page). */
  pageToPfn(page: Page): Pfn {
    return page.pfn;
  }

  /** page_to_phys(page): pfn * PAGE_SIZE, bytes. */
  pageToPhys(page: Page): PhysAddr {
    return (page.pfn * this.pageSize) as PhysAddr;
  }

  /**
   * The page a struct page *address* denotes (the inverse of pageAddressOf:
   * (address - vmemmap) / sizeof(struct page)), e.g. for a pointer computed by
   * virt_to_page. Returns null when the address is not a multiple of
   * sizeof(struct page) from the vmemmap base modulo the VA width.
   */
  pageFromAddress(address: number): Page | null {
    const l = this.layout;
    const base = this.sparse ? l.physOffset / this.pageSize : this.flatSpan()[0];
    const off = wrapVa(l, address - l.vmemmapStart);
    if (off % l.structPageSize !== 0) return null;
    const pfn = base + off / l.structPageSize;
    return this.pfnToPage(pfn);
  }

  /**
   * True iff physical address `pa` has a linear-map alias: RAM, not `no-map`,
   * and (arm) below the lowmem limit. MMIO and holes have none.
   */
  hasLinearAlias(pa: number): boolean {
    this.ensure();
    if (!this.isRam(pa)) return false;
    if (this.regionOf(pa).kind === "nomap") return false;
    return pa < this.layout.lowmemLimitPhys;
  }

  /** Linear-map granularity: the profile's layout, else arm64 "block" (2M/1G), arm "section" (1M), x86-64 "block". */
  get linearMapGranularity(): "page" | "section" | "block" {
    if (this.profile.layout) return this.profile.layout.linearMapGranularity;
    return this.profile.arch === "arm" ? "section" : "block";
  }

  /** Zones as physical spans, per arch and release (limits only); fresh objects on every call. */
  zones(): ZoneSpan[] {
    return this.zoneSpans().map((z) => ({ name: z.name, start: z.start, end: z.end }));
  }

  /** The zone spans of {@link zones}, the model's own copy (computed once, not to be changed). */
  private zoneSpans(): readonly ZoneSpan[] {
    if (this._zones === null) this._zones = this.computeZones();
    return this._zones;
  }

  private computeZones(): ZoneSpan[] {
    const p = this.profile;
    const ramLo = Math.min(...p.ram.map((b) => b.base));
    const ramHi = Math.max(...p.ram.map((b) => b.base + b.size));
    const clip = (s: number, e: number) => ({ start: Math.max(s, ramLo), end: Math.min(e, ramHi) });
    const out: ZoneSpan[] = [];
    const push = (name: ZoneSpan["name"], s: number, e: number) => {
      const c = clip(s, e);
      if (c.end > c.start) out.push({ name, ...c });
    };
    if (p.arch === "x86_64") {
      push("ZONE_DMA", 0, SZ_16M);
      push("ZONE_DMA32", SZ_16M, SZ_4G);
      push("ZONE_NORMAL", SZ_4G, Infinity);
    } else if (p.arch === "arm64") {
      // v4.19..v5.4: ZONE_DMA32 up to 4 GiB above the start of DRAM's 4G window (max_zone_dma_phys).
      // v5.5 (1a8e1cef7603 "arm64: use both ZONE_DMA and ZONE_DMA32"): ZONE_DMA below 1 GiB too.
      const dma32End = Math.floor(ramLo / SZ_4G) * SZ_4G + SZ_4G;
      if (atLeast(this.host.kernel, ARM64_ZONE_DMA)) {
        const dmaEnd = p.zoneDmaLimit ?? SZ_1G;
        push("ZONE_DMA", 0, dmaEnd);
        push("ZONE_DMA32", dmaEnd, dma32End);
      } else push("ZONE_DMA32", 0, dma32End);
      push("ZONE_NORMAL", dma32End, Infinity);
    } else {
      const lowmem = this.layout.lowmemLimitPhys;
      if (p.zoneDmaLimit !== undefined) push("ZONE_DMA", 0, p.zoneDmaLimit);
      push("ZONE_NORMAL", p.zoneDmaLimit ?? 0, lowmem);
      push("ZONE_HIGHMEM", lowmem, Infinity);
    }
    return out;
  }

  /** The zone of physical address `pa`, or null if it is not RAM. */
  zoneOf(pa: number): ZoneSpan["name"] | null {
    if (!this.isRam(pa)) return null;
    const zs = this.zoneSpans();
    for (let i = 0; i < zs.length; i++) if (pa >= zs[i]!.start && pa < zs[i]!.end) return zs[i]!.name;
    return null;
  }

  /** is_vmalloc_addr(va): inside [VMALLOC_START, VMALLOC_END). */
  isVmallocAddr(va: VirtAddr | number): boolean {
    return inVmallocRange(this.layout, va);
  }

  /**
   * virt_to_page(va), computed as the release computes it, for ANY address:
   * - arm64 v5.4+: vmemmap + (va - PAGE_OFFSET) / PAGE_SIZE pages (no __pa);
   * - arm64 before v5.4: vmemmap | ((va & ~PAGE_OFFSET) / PAGE_SIZE * 64);
   * - x86-64, arm: pfn_to_page(__pa(va) >> PAGE_SHIFT).
   * For a vmalloc/memremap address the result is a wrong page: a page of some
   * other memory, or a pointer no memmap backs.
   */
  virtToPage(va: VirtAddr | number): Page {
    checkInt("virtToPage(va)", va);
    const l = this.layout;
    const ps = this.pageSize;
    if (l.arch === "arm64") {
      let idx: number;
      if (atLeast(this.host.kernel, ARM64_FLIP_VA)) idx = Math.floor(wrapVa(l, va - l.pageOffset) / ps);
      else idx = Math.floor((va % 2 ** 47) / ps); // va & ~PAGE_OFFSET, PAGE_OFFSET = bit 47 set
      const address = wrapVa(l, l.vmemmapStart + idx * l.structPageSize);
      return this.pageFromAddress(address)!;
    }
    const pa = rawVirtToPhys(l, va);
    return this.pfnToPage(Math.floor(pa / ps));
  }

  /**
   * The page a kernel VA really maps (a page-table walk): the linear map for
   * linear addresses with an alias, the vm area's pages for vmalloc space;
   * null if nothing is mapped there. This is what vmalloc_to_page returns for
   * vmalloc addresses and what virt_to_page *should* return.
   */
  translate(va: VirtAddr | number): { pa: PhysAddr; prot: VmProt; area: VmArea | null } | null {
    this.ensure();
    if (inLinearRange(this.layout, va)) {
      const l = this.layout;
      const pa = va - l.pageOffset + l.physOffset;
      if (this.hasLinearAlias(pa)) return { pa: pa as PhysAddr, prot: "normal", area: null };
      return null;
    }
    const a = this.vmapSpace.find(va);
    if (!a) return null;
    const pa = a.physOf(va, this.pageSize);
    return pa === null ? null : { pa, prot: a.prot, area: a };
  }

  /**
   * vmalloc_to_page(va): walks the page tables of a vmalloc-space address.
   * Returns the page of the pte (pte_page: arithmetic, so a page-less pfn gives
   * a page pointer without memmap), or null if nothing is mapped.
   */
  vmallocToPage(va: VirtAddr | number): Page | null {
    const t = this.translate(va);
    if (!t || t.area === null) return null;
    return this.pfnToPage(Math.floor(t.pa / this.pageSize));
  }

  /**
   * vmalloc_to_pfn(va) (mm/vmalloc.c: page_to_pfn(vmalloc_to_page(va))):
   * the pfn {@link vmallocToPage} would return the page of, or null when
   * nothing is mapped there or `va` is not in a vm area; builds no page.
   */
  vmallocToPfn(va: VirtAddr | number): Pfn | null {
    // translate's vm-area case without its result object (this runs per page of a vmalloc buffer): a linear-map
    // address has no vm area (null, mapped or not); otherwise the vm area's page holding `va`
    this.ensure();
    if (inLinearRange(this.layout, va)) return null;
    const a = this.vmapSpace.find(va);
    if (!a) return null;
    const pa = a.physOf(va, this.pageSize);
    return pa === null ? null : (Math.floor(pa / this.pageSize) as Pfn);
  }

  /** True iff `va` is mapped (linear alias or a live vm area page). */
  isMapped(va: number): boolean {
    return this.translate(va) !== null;
  }

  /** fmtVirtAddr for this machine's VA width. */
  fmtVa(va: number): string {
    return fmtVirtAddr(va, this.layout.vaBits);
  }

  /** __va(pa) for this machine. */
  linearAddress(pa: number): VirtAddr {
    return physToVirt(this.host, pa);
  }
}

function buildPhysMap(p: PlatformProfile): PhysRegion[] {
  const out: PhysRegion[] = [];
  for (const r of p.reserved) {
    const kind: PhysKind = r.noMap ? "nomap" : r.reusable ? "cma" : "reserved";
    out.push({ kind, name: r.name, base: r.base, size: r.size, ...(r.compatible ? { compatible: r.compatible } : {}) });
  }
  p.ram.forEach((b, i) => out.push({ kind: "ram", name: `ram${i}`, base: b.base, size: b.size }));
  for (const m of p.mmio) out.push({ kind: "mmio", name: m.name, base: m.base, size: m.size });
  // Reserved first so regionOf finds the most specific region; then by base.
  const rank = (k: PhysKind) => (k === "ram" ? 1 : 0);
  return out.sort((a, b) => rank(a.kind) - rank(b.kind) || a.base - b.base);
}

declare module "../platform/device.js" {
  interface Device {
    /** The memory model of the device's machine; set by {@link addDeviceToMemoryModel}. */
    memoryModel?: MemoryModel;
  }
}

/**
 * Create the memory model of a machine. Devices are registered with
 * {@link addDeviceToMemoryModel} as the machine creates them.
 */
export function createMemoryModel(host: LayoutHost & { readonly devices: Map<string, Device> }): MemoryModel {
  return new MemoryModel(host);
}

/**
 * Register a device the machine created with its memory model: links the
 * device to the model (for {@link mmOfDevice}) and initialises the model.
 * The machine then sets up the device's coherent pool itself
 * (lib/dma/coherent.ts dmaCoherentDeviceInit).
 */
export function addDeviceToMemoryModel(mm: MemoryModel, dev: Device): void {
  dev.memoryModel = mm;
  mm.deviceAdded(dev);
}

/**
 * The memory model of the machine a device belongs to (initialised on first use).
 * @throws ModelConfigError if the device was not created by a Machine.
 */
export function mmOfDevice(dev: Device): MemoryModel {
  const m = dev.memoryModel;
  if (!m) throw new ModelConfigError("device", dev.name, "a device created by a Machine (createMachine)");
  m.regions(); // initialise (sets up the per-device pools)
  return m;
}

/** What the free functions below need: a machine (or anything) with its memory model. */
export interface HasMemoryModel {
  readonly mm: MemoryModel;
}

/** pfn_valid(pfn) on `m`'s release: see {@link MemoryModel.pfnValid}. */
export function pfnValid(m: HasMemoryModel, pfn: Pfn | number): boolean {
  return m.mm.pfnValid(pfn);
}
/** pfn_to_page(pfn): see {@link MemoryModel.pfnToPage}. */
export function pfnToPage(m: HasMemoryModel, pfn: Pfn | number): Page {
  return m.mm.pfnToPage(pfn);
}
/**
 * page_to_pfn(page).
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function pageToPfn(m: HasMemoryModel, page: Page): Pfn {
  if (typeof page !== "object" || page === null || !Number.isSafeInteger((page as { pfn?: unknown }).pfn)) throw new ModelConfigError("pageToPfn(page)", page, "a page from pfnToPage / virtToPage");
  return m.mm.pageToPfn(page);
}
/** virt_to_page(va), computed for ANY address as the release computes it: see {@link MemoryModel.virtToPage}. */
export function virtToPage(m: HasMemoryModel, va: VirtAddr | number): Page {
  return m.mm.virtToPage(va);
}
/** vmalloc_to_page(va): the page really mapped there, or null. */
export function vmallocToPage(m: HasMemoryModel, va: VirtAddr | number): Page | null {
  return m.mm.vmallocToPage(va);
}
/** is_vmalloc_addr(va). */
export function isVmallocAddr(m: HasMemoryModel, va: VirtAddr | number): boolean {
  return m.mm.isVmallocAddr(va);
}
