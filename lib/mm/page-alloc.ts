/**
 * The buddy page allocator, one free area per zone (mm/page_alloc.c,
 * include/linux/mmzone.h; read in chens37/linux-4.19.1 and
 * matankalina/linux-6.19.10-fork):
 *
 * - each zone keeps one free list per order 0 .. 10 (NR_PAGE_ORDERS = 11 in
 *   every modelled release: before v6.4 MAX_ORDER = 11 was the exclusive
 *   bound, v6.4 made MAX_ORDER = 10 inclusive and v6.8 renamed it
 *   MAX_PAGE_ORDER; the default stays 11 orders, see
 *   {@link MAX_ORDER_INCLUSIVE}). A block of order k is 2^k pages aligned to
 *   2^k pages;
 * - allocation (__rmqueue_smallest): the smallest order >= the request with
 *   a free block; the block is split (expand): the upper halves go back on the
 *   lower free lists, the caller keeps the lowest part;
 * - freeing (__free_one_page): while the buddy (pfn with bit `order`
 *   flipped) is a free block of the same order in the same zone, remove it
 *   and merge; the merged block goes on the list of its final order;
 * - the zonelist (get_page_from_freelist over the zonelist from
 *   gfp_zone(gfp) downwards): ZONE_HIGHMEM -> ZONE_NORMAL -> ZONE_DMA32 ->
 *   ZONE_DMA; never a zone above the one gfp_zone picked;
 * - exhaustion returns null (the kernel's NULL page).
 *
 * Model choices (documented, not kernel facts):
 * - Within a free list the block with the lowest pfn is taken (the kernel
 *   takes the list head, i.e. roughly the most recently freed block, and has
 *   per-CPU lists for small orders); lowest-first keeps results
 *   deterministic and easy to compute by hand.
 * - No watermarks, no reclaim, no compaction, no migrate types, no NUMA:
 *   a zone is usable down to its last free page.
 * - Managed pages: RAM of the profile that lies in no /reserved-memory
 *   region, minus the first 1 MiB of the lowest bank (firmware, real-mode
 *   trampoline: x86 reserves it, arch/x86/kernel/setup.c) and 32 MiB at
 *   16 MiB above the lowest bank (the kernel image and early memblock
 *   allocations; x86-64 CONFIG_PHYSICAL_START = 16 MiB).
 * - Zone spans come from lib/mm/memory.ts zones() (x86-64: ZONE_DMA below
 *   16 MiB, ZONE_DMA32 below 4 GiB, ZONE_NORMAL above; arm64: ZONE_DMA below
 *   zone_dma limit from v5.5, ZONE_DMA32 below 4 GiB; arm: ZONE_NORMAL up to
 *   lowmem, ZONE_HIGHMEM above).
 */
import { SZ_16M, SZ_1M, SZ_32M, checkInt, hex } from "../core/arith.js";
import type { Pfn } from "../core/addr.js";
import { ModelConfigError } from "../core/errors.js";
import { createPrng } from "../core/prng.js";
import type { Trace } from "../core/trace.js";
import { atLeast, defineChange } from "../kernel/version.js";
import { fmtGfp, gfpZone, type GfpFlags, type ZoneConfig, type ZoneName } from "./gfp.js";
import type { MemoryModel, ZoneSpan } from "./memory.js";
import { setPageSourceDelegate } from "./page-source.js";
import { ARM64_ZONE_DMA } from "./memory.js";

/** Number of buddy orders (NR_PAGE_ORDERS): orders 0 .. 10, 4 KiB .. 4 MiB with 4 KiB pages. */
export const NR_PAGE_ORDERS = 11;

/** Pages in a block of each order: ORDER_PAGES[o] = 2^o, o = 0 .. NR_PAGE_ORDERS - 1 (a table: the allocator's loops use it per page). */
const ORDER_PAGES: readonly number[] = Array.from({ length: NR_PAGE_ORDERS }, (_, o) => 2 ** o);

/** v6.8: MAX_ORDER is renamed MAX_PAGE_ORDER (value unchanged, inclusive). */
export const MAX_PAGE_ORDER_NAME = defineChange({
  id: "mm-max-page-order-name",
  since: "v6.8",
  commit: "5e0a760b4441",
  subject: "mm, treewide: rename MAX_ORDER to MAX_PAGE_ORDER",
  files: ["include/linux/mmzone.h"],
  effect: "the largest buddy order is called MAX_PAGE_ORDER (value unchanged, inclusive).",
  bracket: "absent in v6.5.0 (sndrzt/linux-6.5, include/linux/mmzone.h:MAX_ORDER), present in v6.8.0 (vivo50kff/linux-6.8, include/linux/mmzone.h:MAX_PAGE_ORDER); loose: no v6.6/v6.7 tree with mm/ was readable, v6.8 from the commit's position just after v6.8-rc1 (\"v6.8-rc1-3-g5e0a760b4441\")",
});

/** v6.4: MAX_ORDER becomes the inclusive top order (10); same 11 orders. */
export const MAX_ORDER_INCLUSIVE = defineChange({
  id: "mm-max-order-inclusive",
  since: "v6.4",
  commit: "23baf831a32c",
  subject: "mm, treewide: redefine MAX_ORDER sanely",
  files: ["include/linux/mmzone.h", "mm/page_alloc.c"],
  effect: "MAX_ORDER changes from 11 (exclusive: orders 0..10) to 10 (inclusive); v6.8 renames it MAX_PAGE_ORDER (5e0a760b4441 \"mm, treewide: rename MAX_ORDER to MAX_PAGE_ORDER\", see mm-max-page-order-name). The number of orders stays 11 by default, so the model's behaviour is the same in every release; only the name and the value printed change. (v6.19 mmzone.h read: MAX_PAGE_ORDER 10 without CONFIG_ARCH_FORCE_MAX_ORDER.)",
  bracket: "absent in v6.3.8 (SToPire/linux-6.3.8, include/linux/mmzone.h:MAX_ORDER 11, exclusive), present in v6.4.6 (lewisevans2007/linux-6.4, include/linux/mmzone.h:MAX_ORDER 10, MAX_ORDER_NR_PAGES = 1 << MAX_ORDER)",
});

/**
 * The kernel's name and value for the order bound of a release:
 * { name: "MAX_ORDER", value: 11, inclusive: false } before v6.4,
 * { "MAX_ORDER", 10, true } in v6.4..v6.7, { "MAX_PAGE_ORDER", 10, true } from v6.8.
 */
export function maxOrderOf(kernel: string): { name: string; value: number; inclusive: boolean } {
  if (!atLeast(kernel, MAX_ORDER_INCLUSIVE)) return { name: "MAX_ORDER", value: 11, inclusive: false };
  return { name: atLeast(kernel, MAX_PAGE_ORDER_NAME) ? "MAX_PAGE_ORDER" : "MAX_ORDER", value: 10, inclusive: true };
}

/** Zone index order used by the zonelist (enum zone_type). */
const ZONE_INDEX: Record<ZoneName, number> = { ZONE_DMA: 0, ZONE_DMA32: 1, ZONE_NORMAL: 2, ZONE_HIGHMEM: 3, ZONE_MOVABLE: 4 };

/**
 * The free heads of one order in one zone: a min-heap of pfns with lazy
 * deletion, membership in a byte per block of the zone's span (1: a free
 * head; pfn / 2^order - first indexes it), not a Set: a page allocation
 * adds and removes heads at every page, and the byte map costs no hashing
 * and, being outside the JS heap, no garbage-collector work. The heap array
 * is used up to `n` and never shortened (a V8 array popped to empty gives up
 * its store, and the next push allocates a new one: the order-0 and order-1
 * heaps of a zone handing out page after page did at every page). The byte
 * map's pages are committed as they are first written (the blocks freed).
 */
class PfnHeap {
  private readonly a: number[] = [];
  /** Entries of `a` in the heap. */
  private n = 0;
  /** Block size, pages (2^order), and the block index of the zone's first block. */
  private readonly pages: number;
  private readonly first: number;
  /** 1 at index pfn / pages - first when pfn heads a free block of this order. */
  private readonly member: Uint8Array;
  /** Free heads held. */
  private count = 0;
  /** @param order the blocks' order; [startPfn, endPfn) the zone's span. */
  constructor(order: number, startPfn: number, endPfn: number) {
    this.pages = ORDER_PAGES[order]!;
    this.first = Math.floor(startPfn / this.pages);
    this.member = new Uint8Array(Math.max(0, Math.ceil(endPfn / this.pages) - this.first));
  }
  get size(): number {
    return this.count;
  }
  /** Index of `p`'s byte, or -1 for a pfn that heads no block of this order in the span. */
  private slot(p: number): number {
    const i = p / this.pages - this.first;
    return Number.isInteger(i) && i >= 0 && i < this.member.length ? i : -1;
  }
  /** The free heads, lowest first (a copy). */
  heads(): number[] {
    const out: number[] = [];
    const m = this.member;
    for (let i = 0; i < m.length; i++) if (m[i] === 1) out.push((i + this.first) * this.pages);
    return out;
  }
  /** Add free head `p` (a block of this order in the zone's span, not already free). */
  add(p: number): void {
    const k = this.slot(p);
    if (k < 0) throw new ModelConfigError("PfnHeap.add(pfn)", p, `the head of an order-${Math.log2(this.pages)} block inside the zone`);
    this.member[k] = 1;
    this.count++;
    const a = this.a;
    let i = this.n++;
    if (i < a.length) a[i] = p;
    else a.push(p);
    while (i > 0) {
      const j = Math.floor((i - 1) / 2);
      const aj = a[j]!;
      const ai = a[i]!;
      if (aj <= ai) break;
      a[i] = aj;
      a[j] = ai;
      i = j;
    }
  }
  /** Remove free head `p`. @returns false when `p` is not one. */
  delete(p: number): boolean {
    const k = this.slot(p);
    if (k < 0 || this.member[k] !== 1) return false;
    this.member[k] = 0;
    this.count--;
    return true;
  }
  has(p: number): boolean {
    const k = this.slot(p);
    return k >= 0 && this.member[k] === 1;
  }
  private popRaw(): number | undefined {
    if (this.n === 0) return undefined;
    const a = this.a;
    const top = a[0]!;
    const n = --this.n;
    if (n > 0) {
      a[0] = a[n]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < n && a[l]! < a[m]!) m = l;
        if (r < n && a[r]! < a[m]!) m = r;
        if (m === i) break;
        const am = a[m]!;
        a[m] = a[i]!;
        a[i] = am;
        i = m;
      }
    }
    return top;
  }
  /** Remove and return the lowest member, or null. */
  popMin(): number | null {
    for (;;) {
      const p = this.popRaw();
      if (p === undefined) return null;
      if (this.delete(p)) return p;
    }
  }
  clear(): void {
    this.a.length = 0;
    this.n = 0;
    this.member.fill(0);
    this.count = 0;
  }
}

/** One zone's free area. */
export class BuddyZone {
  /** free_area[order]: head pfns of free blocks. */
  private readonly lists: PfnHeap[] = [];
  /** Free pages in the zone (zone_page_state NR_FREE_PAGES). */
  freePages = 0;
  /** Pages the allocator manages in the zone (managed_pages). */
  managedPages = 0;
  constructor(
    readonly name: ZoneSpan["name"],
    /** First pfn of the zone span (inclusive) and end pfn (exclusive). */
    readonly startPfn: number,
    readonly endPfn: number,
  ) {
    for (let o = 0; o < NR_PAGE_ORDERS; o++) this.lists.push(new PfnHeap(o, startPfn, endPfn));
  }
  /** Number of free blocks of each order (/proc/buddyinfo's row for this zone). */
  buddyinfo(): number[] {
    return this.lists.map((l) => l.size);
  }
  /** The head pfns of the free blocks of `order`, lowest first (a copy). */
  freeHeads(order: number): number[] {
    return this.lists[order]!.heads();
  }
  /** True iff `pfn` is the head of a free block of `order`. */
  isFreeHead(pfn: number, order: number): boolean {
    return this.lists[order]!.has(pfn);
  }
  /** @internal */
  addFree(pfn: number, order: number): void {
    this.lists[order]!.add(pfn);
    this.freePages += ORDER_PAGES[order]!;
  }
  /** @internal */
  removeFree(pfn: number, order: number): boolean {
    if (!this.lists[order]!.delete(pfn)) return false;
    this.freePages -= ORDER_PAGES[order]!;
    return true;
  }
  /** @internal the lowest free block of exactly `order`, removed. */
  popFree(order: number): number | null {
    const p = this.lists[order]!.popMin();
    if (p !== null) this.freePages -= ORDER_PAGES[order]!;
    return p;
  }
  /** @internal */
  clearFree(): void {
    for (const l of this.lists) l.clear();
    this.freePages = 0;
  }
  /** True iff `pfn` lies in this zone's span. */
  contains(pfn: number): boolean {
    return pfn >= this.startPfn && pfn < this.endPfn;
  }
}

/** Result of a page allocation with its explanation. */
export interface PageAllocResult {
  /** First pfn of the 2^order block, or null (no zone in the zonelist had one). */
  pfn: Pfn | null;
  /** The zone the pages came from. */
  zone: ZoneSpan["name"] | null;
  /** The zone gfp_zone picked (where the zonelist starts). */
  preferred: ZoneName;
  /** gfp_zone hit a GFP_ZONE_BAD combination (VM_BUG_ON with CONFIG_DEBUG_VM). */
  badZoneCombination: boolean;
  /** The zonelist tried, in order. */
  zonelist: Array<ZoneSpan["name"]>;
}

/** The CONFIG_ZONE_* choices of a machine: x86-64 DMA + DMA32; arm64 DMA32, plus DMA from v5.5; arm NORMAL + HIGHMEM (+ DMA with a zoneDmaLimit). */
export function zoneConfigOf(mm: MemoryModel): ZoneConfig {
  const arch = mm.profile.arch;
  if (arch === "x86_64") return { zoneDma: true, zoneDma32: true, highmem: false };
  if (arch === "arm64") return { zoneDma: atLeast(mm.machine.kernel, ARM64_ZONE_DMA), zoneDma32: true, highmem: false };
  return { zoneDma: mm.profile.zoneDmaLimit !== undefined, zoneDma32: false, highmem: arch === "arm" };
}

/** Pfns per chunk of {@link LiveOrders}. */
const LIVE_CHUNK = 65536;

/**
 * The live allocations of a buddy allocator: the order of each live block,
 * by its head pfn, in chunks of LIVE_CHUNK pfns (an Int8Array each, order + 1,
 * 0 = no live block there) made on first use, with the pages they hold
 * counted as blocks come and go. A block's zone is the zone whose span holds
 * its head (the free lists of a zone hold only its own pfns).
 */
class LiveOrders {
  private readonly chunks = new Map<number, Int8Array>();
  private lastIndex = -1;
  private lastChunk: Int8Array | null = null;
  /** Pages in live blocks (the sum of 2^order). */
  pages = 0;

  private chunk(pfn: number, create: boolean): Int8Array | null {
    const k = Math.floor(pfn / LIVE_CHUNK);
    if (k === this.lastIndex && this.lastChunk !== null) return this.lastChunk;
    let c = this.chunks.get(k) ?? null;
    if (c === null) {
      if (!create) return null;
      c = new Int8Array(LIVE_CHUNK);
      this.chunks.set(k, c);
    }
    this.lastIndex = k;
    this.lastChunk = c;
    return c;
  }

  /** The order of the live block headed by `pfn`, or -1 (also for a pfn that is not an integer >= 0). */
  get(pfn: number): number {
    if (!Number.isSafeInteger(pfn) || pfn < 0) return -1;
    const c = this.chunk(pfn, false);
    return c === null ? -1 : c[pfn - Math.floor(pfn / LIVE_CHUNK) * LIVE_CHUNK]! - 1;
  }

  /** Record a live block of `order` headed by `pfn` (which heads none). */
  set(pfn: number, order: number): void {
    const c = this.chunk(pfn, true)!;
    const i = pfn - Math.floor(pfn / LIVE_CHUNK) * LIVE_CHUNK;
    if (c[i]! > 0) this.pages -= ORDER_PAGES[c[i]! - 1]!;
    c[i] = order + 1;
    this.pages += ORDER_PAGES[order]!;
  }

  /** Record order-0 live blocks at every pfn of [from, to) (none of which heads one). */
  setOrder0Range(from: number, to: number): void {
    for (let p = from; p < to; ) {
      const c = this.chunk(p, true)!;
      const base = Math.floor(p / LIVE_CHUNK) * LIVE_CHUNK;
      const end = Math.min(to, base + LIVE_CHUNK);
      for (; p < end; p++) {
        const i = p - base;
        if (c[i]! > 0) this.pages -= ORDER_PAGES[c[i]! - 1]!;
        c[i] = 1;
        this.pages += 1;
      }
    }
  }

  /** Forget the live block headed by `pfn`. */
  delete(pfn: number): void {
    const c = this.chunk(pfn, false);
    if (c === null) return;
    const i = pfn - Math.floor(pfn / LIVE_CHUNK) * LIVE_CHUNK;
    if (c[i]! > 0) this.pages -= ORDER_PAGES[c[i]! - 1]!;
    c[i] = 0;
  }
}

/**
 * The buddy allocator of one machine. Build with {@link buddyOf}; the free
 * functions {@link allocPages} / {@link freePages} / {@link fragment} are the
 * usual entry points.
 */
export class BuddyAllocator {
  readonly zones: BuddyZone[] = [];
  readonly zoneConfig: ZoneConfig;
  private readonly live = new LiveOrders();
  readonly pageSize: number;
  /** The zonelist of each preferred zone, built on first use (the zones are fixed once the allocator is built). */
  private readonly zonelists = new Map<ZoneName, BuddyZone[]>();
  /** The zone of the block {@link takeFrom} last returned. */
  private lastTakeZone: BuddyZone | null = null;

  constructor(readonly mm: MemoryModel) {
    this.pageSize = mm.pageSize;
    this.zoneConfig = zoneConfigOf(mm);
    const ps = this.pageSize;
    for (const z of mm.zones()) this.zones.push(new BuddyZone(z.name, Math.ceil(z.start / ps), Math.floor(z.end / ps)));
    for (const z of this.zones) {
      for (const [s, e] of this.managedRanges(z)) {
        z.managedPages += e - s;
        this.freeRange(z, s, e);
      }
    }
  }

  /** Managed pfn ranges [s, e) of a zone (see the module header). */
  private managedRanges(z: BuddyZone): Array<[number, number]> {
    const ps = this.pageSize;
    const p = this.mm.profile;
    const lowest = Math.min(...p.ram.map((b) => b.base));
    const holes: Array<[number, number]> = [
      [lowest, lowest + SZ_1M],
      [lowest + SZ_16M, lowest + SZ_16M + SZ_32M],
      ...p.reserved.map((r) => [r.base, r.base + r.size] as [number, number]),
    ].map(([a, b]) => [Math.floor(a / ps), Math.ceil(b / ps)] as [number, number]);
    holes.sort((a, b) => a[0] - b[0]);
    const out: Array<[number, number]> = [];
    for (const bank of p.ram) {
      let s = Math.max(Math.ceil(bank.base / ps), z.startPfn);
      const e = Math.min(Math.floor((bank.base + bank.size) / ps), z.endPfn);
      for (const [hs, he] of holes) {
        if (he <= s || hs >= e) continue;
        if (hs > s) out.push([s, hs]);
        s = Math.max(s, he);
      }
      if (s < e) out.push([s, e]);
    }
    return out;
  }

  /** Put [s, e) on the free lists as maximal aligned blocks (memblock_free_all / __free_pages_core). */
  private freeRange(z: BuddyZone, s: number, e: number): void {
    let p = s;
    while (p < e) {
      let o = NR_PAGE_ORDERS - 1;
      while (o > 0 && (p % ORDER_PAGES[o]! !== 0 || p + ORDER_PAGES[o]! > e)) o--;
      this.freeOne(z, p, o);
      p += ORDER_PAGES[o]!;
    }
  }

  /** __free_one_page: merge with free buddies, then list the block. */
  private freeOne(z: BuddyZone, pfn: number, order: number): void {
    let p = pfn;
    let o = order;
    while (o < NR_PAGE_ORDERS - 1) {
      const size = ORDER_PAGES[o]!;
      const buddy = Math.floor(p / size) % 2 === 0 ? p + size : p - size;
      if (!z.contains(buddy) || !z.isFreeHead(buddy, o)) break;
      z.removeFree(buddy, o);
      p = Math.min(p, buddy);
      o++;
    }
    z.addFree(p, o);
  }

  /** The buddy zone called `name`, or null if the machine has none. */
  zone(name: ZoneSpan["name"]): BuddyZone | null {
    return this.zones.find((z) => z.name === name) ?? null;
  }

  /** The zone whose span holds `pfn`, or null. */
  zoneOfPfn(pfn: number): BuddyZone | null {
    const zs = this.zones;
    for (let i = 0; i < zs.length; i++) if (zs[i]!.contains(pfn)) return zs[i]!;
    return null;
  }

  /**
   * The zonelist for a preferred zone: every existing zone at or below it,
   * highest first (ZONE_MOVABLE and an unconfigured zone start at the next
   * lower existing one).
   */
  zonelist(preferred: ZoneName): BuddyZone[] {
    return this.zonelistOf(preferred).slice();
  }

  /** {@link zonelist}, the allocator's own copy (not to be changed). */
  private zonelistOf(preferred: ZoneName): BuddyZone[] {
    let zl = this.zonelists.get(preferred);
    if (zl === undefined) {
      const top = ZONE_INDEX[preferred];
      zl = this.zones.filter((z) => ZONE_INDEX[z.name] <= top).sort((a, b) => ZONE_INDEX[b.name] - ZONE_INDEX[a.name]);
      this.zonelists.set(preferred, zl);
    }
    return zl;
  }

  /** __rmqueue_smallest + expand in one zone (the zone is kept in lastTakeZone). */
  private takeFrom(z: BuddyZone, order: number): number | null {
    for (let o = order; o < NR_PAGE_ORDERS; o++) {
      const p = z.popFree(o);
      if (p === null) continue;
      for (let h = o; h > order; h--) z.addFree(p + ORDER_PAGES[h - 1]!, h - 1);
      this.live.set(p, order);
      this.lastTakeZone = z;
      return p;
    }
    return null;
  }

  /**
   * alloc_pages(gfp, order), with its explanation. An order above the top
   * order (10) fails at once with a warning, as __alloc_pages does
   * (WARN_ON_ONCE unless __GFP_NOWARN, NULL).
   * @throws ModelConfigError for an order that is not an integer in [0, 63] (before any change).
   */
  allocExplain(gfp: GfpFlags, order: number): PageAllocResult {
    checkInt("allocPages(order)", order, 0, 63);
    const gz = gfpZone(gfp, this.zoneConfig);
    const zl = this.zonelistOf(gz.zone);
    const p = this.allocFrom(gfp, order, gz, zl);
    return { pfn: p as Pfn | null, zone: p === null ? null : this.lastTakeZone!.name, preferred: gz.zone, badZoneCombination: gz.bad, zonelist: zl.map((x) => x.name) };
  }

  /**
   * The allocation of {@link allocExplain} once gfp_zone and the zonelist
   * are known: the warnings it records, then the first zone of `zl` with a
   * block (its zone left in lastTakeZone).
   * @returns the first pfn, or null.
   */
  private allocFrom(gfp: GfpFlags, order: number, gz: { zone: ZoneName; bad: boolean; index: number }, zl: readonly BuddyZone[]): number | null {
    const trace = (this.mm.machine as { readonly trace?: Trace }).trace;
    if (order >= NR_PAGE_ORDERS) {
      trace?.record({ fn: "__alloc_pages", kind: "page_alloc_order_too_big", level: "warn", msg: `order ${order} is above the top buddy order ${NR_PAGE_ORDERS - 1}: NULL`, data: { order } });
      return null;
    }
    if (gz.bad) {
      trace?.record({
        fn: "gfp_zone",
        kind: "gfp_zone_bad",
        level: "warn",
        msg: `gfp_zone(${fmtGfp(gfp)}): a GFP_ZONE_BAD combination (VM_BUG_ON with CONFIG_DEBUG_VM); without it the table gives zone 0 = ${gz.zone}`,
        data: { index: gz.index },
      });
    }
    for (let i = 0; i < zl.length; i++) {
      const p = this.takeFrom(zl[i]!, order);
      if (p !== null) return p;
    }
    trace?.record({ fn: "__alloc_pages", kind: "page_alloc_failed", level: "warn", msg: `page allocation failure: order:${order}, mode:(${fmtGfp(gfp)}), zonelist ${zl.map((x) => x.name).join(" -> ")} exhausted`, data: { order } });
    return null;
  }

  /**
   * `n` order-0 pages, each allocated as allocExplain(gfp, 0) allocates it
   * (the same pages, warnings and order), stopping at the first failure:
   * vmalloc's page-by-page loop (__vmalloc_area_node).
   * @returns the pfns and zone names of the pages taken, in order (fewer
   * than `n` when one failed), whether the allocation failed, and whether
   * gfp_zone found a GFP_ZONE_BAD combination.
   * @throws ModelConfigError for n that is not an integer >= 0 (before any change).
   */
  allocOrder0Pages(gfp: GfpFlags, n: number): { pfns: Pfn[]; zones: Array<ZoneSpan["name"]>; failed: boolean; badZoneCombination: boolean } {
    checkInt("allocOrder0Pages(n)", n);
    const gz = gfpZone(gfp, this.zoneConfig);
    const zl = this.zonelistOf(gz.zone);
    const pfns: Pfn[] = [];
    const zones: Array<ZoneSpan["name"]> = [];
    for (let i = 0; i < n; i++) {
      const p = this.allocFrom(gfp, 0, gz, zl);
      if (p === null) return { pfns, zones, failed: true, badZoneCombination: gz.bad };
      pfns.push(p as Pfn);
      zones.push(this.lastTakeZone!.name);
    }
    return { pfns, zones, failed: false, badZoneCombination: gz.bad };
  }

  /** alloc_pages(gfp, order): the first pfn of a 2^order block, or null. */
  alloc(gfp: GfpFlags, order: number): Pfn | null {
    // allocExplain's allocation without its result object (this runs per page for alloc_page loops)
    checkInt("allocPages(order)", order, 0, 63);
    const gz = gfpZone(gfp, this.zoneConfig);
    return this.allocFrom(gfp, order, gz, this.zonelistOf(gz.zone)) as Pfn | null;
  }

  /**
   * A block whose last byte is at or below `physLimit`: the zonelist starts
   * at the highest zone that ends at or below the limit (how dma-direct's
   * zone flags translate a DMA limit; the page-source interface).
   * @returns the first pfn or null.
   */
  allocBelow(order: number, physLimit: number): Pfn | null {
    checkInt("allocBelow(order)", order, 0, 63);
    if (order >= NR_PAGE_ORDERS) return null;
    const ps = this.pageSize;
    const fits = this.zones.filter((z) => z.endPfn * ps - 1 <= physLimit).sort((a, b) => ZONE_INDEX[b.name] - ZONE_INDEX[a.name]);
    for (const z of fits) {
      const p = this.takeFrom(z, order);
      if (p !== null) return p as Pfn;
    }
    return null;
  }

  /**
   * free_pages(pfn, order): give a block back; it merges with free buddies.
   * @throws ModelConfigError if `pfn` is not the head of a live block of
   * exactly that order (double free, wrong order), before any change.
   */
  free(pfn: number, order?: number): void {
    const o = this.live.get(pfn);
    if (o < 0) throw new ModelConfigError("freePages(pfn)", pfn, "the first pfn of a live allocation (double free or a stray pfn)");
    if (order !== undefined && order !== o) throw new ModelConfigError("freePages(order)", order, `the order it was allocated with (${o})`);
    this.live.delete(pfn);
    // the block's zone: the one whose span holds its head (a zone's free lists hold only its pfns)
    this.freeOne(this.zoneOfPfn(pfn)!, pfn, o);
  }

  /**
   * Take [pfn, pfn + pages) out of the free lists (memblock-style
   * reservation, e.g. the swiotlb pool), splitting blocks around it. The
   * range is recorded as one live allocation of `pages` order-0 pieces.
   * @throws ModelConfigError if any page of the range is not free.
   */
  reserve(pfn: number, pages: number): void {
    checkInt("reserve(pfn)", pfn);
    checkInt("reserve(pages)", pages, 1);
    const end = pfn + pages;
    if (!this.isFreeRange(pfn, pages)) throw new ModelConfigError("reserve(pfn, pages)", `${hex(pfn * this.pageSize)}+${pages} pages`, "a range of free pages");
    // Page by page, lowest first, as takePage does; a free block that starts at the next page and lies inside
    // the range and its zone is taken whole: page by page, each split would free halves that later pages of the
    // range take again, leaving the same free lists (same members, added in the same order) and live records.
    for (let p = pfn; p < end; ) {
      const b = this.freeBlockOf(p)!;
      const bEnd = b.head + ORDER_PAGES[b.order]!;
      if (b.head === p && bEnd <= end && b.order > 0 && b.zone.contains(bEnd - 1)) {
        b.zone.removeFree(p, b.order);
        this.live.setOrder0Range(p, bEnd);
        p = bEnd;
      } else this.takePage(p++);
    }
  }

  /** The free block holding page `pfn` (its zone's lowest order whose aligned head is free), or null: what {@link isFree} and {@link takePage} look for. */
  private freeBlockOf(pfn: number): { zone: BuddyZone; head: number; order: number } | null {
    const z = this.zoneOfPfn(pfn);
    if (!z) return null;
    for (let o = 0; o < NR_PAGE_ORDERS; o++) {
      const head = Math.floor(pfn / ORDER_PAGES[o]!) * ORDER_PAGES[o]!;
      if (z.isFreeHead(head, o)) return { zone: z, head, order: o };
    }
    return null;
  }

  /** Remove one free page from the lists (splitting its block), record it live at order 0. */
  private takePage(p: number): void {
    const z = this.zoneOfPfn(p)!;
    for (let o = 0; o < NR_PAGE_ORDERS; o++) {
      const head = Math.floor(p / ORDER_PAGES[o]!) * ORDER_PAGES[o]!;
      if (!z.isFreeHead(head, o)) continue;
      z.removeFree(head, o);
      // split: keep every half that does not hold p free
      let h = head;
      for (let k = o; k > 0; k--) {
        const half = ORDER_PAGES[k - 1]!;
        if (p < h + half) z.addFree(h + half, k - 1);
        else {
          z.addFree(h, k - 1);
          h += half;
        }
      }
      this.live.set(p, 0);
      return;
    }
  }

  /**
   * True iff every page of [pfn, pfn + pages) lies inside a free block
   * ({@link isFree} of each page), walked free block by free block.
   */
  isFreeRange(pfn: number, pages: number): boolean {
    const end = pfn + pages;
    for (let p = pfn; p < end; ) {
      const b = this.freeBlockOf(p);
      if (b === null) return false;
      // every page of a block that lies inside its zone is free
      p = b.zone.contains(b.head + ORDER_PAGES[b.order]! - 1) ? b.head + ORDER_PAGES[b.order]! : p + 1;
    }
    return true;
  }

  /** True iff page `pfn` lies inside a free block. */
  isFree(pfn: number): boolean {
    const z = this.zoneOfPfn(pfn);
    if (!z) return false;
    for (let o = 0; o < NR_PAGE_ORDERS; o++) {
      if (z.isFreeHead(Math.floor(pfn / ORDER_PAGES[o]!) * ORDER_PAGES[o]!, o)) return true;
    }
    return false;
  }

  /** True iff `pfn` is the head of a live allocation. */
  isAllocatedHead(pfn: number): boolean {
    return this.live.get(pfn) >= 0;
  }

  /** Free pages over all zones. */
  freePageCount(): number {
    return this.zones.reduce((s, z) => s + z.freePages, 0);
  }

  /** Pages in live allocations. */
  usedPages(): number {
    return this.live.pages;
  }

  /**
   * Scatter free memory deterministically: every free page is kept
   * allocated (pinned, order 0) with probability `fraction`, drawn from
   * createPrng(seed) in pfn order, zone by zone; the rest is freed and
   * merged again. Equivalent to allocating all free memory page by page and
   * freeing a random (1 - fraction) of it.
   * @returns the pfns pinned, lowest first.
   * @throws ModelConfigError for a fraction outside [0, 1) or a bad seed (before any change).
   */
  fragment(seed: number, fraction: number): number[] {
    if (typeof fraction !== "number" || !(fraction >= 0 && fraction < 1)) throw new ModelConfigError("fragment(fraction)", fraction, "a number in [0, 1)");
    const prng = createPrng(seed);
    const pinned: number[] = [];
    for (const z of this.zones) {
      const free: number[] = [];
      for (let o = 0; o < NR_PAGE_ORDERS; o++) {
        for (const h of z.freeHeads(o)) for (let p = h; p < h + ORDER_PAGES[o]!; p++) free.push(p);
      }
      free.sort((a, b) => a - b);
      z.clearFree();
      let runStart = -1;
      let prev = -2;
      const flush = () => {
        if (runStart >= 0) this.freeRange(z, runStart, prev + 1);
        runStart = -1;
      };
      for (const p of free) {
        const pin = prng.nextFloat() < fraction;
        if (pin) {
          flush();
          this.live.set(p, 0);
          pinned.push(p);
        } else {
          if (runStart < 0 || p !== prev + 1) {
            flush();
            runStart = p;
          }
        }
        prev = p;
      }
      flush();
    }
    return pinned;
  }
}

declare module "./memory.js" {
  interface MemoryModel {
    /** The machine's buddy allocator ({@link buddyOf}); absent until first used. */
    buddyAllocator?: BuddyAllocator;
  }
}

/** What the free functions need: a machine (anything with its memory model). */
export interface HasMm {
  readonly mm: MemoryModel;
}

/**
 * The buddy allocator of a machine, built on first use. From then on the
 * machine's page source (lib/mm/page-source.ts, used by dma-direct's
 * coherent allocation and vmalloc in lib/mm/remap.ts) draws from it too, so
 * the two never hand out the same page.
 */
export function buddyOf(m: HasMm | MemoryModel): BuddyAllocator {
  const mm = "mm" in m ? m.mm : m;
  let b = mm.buddyAllocator;
  if (!b) {
    const nb = new BuddyAllocator(mm);
    mm.buddyAllocator = nb;
    setPageSourceDelegate(mm, {
      alloc: (order, physLimit) => nb.allocBelow(order, physLimit),
      free: (pfn) => nb.free(pfn),
      usedPages: () => nb.usedPages(),
    });
    b = nb;
  }
  return b;
}

/**
 * alloc_pages(gfp, order) on a machine: 2^order contiguous pages from the
 * zonelist that starts at gfp_zone(gfp).
 * @returns the first pfn, or null when every zone of the zonelist is exhausted.
 * @returns null also for an order above 10 (the kernel's WARN + NULL).
 * @throws ModelConfigError for an order that is not an integer in [0, 63].
 */
export function allocPages(machine: HasMm, gfp: GfpFlags, order: number): Pfn | null {
  checkInt("allocPages(order)", order, 0, 63); // before buddyOf builds the allocator on first use
  return buddyOf(machine).alloc(gfp, order);
}

/**
 * __free_pages(page, order) on a machine.
 * @throws ModelConfigError for a pfn that is not a live block head of that order.
 */
export function freePages(machine: HasMm, pfn: number, order: number): void {
  checkInt("freePages(pfn)", pfn);
  checkInt("freePages(order)", order, 0, 63);
  buddyOf(machine).free(pfn, order);
}

/**
 * Scatter the machine's free memory (see {@link BuddyAllocator.fragment}).
 * @returns the pinned pfns.
 * @throws ModelConfigError for a fraction outside [0, 1).
 */
export function fragment(machine: HasMm, seed: number, fraction: number): number[] {
  // checked before buddyOf builds the allocator on first use
  checkInt("fragment(seed)", seed, 0, 0xffffffff);
  if (typeof fraction !== "number" || !(fraction >= 0 && fraction < 1)) throw new ModelConfigError("fragment(fraction)", fraction, "a number in [0, 1)");
  return buddyOf(machine).fragment(seed, fraction);
}
