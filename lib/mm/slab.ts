/**
 * A small, deterministic kmalloc/kfree: power-of-two size classes (plus 96
 * and 192 where the minimum alignment allows them), objects placed in the
 * linear map, freed objects reused last-in first-out per class like a SLUB
 * freelist. What matters for DMA is the *alignment* kmalloc guarantees,
 * because a buffer that shares a cache line with other data can lose that
 * data (or the device's) to cache maintenance:
 *
 * - arm64 before v6.5: ARCH_KMALLOC_MINALIGN = ARCH_DMA_MINALIGN = 128, so
 *   every kmalloc object owns its cache lines.
 * - arm64 from v6.5 (4ab5f8ec7d71 "mm/slab: decouple ARCH_KMALLOC_MINALIGN
 *   from ARCH_DMA_MINALIGN", Catalin Marinas): ARCH_KMALLOC_MINALIGN is 8;
 *   mm/slab_common.c __kmalloc_minalign() uses it when
 *   CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC is set and swiotlb is allocated, and
 *   dma_get_cache_alignment() (the cache line size) otherwise. Small
 *   unaligned objects are then bounced for non-coherent DMA
 *   (dma_kmalloc_needs_bounce).
 * - arm (ARMv7): ARCH_DMA_MINALIGN = L1_CACHE_BYTES (64 with
 *   ARM_L1_CACHE_SHIFT_6), kmalloc minimum alignment the same.
 * - x86-64: no ARCH_DMA_MINALIGN: 8-byte alignment (coherent DMA needs none).
 * - parisc: ARCH_KMALLOC_MINALIGN 16, but __kmalloc_minalign() takes the
 *   larger dma_get_cache_alignment() = dcache_stride (the line size).
 * Sources: arch/arm64/include/asm/cache.h, arch/arm/include/asm/cache.h,
 * arch/parisc/include/asm/cache.h, include/linux/slab.h, mm/slab_common.c
 * (v6.19); KMALLOC_MAX_CACHE_SIZE = 2 pages (SLUB): larger requests go to the
 * page allocator (kmalloc_large), page aligned.
 *
 * The arena: the highest RAM bank, from 64 MiB into it (or from its middle
 * if it is smaller than 128 MiB), allocated upwards; this stands in for the
 * page allocator until the memory model provides one.
 */
import { alignUp, checkInt, roundupPowOfTwo } from "../core/arith.js";
import type { PhysAddr, VirtAddr } from "../core/addr.js";
import { ModelConfigError } from "../core/errors.js";
import { atLeast, defineChange } from "../kernel/version.js";
import type { LayoutHost } from "./layout.js";
import { physToVirt, virtToPhys } from "./linear-map.js";

/** 4ab5f8ec7d71: kmalloc minimum alignment decoupled from ARCH_DMA_MINALIGN (arm64 kmalloc-8 caches). */
export const KMALLOC_MINALIGN_DECOUPLED = defineChange({
  id: "kmalloc-minalign-decoupled",
  since: "v6.5",
  commit: "4ab5f8ec7d71",
  subject: "mm/slab: decouple ARCH_KMALLOC_MINALIGN from ARCH_DMA_MINALIGN",
  files: ["include/linux/slab.h", "mm/slab_common.c", "arch/arm64/include/asm/cache.h"],
  effect: "on arm64 with swiotlb, kmalloc objects are only 8-byte aligned, so small buffers can share a cache line with other data",
  bracket: "absent in v6.4.6 (lewisevans2007/linux-6.4, include/linux/slab.h:ARCH_KMALLOC_MINALIGN = ARCH_DMA_MINALIGN), present in v6.5.0 (sndrzt/linux-6.5, include/linux/slab.h) and v6.5.3 (christian-bendiksen/ubuntu-linux-6.5.3, arch/arm64/include/asm/cache.h:ARCH_KMALLOC_MINALIGN 8); also backported to late 6.1.y stable",
});

/** GFP flags the model accepts (they do not change placement here). */
export type Gfp = "GFP_KERNEL" | "GFP_ATOMIC" | "GFP_DMA" | "GFP_DMA32";

/** Options of the slab model for a machine. */
export interface SlabOptions {
  /** arm64: is swiotlb allocated (so __kmalloc_minalign may use ARCH_KMALLOC_MINALIGN)? Default true. */
  swiotlbAllocated?: boolean;
}

/** A machine's slab arena: kmalloc size classes and minimum alignment, the bump allocator over a RAM window, live objects, task stacks. */
export interface SlabState {
  minAlign: number;
  classes: number[];
  next: number;
  end: number;
  /** class size -> current page cursor */
  cursor: Map<number, { at: number; end: number }>;
  free: Map<number, number[]>;
  live: Map<number, { size: number; cls: number }>;
  stacks: Array<{ start: number; end: number }>;
}

/** What kmalloc needs from a machine: the layout (for the linear map) and the cache line size. */
export interface SlabHost extends LayoutHost {
  readonly profile: LayoutHost["profile"];
  /** The machine's slab arena (kmalloc classes, live objects, task stacks); set on first use. */
  slabState?: SlabState;
}

/**
 * The minimum alignment of kmalloc objects on this machine, bytes
 * (__kmalloc_minalign() in mm/slab_common.c, with each arch's constants).
 */
export function kmallocMinAlign(host: SlabHost, opts: SlabOptions = {}): number {
  const p = host.profile;
  const line = p.cpuCache.lineSize;
  switch (p.arch) {
    case "arm64":
      if (!atLeast(host.kernel, KMALLOC_MINALIGN_DECOUPLED)) return 128;
      return opts.swiotlbAllocated ?? true ? 8 : line;
    case "arm":
      return line;
    case "parisc":
      return Math.max(16, line);
    default:
      return 8;
  }
}

/**
 * ARCH_DMA_MINALIGN of the machine's architecture, bytes: arm64 128, arm
 * L1_CACHE_BYTES (the line size), parisc 128 (PA 2.0), x86-64 none (8, the
 * __alignof__(unsigned long long) fallback).
 */
export function archDmaMinAlign(host: SlabHost): number {
  const p = host.profile;
  switch (p.arch) {
    case "arm64":
      return 128;
    case "arm":
      return p.cpuCache.lineSize;
    case "parisc":
      return 128;
    default:
      return 8;
  }
}

function stateOf(host: SlabHost, opts: SlabOptions = {}): SlabState {
  let s = host.slabState;
  if (s) return s;
  const minAlign = kmallocMinAlign(host, opts);
  const page = host.profile.pageSize;
  const base = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192];
  // kmalloc caches below the minimum alignment do not exist; 96 and 192 are
  // dropped when the alignment exceeds 32 / 64 (mm/slab_common.c setup_kmalloc_cache_index_table).
  const classes = base.filter((c) => c >= minAlign && c % minAlign === 0 && c <= 2 * page);
  const banks = [...host.profile.ram].sort((a, b) => a.base - b.base);
  const top = banks[banks.length - 1]!;
  const off = top.size >= 128 * 1048576 ? 64 * 1048576 : alignUp(Math.floor(top.size / 2), page);
  s = { minAlign, classes, next: top.base + off, end: top.base + top.size, cursor: new Map(), free: new Map(), live: new Map(), stacks: [] };
  host.slabState = s;
  return s;
}

function takePages(s: SlabState, bytes: number, align: number): number {
  const at = alignUp(s.next, align);
  if (at + bytes > s.end) return -1;
  s.next = at + bytes;
  return at;
}

/**
 * kmalloc(size, gfp): a linear-map address of an object of at least `size`
 * bytes, aligned to the size class and at least to {@link kmallocMinAlign}.
 * Sizes up to 2 pages come from size classes; larger ones are whole pages
 * aligned to the power-of-two page order, as the page allocator gives them.
 * @returns the virtual address, or null when the arena is exhausted (the kernel's NULL).
 * @throws ModelConfigError for a size outside [1, 2^40].
 */
export function kmalloc(host: SlabHost, size: number, gfp: Gfp = "GFP_KERNEL", opts: SlabOptions = {}): VirtAddr | null {
  checkInt("kmalloc(size)", size, 1, 2 ** 40);
  void gfp;
  const s = stateOf(host, opts);
  const page = host.profile.pageSize;
  const cls = s.classes.find((c) => c >= size);
  let pa: number;
  if (cls === undefined) {
    const pages = Math.ceil(size / page);
    const order = roundupPowOfTwo(pages);
    pa = takePages(s, pages * page, order * page);
    if (pa < 0) return null;
    s.live.set(pa, { size, cls: 0 });
  } else {
    const fl = s.free.get(cls);
    if (fl && fl.length) pa = fl.pop()!;
    else {
      let cur = s.cursor.get(cls);
      if (!cur || cur.at + cls > cur.end) {
        const slabBytes = Math.max(page, cls * 8);
        const p = takePages(s, slabBytes, page);
        if (p < 0) return null;
        cur = { at: p, end: p + slabBytes };
        s.cursor.set(cls, cur);
      }
      pa = cur.at;
      cur.at += cls;
    }
    s.live.set(pa, { size, cls });
  }
  return physToVirt(host, pa as PhysAddr);
}

/**
 * kfree(ptr): return an object to its class's freelist (pages of large
 * objects are not reused by this model). kfree(NULL) does nothing.
 * @throws ModelConfigError for a pointer kmalloc did not return or already freed.
 */
export function kfree(host: SlabHost, va: VirtAddr | null): void {
  if (va === null) return;
  const s = stateOf(host);
  const pa = virtToPhys(host, va);
  const o = s.live.get(pa);
  if (!o) throw new ModelConfigError("kfree(ptr)", va, "a live pointer returned by kmalloc");
  s.live.delete(pa);
  if (o.cls) {
    let fl = s.free.get(o.cls);
    if (!fl) s.free.set(o.cls, (fl = []));
    fl.push(pa);
  }
}

/** ksize(ptr): the usable size of a live kmalloc object, bytes (its class size, or whole pages). */
export function ksize(host: SlabHost, va: VirtAddr): number {
  const s = stateOf(host);
  const o = s.live.get(virtToPhys(host, va));
  if (!o) throw new ModelConfigError("ksize(ptr)", va, "a live pointer returned by kmalloc");
  return o.cls || Math.ceil(o.size / host.profile.pageSize) * host.profile.pageSize;
}

/** The size classes this machine's kmalloc has, bytes. */
export function kmallocClasses(host: SlabHost, opts: SlabOptions = {}): readonly number[] {
  return stateOf(host, opts).classes;
}

/**
 * A buffer on the current task's kernel stack (without CONFIG_VMAP_STACK the
 * stack is linear-map memory): `size` bytes at `offset` into a fresh
 * THREAD_SIZE stack (16 KiB on 64-bit, 8 KiB on arm). Used to show
 * dma-debug's "maps memory from stack".
 * @throws ModelConfigError for a size/offset that does not fit the stack.
 */
export function stackBuffer(host: SlabHost, size: number, offset = 256): VirtAddr {
  const threadSize = host.profile.arch === "arm" ? 8192 : 16384;
  checkInt("stackBuffer(size)", size, 1, threadSize);
  checkInt("stackBuffer(offset)", offset, 0, threadSize - size);
  const s = stateOf(host);
  const pa = takePages(s, threadSize, threadSize);
  if (pa < 0) throw new ModelConfigError("stackBuffer", size, "room in the slab arena for a stack");
  s.stacks.push({ start: pa, end: pa + threadSize });
  return physToVirt(host, (pa + offset) as PhysAddr);
}

/** True iff physical address `pa` lies on a task stack made by {@link stackBuffer}. */
export function isStackPhys(host: SlabHost, pa: number): boolean {
  const s = host.slabState;
  if (!s) return false;
  return s.stacks.some((r) => pa >= r.start && pa < r.end);
}
