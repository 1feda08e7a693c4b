/**
 * The per-CPU IOVA range caches ("rcaches") of drivers/iommu/iova.c, per
 * release from v4.7: magazines of freed IOVA pfns, one pair (loaded, prev)
 * per CPU and per size order, and a depot of full magazines shared by the
 * CPUs, in front of the rbtree allocator of lib/iommu/iova.ts.
 *
 * Kernel functions modelled (camelCase): alloc_iova_fast(), free_iova_fast(),
 * iova_rcache_get() / __iova_rcache_get(), iova_rcache_insert() /
 * __iova_rcache_insert(), iova_magazine_pop() / _push() / _free_pfns(),
 * free_cpu_cached_iovas(), free_global_cached_iovas(), iova_depot_work_func(),
 * init_iova_rcaches() / iova_domain_init_rcaches().
 * Read in: calebwilliamsd/linux-4.7.4-casio (4.7.4), linuxzjs/linux-4.14
 * (4.14.177), Keitokuch/linux-4.15-lb (4.15.0), hxb-gt/linux-5.4.6 (5.4.6),
 * Prashant446/linux-5.10.89, CompressionDuck/linux-5.11 (5.11.0),
 * wowk/linux-5.15 (5.15.55), dunli/linux-5.17 (5.17.0-rc5),
 * yishangzhang/linux-5.19 (5.19.0), sun363587351/linux-6.0 (6.0.0-rc1),
 * sndrzt/linux-6.5 (6.5.0), vivo50kff/linux-6.8 (6.8.0),
 * matankalina/linux-6.19.10-fork (6.19.0): drivers/iommu/iova.c and
 * include/linux/iova.h (Makefiles checked).
 *
 * The rules, for a domain following release R (its `kernel`):
 * - Sizes are cached by order = order_base_2(size) (ceil(log2 size)), for
 *   order < IOVA_RANGE_CACHE_MAX_SIZE (6): sizes 1..32 pages. Larger sizes
 *   go to alloc_iova() / free_iova() directly.
 * - Get (on the calling CPU, for one order): if `loaded` is not empty use it;
 *   else if `prev` is not empty swap them and use the new `loaded`; else if
 *   the depot has a magazine, drop the (empty) `loaded` and load the depot's
 *   top magazine. Then pop from `loaded` with the limit. A failed pop keeps
 *   whatever swap or depot load happened.
 * - Pop with a limit: from v4.15 the magazine is scanned from its top
 *   (last pushed) down for the first pfn <= limit_pfn + 1 - size (so the
 *   whole range fits under the limit); that pfn is replaced by the last one
 *   and the magazine shrinks by one; none found: 0 (rbtree fallback). The
 *   subtraction is unsigned: a size above limit_pfn + 1 wraps and every pfn
 *   passes. v4.7 .. v4.14: only the top pfn is tried, and it is refused when
 *   it is >= limit_pfn (inclusive limit; the range's end is not checked).
 * - Insert (on the calling CPU): if `loaded` is not full push to it; else if
 *   `prev` is not full swap and push; else a new empty magazine becomes
 *   `loaded` and the full one goes to the depot: until v6.6 a stack of at
 *   most MAX_GLOBAL_MAGS = 32 magazines (when full, the magazine's pfns are
 *   given back to the rbtree instead, index 0 upwards); from v6.7 an
 *   unbounded stack whose trimming work is scheduled (iova_depot_work_func,
 *   100 ms later in the kernel; here an explicit step, {@link iovaDepotWork}).
 * - Magazine size IOVA_MAG_SIZE: 128 until v5.19, 127 from v6.0.
 * - alloc_iova_fast(size, limit_pfn, flush_rcache): from v5.17 a size
 *   below 32 is first rounded up to a power of two (before, the caller
 *   rounds: dma-iommu since v4.12; an unrounded size can hand out a cached
 *   range larger than the one in the rbtree, see the tests). Then the rcache
 *   get, then alloc_iova(size, limit_pfn, size_aligned = true); if that
 *   fails and flush_rcache is set (v4.7 .. v4.14: always, the argument does
 *   not exist yet), every online CPU's magazines are given back
 *   (free_cpu_cached_iovas, CPU 0 upwards, orders 0..5, loaded then prev),
 *   from v5.11 also the depot (free_global_cached_iovas), and alloc_iova is
 *   tried once more.
 * - free_iova_fast(pfn, size): insert into the rcache of order_base_2(size),
 *   else free_iova(pfn).
 * - Giving a magazine back to the rbtree frees its pfns index 0 upwards
 *   with free_iova semantics (the cached-node updates of lib/iommu/iova.ts
 *   follow the order). The depot is given back bottom (oldest) first until
 *   v6.6 (an array walked upwards), top (newest) first from v6.7 (a list
 *   popped from its head).
 *
 * Model choices: all `cpus` CPUs are online (num_online_cpus() = cpus);
 * magazine allocations never fail (GFP_ATOMIC failure is not modelled); the
 * caller names the CPU it runs on. Misuse the kernel would turn into silent
 * corruption or a BUG_ON is rejected with ModelConfigError before any change:
 * freeing a pfn that is not the start of an allocated range, a pfn already
 * cached, or a size whose order differs from the allocated range's.
 *
 * The state lives on the domain (`iovad.rcaches`, declared here by
 * augmenting IovaDomain), as the kernel keeps it in struct iova_domain. The
 * pfns parked in magazines (for the double-free check) are marks in the
 * block index's start table (lib/iommu/iova-blocks.ts StartTable), so one
 * table lookup answers "starts a range, of which length, already cached"
 * for a free; each magazine remembers the table slot of each pfn it holds.
 */
import { checkInt, orderBase2, roundupPowOfTwo } from "../core/arith.js";
import { ModelConfigError } from "../core/errors.js";
import { atLeast, defineChange } from "../kernel/version.js";
import { IovaDomain, allocIova, findIova, freeIova, iovaRanges } from "./iova.js";
import { StartTable } from "./iova-blocks.js";

/** v4.7: the per-CPU rcaches exist (alloc_iova_fast / free_iova_fast). */
export const CHANGE_IOVA_RCACHES = defineChange({
  id: "iova-rcaches",
  since: "v4.7",
  commit: "9257b4a206fc (recalled, not verified)",
  subject: "iommu/iova: introduce per-cpu caching to iova allocation",
  files: ["drivers/iommu/iova.c", "include/linux/iova.h"],
  effect: "alloc_iova_fast / free_iova_fast cache freed ranges of 1..32 pages in per-CPU magazines (128 pfns) and a depot of 32 full magazines per order.",
  bracket:
    "absent in v4.6.2 (xing393939/linux-4.6.2, drivers/iommu/iova.c: no alloc_iova_fast), present in v4.7.4 (calebwilliamsd/linux-4.7.4-casio, drivers/iommu/iova.c:alloc_iova_fast, __iova_rcache_get, __iova_rcache_insert)",
});

/** v4.15: the magazine pop scans for a pfn whose whole range fits under the limit. */
export const CHANGE_IOVA_RCACHE_LIMIT_SCAN = defineChange({
  id: "iova-rcache-limit-scan",
  since: "v4.15",
  commit: "(hash not verified)",
  subject: "iommu/iova: Make rcache limit_pfn handling more robust",
  files: ["drivers/iommu/iova.c"],
  effect: "iova_magazine_pop scans from the top for pfn <= limit_pfn + 1 - size and swaps it with the last pfn; before, only the top pfn was tried against limit_pfn (refused when >= limit_pfn).",
  bracket:
    "absent in v4.14.177 (linuxzjs/linux-4.14, drivers/iommu/iova.c:iova_magazine_pop, iova_rcache_get), present in v4.15.0 (Keitokuch/linux-4.15-lb, drivers/iommu/iova.c:iova_magazine_pop, iova_rcache_get)",
});

/** v4.15: alloc_iova_fast takes flush_rcache. */
export const CHANGE_IOVA_FAST_FLUSH_OPTIONAL = defineChange({
  id: "iova-fast-flush-optional",
  since: "v4.15",
  commit: "538d5b333216 (recalled, not verified)",
  subject: "iommu/iova: Make rcache flush optional on IOVA allocation failure",
  files: ["drivers/iommu/iova.c", "include/linux/iova.h"],
  effect: "alloc_iova_fast(iovad, size, limit_pfn, flush_rcache): the CPU magazines are flushed on failure only when asked; before, always once.",
  bracket:
    "absent in v4.14.177 (linuxzjs/linux-4.14, drivers/iommu/iova.c:alloc_iova_fast, three arguments), present in v4.15.0 (Keitokuch/linux-4.15-lb, drivers/iommu/iova.c:alloc_iova_fast, bool flush_rcache)",
});

/** v5.11: a failed fast allocation also flushes the depot. */
export const CHANGE_IOVA_FLUSH_DEPOT_ON_FAIL = defineChange({
  id: "iova-flush-depot-on-fail",
  since: "v5.11",
  commit: "6fa3525b455a (recalled, not verified)",
  subject: "iommu/iova: Free global iova rcache on iova alloc failure",
  files: ["drivers/iommu/iova.c"],
  effect: "alloc_iova_fast's flush on failure also gives every depot magazine back to the rbtree (free_global_cached_iovas).",
  bracket:
    "absent in v5.10.89 (Prashant446/linux-5.10.89, drivers/iommu/iova.c:alloc_iova_fast), present in v5.11.0 (CompressionDuck/linux-5.11, drivers/iommu/iova.c:alloc_iova_fast, free_global_cached_iovas)",
});

/** v5.17: alloc_iova_fast rounds cacheable sizes to a power of two itself. */
export const CHANGE_IOVA_FAST_ROUNDUP = defineChange({
  id: "iova-fast-roundup",
  since: "v5.17",
  commit: "(hash not verified)",
  subject: "iommu/iova: Move fast alloc size roundup into alloc_iova_fast()",
  files: ["drivers/iommu/iova.c", "drivers/iommu/dma-iommu.c"],
  effect: "alloc_iova_fast rounds a size below 32 pages up to a power of two before the rcache lookup (the caller no longer has to).",
  bracket:
    "absent in v5.15.55 (wowk/linux-5.15, drivers/iommu/iova.c:alloc_iova_fast), present in v5.17.0-rc5 (dunli/linux-5.17, drivers/iommu/iova.c:alloc_iova_fast); model v5.17 (no v5.16 tree read)",
});

/** v6.0: IOVA_MAG_SIZE 127 (a 1 KiB magazine). */
export const CHANGE_IOVA_MAG_SIZE_127 = defineChange({
  id: "iova-mag-size-127",
  since: "v6.0",
  commit: "(hash not verified)",
  subject: "iommu/iova: change IOVA_MAG_SIZE to 127 to save memory",
  files: ["drivers/iommu/iova.c"],
  effect: "A magazine holds 127 pfns instead of 128.",
  bracket:
    "absent in v5.19.0 (yishangzhang/linux-5.19, drivers/iommu/iova.c: IOVA_MAG_SIZE 128), present in v6.0.0-rc1 (sun363587351/linux-6.0, drivers/iommu/iova.c: IOVA_MAG_SIZE 127)",
});

/** v6.7: the depot is an unbounded list trimmed by delayed work. */
export const CHANGE_IOVA_DEPOT_LIST = defineChange({
  id: "iova-depot-list",
  since: "v6.7",
  commit: "911aa1245da8 (recalled, not verified)",
  subject: "iommu/iova: Make the rcache depot scale better",
  files: ["drivers/iommu/iova.c"],
  effect: "The depot of full magazines has no bound (no MAX_GLOBAL_MAGS): each push schedules iova_depot_work_func, which frees one magazine while the depot holds more magazines than online CPUs; free_global_cached_iovas pops from the top.",
  bracket:
    "absent in v6.5.0 (sndrzt/linux-6.5, drivers/iommu/iova.c:__iova_rcache_insert, MAX_GLOBAL_MAGS 32), present in v6.8.0 (vivo50kff/linux-6.8, drivers/iommu/iova.c:iova_depot_push, iova_depot_work_func); model v6.7 (no v6.6/v6.7 tree with drivers/iommu read)",
});

/** IOVA_RANGE_CACHE_MAX_SIZE (include/linux/iova.h, v4.7 .. v6.19): orders 0..5 are cached (sizes up to 32 pages). */
export const IOVA_RANGE_CACHE_MAX_SIZE = 6;
/** MAX_GLOBAL_MAGS (include/linux/iova.h, later iova.c; v4.7 .. v6.6): depot capacity per order, magazines. */
export const MAX_GLOBAL_MAGS = 32;

/** Largest cached size, pages: 2^(IOVA_RANGE_CACHE_MAX_SIZE - 1) = 32. */
const CACHED_MAX = 2 ** (IOVA_RANGE_CACHE_MAX_SIZE - 1);
/** order_base_2(s) for s = 1..CACHED_MAX, computed once with lib/core/arith.ts (the fast path reads it instead of recomputing). */
const ORDER_OF = new Uint8Array(CACHED_MAX + 1);
/** roundup_pow_of_two(s) for s = 1..CACHED_MAX, computed once with lib/core/arith.ts. */
const ROUNDUP_OF = new Float64Array(CACHED_MAX + 1);
for (let s = 1; s <= CACHED_MAX; s++) {
  ORDER_OF[s] = orderBase2(s);
  ROUNDUP_OF[s] = roundupPowOfTwo(s);
}

/** order_base_2(n) for a safe integer n >= 1 already checked: the table for 1..32, else lib/core/arith.ts. */
function orderOf(n: number): number {
  return n <= CACHED_MAX ? ORDER_OF[n]! : orderBase2(n);
}

/** IOVA_MAG_SIZE for a release: 128 (v4.7 .. v5.19) or 127 (v6.0+). Source: drivers/iommu/iova.c. */
export function iovaMagSize(kernel: string): number {
  return atLeast(kernel, CHANGE_IOVA_MAG_SIZE_127) ? 127 : 128;
}

/** One magazine: `size` pfns in pfns[0 .. size-1], pushed at the end. */
export class IovaMagazine {
  readonly pfns: Float64Array;
  /** @internal per pfn, the slot of its entry in the domain's start table when it was pushed (a hint, checked before use). */
  readonly slots: Int32Array;
  size = 0;
  constructor(cap: number) {
    this.pfns = new Float64Array(cap);
    this.slots = new Int32Array(cap);
  }
}

/**
 * The set of pfns held in any magazine, read like a Set (`has`, `size`).
 * The pfns are the marks of the domain's start table (iova-blocks.ts
 * StartTable), so the free check reads a range's end and whether it is
 * already cached from one slot.
 */
export class CachedPfns {
  /** @internal the domain's start table (set by {@link iovaDomainInitRcaches}). */
  _table: StartTable | null = null;
  /** True if `pfn` sits in a magazine (CPU or depot). */
  has(pfn: number): boolean {
    return this._table !== null && this._table.hasMark(pfn);
  }
  /** Number of pfns in magazines. */
  get size(): number {
    return this._table === null ? 0 : this._table.markCount;
  }
}

/** One CPU's pair of magazines for one order (struct iova_cpu_rcache). */
export interface IovaCpuRcache {
  loaded: IovaMagazine;
  prev: IovaMagazine;
}

/** One order's cache (struct iova_rcache): per-CPU pairs and the depot stack (top = last element). */
export interface IovaRcache {
  readonly cpu: IovaCpuRcache[];
  readonly depot: IovaMagazine[];
  /** v6.7+: the delayed depot work is scheduled (schedule_delayed_work is a no-op while pending). */
  workPending: boolean;
}

/**
 * The rcaches of one domain (struct iova_domain's rcaches array plus the
 * release switches). Build with {@link iovaDomainInitRcaches}; reach it as
 * `iovad.rcaches`.
 */
export class IovaRcaches {
  /** Number of CPUs, all online. */
  readonly cpus: number;
  /** IOVA_MAG_SIZE of the release. */
  readonly magSize: number;
  /** The release switches, read once (atLeast on the domain's kernel). */
  readonly limitScan: boolean;
  readonly flushOptional: boolean;
  readonly flushDepot: boolean;
  readonly roundup: boolean;
  readonly depotList: boolean;
  /** rcaches[order], order 0 .. IOVA_RANGE_CACHE_MAX_SIZE - 1. */
  readonly rcaches: IovaRcache[];
  /** @internal the pfns currently held in any magazine (misuse checks). */
  readonly _cached = new CachedPfns();
  /** @internal the domain's start table, whose marks are {@link _cached} (set by {@link iovaDomainInitRcaches}). */
  _starts: StartTable = new StartTable();
  /** @internal the domain these rcaches belong to (set by {@link iovaDomainInitRcaches}; the quick domain check). */
  _domain: IovaDomain | null = null;
  /** @internal the same per-CPU pairs as `rcaches[order].cpu[cpu]`, at order * cpus + cpu (one lookup on the fast path). */
  readonly _cpuRc: IovaCpuRcache[] = [];
  /** @internal the largest size allocIovaFast accepts in the domain, min(2^52, maxPfn - startPfn + 1) (set by {@link iovaDomainInitRcaches}). */
  _maxSize = 0;

  /** @internal use {@link iovaDomainInitRcaches}. */
  constructor(kernel: string, cpus: number) {
    this.cpus = cpus;
    this.magSize = iovaMagSize(kernel);
    this.limitScan = atLeast(kernel, CHANGE_IOVA_RCACHE_LIMIT_SCAN);
    this.flushOptional = atLeast(kernel, CHANGE_IOVA_FAST_FLUSH_OPTIONAL);
    this.flushDepot = atLeast(kernel, CHANGE_IOVA_FLUSH_DEPOT_ON_FAIL);
    this.roundup = atLeast(kernel, CHANGE_IOVA_FAST_ROUNDUP);
    this.depotList = atLeast(kernel, CHANGE_IOVA_DEPOT_LIST);
    this.rcaches = [];
    for (let o = 0; o < IOVA_RANGE_CACHE_MAX_SIZE; o++) {
      const cpu: IovaCpuRcache[] = [];
      for (let c = 0; c < cpus; c++) cpu.push({ loaded: new IovaMagazine(this.magSize), prev: new IovaMagazine(this.magSize) });
      this.rcaches.push({ cpu, depot: [], workPending: false });
      for (const cr of cpu) this._cpuRc.push(cr);
    }
  }

  /** Number of pfns held in magazines (CPU and depot), all orders. */
  get cachedCount(): number {
    return this._cached.size;
  }
}

declare module "./iova.js" {
  interface IovaDomain {
    /** The per-CPU range caches, set by {@link iovaDomainInitRcaches} (absent before). */
    rcaches?: IovaRcaches;
  }
}

/** Options of {@link iovaDomainInitRcaches}. */
export interface IovaRcacheOptions {
  /** Number of CPUs (all online), an integer in [1, 1024]. */
  readonly cpus: number;
}

/**
 * init_iova_rcaches() (v4.7 .. v5.17, called by init_iova_domain) /
 * iova_domain_init_rcaches() (v5.18+): give the domain empty rcaches for
 * `cpus` CPUs: per order, per CPU an empty `loaded` and `prev` magazine,
 * and an empty depot.
 * @returns the rcaches, also stored as `iovad.rcaches`.
 * @throws ModelConfigError for a put domain, a domain that already has
 *   rcaches, a release before v4.7 (no rcaches), or a bad `cpus`.
 * Source: drivers/iommu/iova.c, init_iova_rcaches() (v5.4.6),
 * iova_domain_init_rcaches() (v6.19).
 */
export function iovaDomainInitRcaches(iovad: IovaDomain, options: IovaRcacheOptions): IovaRcaches {
  if (!(iovad instanceof IovaDomain) || iovad.isPut) {
    throw new ModelConfigError("iovaDomainInitRcaches(iovad)", iovad, "a live IovaDomain from initIovaDomain()");
  }
  if (iovad.rcaches) throw new ModelConfigError("iovaDomainInitRcaches(iovad)", "a domain with rcaches", "a domain without rcaches");
  if (!atLeast(iovad.kernel, CHANGE_IOVA_RCACHES)) {
    throw new ModelConfigError("iovaDomainInitRcaches(iovad.kernel)", iovad.kernel, "v4.7 or later (the rcaches came with v4.7)");
  }
  if (typeof options !== "object" || options === null) throw new ModelConfigError("iovaDomainInitRcaches(options)", options, "{ cpus }");
  checkInt("iovaDomainInitRcaches(options.cpus)", options.cpus, 1, 1024);
  const rc = new IovaRcaches(iovad.kernel, options.cpus);
  // The free checks read the block index's start table: keep it from now on; its marks are the cached pfns.
  const starts = iovad._ix.enableStarts();
  rc._starts = starts;
  rc._cached._table = starts;
  rc._maxSize = Math.min(2 ** 52, iovad.maxPfn - iovad.startPfn + 1);
  rc._domain = iovad;
  iovad.rcaches = rc;
  return rc;
}

function rcachesOf(iovad: IovaDomain, fn: string): IovaRcaches {
  // Fast path: rcaches are only made for a checked IovaDomain and name it back, so this identity is the instanceof test.
  const fast = typeof iovad === "object" && iovad !== null ? iovad.rcaches : undefined;
  if (fast !== undefined && fast._domain === iovad && !iovad._dead) return fast;
  if (!(iovad instanceof IovaDomain) || iovad.isPut) throw new ModelConfigError(`${fn}(iovad)`, iovad, "a live IovaDomain from initIovaDomain()");
  const rc = iovad.rcaches;
  if (!rc) throw new ModelConfigError(`${fn}(iovad)`, "a domain without rcaches", "a domain given rcaches by iovaDomainInitRcaches()");
  return rc;
}

function checkCpu(rc: IovaRcaches, fn: string, cpu: number): void {
  if (!(Number.isInteger(cpu) && cpu >= 0 && cpu < rc.cpus)) checkInt(`${fn}(cpu)`, cpu, 0, rc.cpus - 1);
}

/** order_base_2(n) = ceil(log2 n) for n >= 1 (lib/core/arith.ts; re-exported for the callers of this module). */
export { orderBase2 };

/** Give one magazine's pfns back to the rbtree, index 0 upwards (iova_magazine_free_pfns). */
function magazineFreePfns(iovad: IovaDomain, rc: IovaRcaches, mag: IovaMagazine): void {
  const n = mag.size;
  for (let i = 0; i < n; i++) {
    const pfn = mag.pfns[i]!;
    rc._starts.unmark(pfn, mag.slots[i]!);
    freeIova(iovad, pfn);
  }
  mag.size = 0;
}

/** iova_rcache_get(): a cached pfn for `size` under `limit` (= limit_pfn + 1 from v4.15, limit_pfn before), or 0. */
function rcacheGet(rc: IovaRcaches, size: number, limit: number, cpu: number): number {
  if (size > CACHED_MAX) return 0;
  const order = ORDER_OF[size]!;
  const cr = rc._cpuRc[order * rc.cpus + cpu]!;
  let mag = cr.loaded;
  if (mag.size === 0) {
    const depot = rc.rcaches[order]!.depot;
    if (cr.prev.size !== 0) {
      cr.loaded = cr.prev;
      cr.prev = mag;
      mag = cr.loaded;
    } else if (depot.length > 0) {
      mag = depot.pop()!;
      cr.loaded = mag;
    } else {
      return 0;
    }
  }
  const pfns = mag.pfns;
  const last = mag.size - 1;
  if (!rc.limitScan) {
    // v4.7 .. v4.14: only the top pfn, refused at or above limit_pfn.
    const top = pfns[last]!;
    if (top >= limit) return 0;
    mag.size = last;
    rc._starts.unmark(top, mag.slots[last]!);
    return top;
  }
  // v4.15+: limit_pfn - size, unsigned: below zero it wraps and every pfn passes.
  const bound = limit - size;
  let i = last;
  if (bound >= 0) {
    while (pfns[i]! > bound) {
      if (i === 0) return 0;
      i--;
    }
  }
  const pfn = pfns[i]!;
  const slots = mag.slots;
  const slot = slots[i]!;
  pfns[i] = pfns[last]!;
  slots[i] = slots[last]!;
  mag.size = last;
  rc._starts.unmark(pfn, slot);
  return pfn;
}

/**
 * __iova_rcache_insert() on one order for one CPU (the magazine allocation never fails in the model, so the pfn always goes in).
 * `slot`: the pfn's (unmarked) entry in the start table, found by the free check with no change since.
 */
function rcacheInsert(iovad: IovaDomain, rc: IovaRcaches, order: number, pfn: number, cpu: number, slot: number): void {
  const cr = rc._cpuRc[order * rc.cpus + cpu]!;
  const cap = rc.magSize;
  let toFree: IovaMagazine | null = null;
  if (cr.loaded.size === cap) {
    if (cr.prev.size !== cap) {
      const t = cr.loaded;
      cr.loaded = cr.prev;
      cr.prev = t;
    } else {
      const rcache = rc.rcaches[order]!;
      if (rc.depotList || rcache.depot.length < MAX_GLOBAL_MAGS) {
        rcache.depot.push(cr.loaded);
        if (rc.depotList) rcache.workPending = true;
      } else {
        toFree = cr.loaded;
      }
      cr.loaded = new IovaMagazine(cap);
    }
  }
  const mag = cr.loaded;
  mag.pfns[mag.size] = pfn;
  mag.slots[mag.size] = slot;
  mag.size++;
  rc._starts.markSlot(slot);
  if (toFree) magazineFreePfns(iovad, rc, toFree);
}

/**
 * alloc_iova_fast(iovad, size, limit_pfn, flush_rcache) on CPU `cpu`: a
 * size-aligned IOVA range of `size` pfns at or below `limitPfn`, from the
 * CPU's rcache when it has a fitting pfn, else from alloc_iova (see the
 * header for the per-release rules, the rounding from v5.17 and the flush
 * on failure).
 * @param size IOVA pfns, an integer in [1, min(2^52, maxPfn - startPfn + 1)]
 *   (a size that cannot fit under the limit makes alloc_iova fail, as in the kernel).
 * @param limitPfn highest usable pfn (inclusive), in [startPfn, maxPfn].
 * @param flushRcache on alloc_iova failure give the caches back and retry
 *   once. Before v4.15 the kernel always does this: false is rejected.
 * @param cpu the calling CPU, in [0, cpus - 1].
 * @returns the first pfn of the range, or 0 when the kernel returns 0.
 * @throws ModelConfigError for bad input or a domain without rcaches, before any change.
 * Source: drivers/iommu/iova.c, alloc_iova_fast(), iova_rcache_get(),
 * __iova_rcache_get(), iova_magazine_pop() (v4.7.4, v4.15.0, v5.4.6, v5.11.0,
 * v5.17.0-rc5, v6.19.0).
 */
export function allocIovaFast(iovad: IovaDomain, size: number, limitPfn: number, flushRcache: boolean, cpu: number): number {
  // Fast path: a cacheable size and every check passing, tested at once (what allocIovaFastChecked tests one by one).
  const rc = typeof iovad === "object" && iovad !== null ? iovad.rcaches : undefined;
  if (
    rc !== undefined &&
    rc._domain === iovad &&
    !iovad._dead &&
    Number.isSafeInteger(limitPfn) &&
    limitPfn >= iovad.startPfn &&
    limitPfn <= iovad.maxPfn &&
    Number.isSafeInteger(size) &&
    size >= 1 &&
    size <= CACHED_MAX &&
    size <= rc._maxSize &&
    (flushRcache === true || (flushRcache === false && rc.flushOptional)) &&
    Number.isInteger(cpu) &&
    cpu >= 0 &&
    cpu < rc.cpus
  ) {
    const sz = rc.roundup ? ROUNDUP_OF[size]! : size;
    const pfn = rcacheGet(rc, sz, rc.limitScan ? limitPfn + 1 : limitPfn, cpu);
    if (pfn) return pfn;
    return allocIovaFastMiss(iovad, rc, sz, limitPfn, flushRcache);
  }
  return allocIovaFastChecked(iovad, size, limitPfn, flushRcache, cpu);
}

/** {@link allocIovaFast} with its checks one by one (each throws its own error, in order), for any input. */
function allocIovaFastChecked(iovad: IovaDomain, size: number, limitPfn: number, flushRcache: boolean, cpu: number): number {
  const rc = rcachesOf(iovad, "allocIovaFast");
  if (!(Number.isSafeInteger(limitPfn) && limitPfn >= iovad.startPfn && limitPfn <= iovad.maxPfn)) {
    checkInt("allocIovaFast(limitPfn)", limitPfn, iovad.startPfn, iovad.maxPfn);
  }
  const maxSize = rc._maxSize;
  if (!(Number.isSafeInteger(size) && size >= 1 && size <= maxSize)) checkInt("allocIovaFast(size)", size, 1, maxSize);
  if (typeof flushRcache !== "boolean") throw new ModelConfigError("allocIovaFast(flushRcache)", flushRcache, "true or false");
  if (!rc.flushOptional && !flushRcache) {
    throw new ModelConfigError("allocIovaFast(flushRcache)", false, `true for ${iovad.kernel}: before v4.15 alloc_iova_fast has no flush_rcache argument and always flushes once`);
  }
  checkCpu(rc, "allocIovaFast", cpu);
  let sz = size;
  if (rc.roundup && sz < CACHED_MAX) sz = ROUNDUP_OF[sz]!;
  const pfn = rcacheGet(rc, sz, rc.limitScan ? limitPfn + 1 : limitPfn, cpu);
  if (pfn) return pfn;
  return allocIovaFastMiss(iovad, rc, sz, limitPfn, flushRcache);
}

/** alloc_iova_fast after a failed rcache get: alloc_iova, and on failure with flush_rcache the flush and one retry. */
function allocIovaFastMiss(iovad: IovaDomain, rc: IovaRcaches, sz: number, limitPfn: number, flushRcache: boolean): number {
  const maxSize = rc._maxSize;
  let flush = flushRcache;
  for (;;) {
    // A rounded size above what the model can hold cannot fit anywhere: alloc_iova fails.
    const r = sz <= maxSize ? allocIova(iovad, sz, limitPfn, true) : null;
    if (r) return r.pfnLo;
    if (!flush) return 0;
    flush = false;
    for (let c = 0; c < rc.cpus; c++) freeCpuCachedIovasUnchecked(iovad, rc, c);
    if (rc.flushDepot) freeGlobalCachedIovasUnchecked(iovad, rc);
  }
}

/**
 * free_iova_fast(iovad, pfn, size) on CPU `cpu`: put `pfn` into the CPU's
 * rcache of order order_base_2(size) when that order is cached (size <= 32),
 * else free_iova(pfn). A full `loaded` and `prev` send `loaded` to the depot
 * (until v6.6, a full depot of 32 sends the magazine's pfns back to the
 * rbtree instead; from v6.7 the depot grows and its trimming work is
 * scheduled).
 * @param pfn the first pfn of a range allocated in `iovad` and not cached.
 * @param size IOVA pfns, >= 1, with the same order_base_2 as the allocated
 *   range's size (what the kernel's callers pass: the unrounded request).
 * @throws ModelConfigError before any change for a pfn that is not the start
 *   of an allocated range, a pfn already cached (double free), a size of
 *   another order, a bad CPU or a domain without rcaches.
 * Source: drivers/iommu/iova.c, free_iova_fast(), iova_rcache_insert(),
 * __iova_rcache_insert() (v4.7.4, v5.4.6, v6.5.0, v6.19.0).
 */
export function freeIovaFast(iovad: IovaDomain, pfn: number, size: number, cpu: number): void {
  // Fast path: a cacheable size, a range of the same order starting at pfn and not cached, every check passing
  // (what freeIovaFastChecked tests one by one); the start table answers in one slot.
  const rc = typeof iovad === "object" && iovad !== null ? iovad.rcaches : undefined;
  if (
    rc !== undefined &&
    rc._domain === iovad &&
    !iovad._dead &&
    Number.isInteger(cpu) &&
    cpu >= 0 &&
    cpu < rc.cpus &&
    Number.isSafeInteger(size) &&
    size >= 1 &&
    size <= CACHED_MAX &&
    Number.isSafeInteger(pfn) &&
    pfn >= 0
  ) {
    const t = rc._starts;
    const slot = t.find(pfn);
    if (slot >= 0 && !t.markedAt(slot)) {
      const len = t.hiAt(slot) - pfn + 1;
      const order = ORDER_OF[size]!;
      if (len <= CACHED_MAX && ORDER_OF[len] === order) {
        rcacheInsert(iovad, rc, order, pfn, cpu, slot);
        return;
      }
    }
  }
  freeIovaFastChecked(iovad, pfn, size, cpu);
}

/** {@link freeIovaFast} with its checks one by one (each throws its own error, in order), for any input. */
function freeIovaFastChecked(iovad: IovaDomain, pfn: number, size: number, cpu: number): void {
  const rc = rcachesOf(iovad, "freeIovaFast");
  checkCpu(rc, "freeIovaFast", cpu);
  const slot = freeCheckSlot(rc, pfn, size, "freeIovaFast");
  if (size > CACHED_MAX) {
    freeIova(iovad, pfn);
    return;
  }
  rcacheInsert(iovad, rc, ORDER_OF[size]!, pfn, cpu, slot);
}

/**
 * free_iova_fast as the kernel does it for a caller whose size has another
 * order than the allocated range (iommu-dma after a driver unmapped less than
 * it mapped, v4.12+): the pfn is filed in the magazine of
 * order_base_2(size), the range stays allocated in the rbtree at its own
 * length (the kernel does not check). Sizes above 32 pages go to free_iova.
 * @throws ModelConfigError before any change for a pfn that is not the start
 *   of an allocated range, a pfn already cached, a bad size or CPU.
 * Source: drivers/iommu/iova.c free_iova_fast (v4.12.0, v6.19.0).
 */
export function freeIovaFastAnyOrder(iovad: IovaDomain, pfn: number, size: number, cpu: number): void {
  const rc = rcachesOf(iovad, "freeIovaFast");
  checkCpu(rc, "freeIovaFast", cpu);
  if (!(Number.isSafeInteger(size) && size >= 1)) checkInt("freeIovaFast(size)", size, 1);
  if (!Number.isSafeInteger(pfn) || pfn < 0) checkInt("freeIovaFast(pfn)", pfn);
  const r = findIova(iovad, pfn);
  if (!r || r.pfnLo !== pfn) throw new ModelConfigError("freeIovaFast(pfn)", pfn, "the first pfn of an allocated range");
  if (rc._cached.has(pfn)) throw new ModelConfigError("freeIovaFast(pfn)", pfn, "a pfn not already in an rcache (this is a double free)");
  const order = orderOf(size);
  if (order >= IOVA_RANGE_CACHE_MAX_SIZE) freeIova(iovad, pfn);
  else rcacheInsert(iovad, rc, order, pfn, cpu, rc._starts.find(pfn));
}

/**
 * The misuse checks of {@link freeIovaFast}, for callers that hold a range
 * before freeing it (the flush queue): `pfn` must start an allocated range,
 * not be cached, and `size` must have the range's order.
 * The domain is read through `rc` (its rcaches name their domain's start
 * table); the first argument stays for the callers.
 * @returns order_base_2(size).
 * @throws ModelConfigError naming `fn` otherwise.
 */
export function checkFreeIovaFast(_iovad: IovaDomain, rc: IovaRcaches, pfn: number, size: number, fn: string): number {
  freeCheckSlot(rc, pfn, size, fn);
  return orderOf(size);
}

/**
 * The checks of {@link checkFreeIovaFast}, reading the domain's start table
 * once: find_iova(pfn)->pfn_lo == pfn is "the table has an entry for pfn"
 * (no search, no copy), the range's length and its "cached" mark come from
 * the same slot. Changes nothing.
 * @returns the slot of pfn's entry.
 */
function freeCheckSlot(rc: IovaRcaches, pfn: number, size: number, fn: string): number {
  if (!(Number.isSafeInteger(size) && size >= 1)) checkInt(`${fn}(size)`, size, 1);
  if (!(Number.isSafeInteger(pfn) && pfn >= 0)) checkInt(`${fn}(pfn)`, pfn);
  const t = rc._starts;
  const slot = t.find(pfn);
  if (slot < 0) throw new ModelConfigError(`${fn}(pfn)`, pfn, "the first pfn of an allocated range");
  const len = t.hiAt(slot) - pfn + 1;
  if (t.markedAt(slot)) throw new ModelConfigError(`${fn}(pfn)`, pfn, "a pfn not already in an rcache (this is a double free)");
  if (orderOf(size) !== orderOf(len)) {
    throw new ModelConfigError(`${fn}(size)`, size, `a size of the allocated range's order (the range has ${len} pfns)`);
  }
  return slot;
}

function freeCpuCachedIovasUnchecked(iovad: IovaDomain, rc: IovaRcaches, cpu: number): void {
  for (let o = 0; o < IOVA_RANGE_CACHE_MAX_SIZE; o++) {
    const cr = rc.rcaches[o]!.cpu[cpu]!;
    magazineFreePfns(iovad, rc, cr.loaded);
    magazineFreePfns(iovad, rc, cr.prev);
  }
}

function freeGlobalCachedIovasUnchecked(iovad: IovaDomain, rc: IovaRcaches): void {
  for (let o = 0; o < IOVA_RANGE_CACHE_MAX_SIZE; o++) {
    const depot = rc.rcaches[o]!.depot;
    if (rc.depotList) {
      while (depot.length) magazineFreePfns(iovad, rc, depot.pop()!);
    } else {
      for (const mag of depot) magazineFreePfns(iovad, rc, mag);
      depot.length = 0;
    }
  }
}

/**
 * free_cpu_cached_iovas(cpu, iovad): give CPU `cpu`'s magazines back to the
 * rbtree, orders 0..5, `loaded` then `prev`, each pfn index 0 upwards (the
 * kernel does this when a CPU goes offline, and for every online CPU when
 * alloc_iova_fast fails with flush_rcache).
 * @throws ModelConfigError for a bad CPU or a domain without rcaches.
 * Source: drivers/iommu/iova.c, free_cpu_cached_iovas(),
 * iova_magazine_free_pfns() (v5.4.6, v6.19.0).
 */
export function freeCpuCachedIovas(iovad: IovaDomain, cpu: number): void {
  const rc = rcachesOf(iovad, "freeCpuCachedIovas");
  checkCpu(rc, "freeCpuCachedIovas", cpu);
  freeCpuCachedIovasUnchecked(iovad, rc, cpu);
}

/**
 * free_global_cached_iovas(iovad) (v5.11+): give every depot magazine back
 * to the rbtree, orders 0..5; v5.11 .. v6.6 bottom (oldest) magazine first,
 * v6.7+ top (newest) first.
 * @throws ModelConfigError before v5.11 (no such function) or for a domain without rcaches.
 * Source: drivers/iommu/iova.c, free_global_cached_iovas() (v5.11.0, v6.19.0).
 */
export function freeGlobalCachedIovas(iovad: IovaDomain): void {
  const rc = rcachesOf(iovad, "freeGlobalCachedIovas");
  if (!rc.flushDepot) throw new ModelConfigError("freeGlobalCachedIovas(iovad.kernel)", iovad.kernel, "v5.11 or later (free_global_cached_iovas came with v5.11)");
  freeGlobalCachedIovasUnchecked(iovad, rc);
}

/**
 * One run of iova_depot_work_func for order `order` (v6.7+), the delayed
 * work each depot push schedules (IOVA_DEPOT_DELAY, 100 ms, in the kernel;
 * the caller decides when it runs): if the depot holds more magazines than
 * online CPUs (`cpus`), its top magazine is popped, its pfns go back to the
 * rbtree (index 0 upwards) and the work is scheduled again; else the work
 * ends. Running it when it is not pending is what the kernel's work would do
 * if it ran: the same rule.
 * @returns the number of pfns given back (the magazine size, or 0).
 * @throws ModelConfigError before v6.7 (the depot is a fixed array, no work),
 *   for a bad order or a domain without rcaches.
 * Source: drivers/iommu/iova.c, iova_depot_work_func(), iova_depot_pop() (v6.8.0, v6.19.0).
 */
export function iovaDepotWork(iovad: IovaDomain, order: number): number {
  const rc = rcachesOf(iovad, "iovaDepotWork");
  if (!rc.depotList) throw new ModelConfigError("iovaDepotWork(iovad.kernel)", iovad.kernel, "v6.7 or later (iova_depot_work_func came with the depot list)");
  checkInt("iovaDepotWork(order)", order, 0, IOVA_RANGE_CACHE_MAX_SIZE - 1);
  const rcache = rc.rcaches[order]!;
  if (rcache.depot.length > rc.cpus) {
    const mag = rcache.depot.pop()!;
    const n = mag.size;
    magazineFreePfns(iovad, rc, mag);
    rcache.workPending = true;
    return n;
  }
  rcache.workPending = false;
  return 0;
}

/** A snapshot of one order's cache: per CPU the loaded and prev fill, the depot's magazine count. */
export interface IovaRcacheOrderStats {
  readonly order: number;
  /** Per CPU: pfns in `loaded` and in `prev`. */
  readonly cpu: ReadonlyArray<{ readonly loaded: number; readonly prev: number }>;
  /** Magazines in the depot (each full). */
  readonly depotMags: number;
  /** v6.7+: the depot work is pending. */
  readonly workPending: boolean;
  /** All pfns cached at this order (CPU magazines and depot). */
  readonly cached: number;
}

/**
 * The fill of every order's cache (model helper for tests and charts).
 * @throws ModelConfigError for a domain without rcaches.
 */
export function iovaRcacheStats(iovad: IovaDomain): IovaRcacheOrderStats[] {
  const rc = rcachesOf(iovad, "iovaRcacheStats");
  return rc.rcaches.map((r, order) => {
    const cpu = r.cpu.map((c) => ({ loaded: c.loaded.size, prev: c.prev.size }));
    let cached = 0;
    for (const c of cpu) cached += c.loaded + c.prev;
    for (const m of r.depot) cached += m.size;
    return { order, cpu, depotMags: r.depot.length, workPending: r.workPending, cached };
  });
}

/**
 * Every cached pfn with its order and where it sits (model helper):
 * `where` is "loaded", "prev" (with `cpu`) or "depot" (with the magazine's
 * index from the bottom). Pfns in magazine order (index 0 first).
 * @throws ModelConfigError for a domain without rcaches.
 */
export function iovaRcacheContents(iovad: IovaDomain): Array<{ pfn: number; order: number; where: "loaded" | "prev" | "depot"; cpu: number; index: number }> {
  const rc = rcachesOf(iovad, "iovaRcacheContents");
  const out: Array<{ pfn: number; order: number; where: "loaded" | "prev" | "depot"; cpu: number; index: number }> = [];
  rc.rcaches.forEach((r, order) => {
    r.cpu.forEach((c, cpu) => {
      for (let i = 0; i < c.loaded.size; i++) out.push({ pfn: c.loaded.pfns[i]!, order, where: "loaded", cpu, index: i });
      for (let i = 0; i < c.prev.size; i++) out.push({ pfn: c.prev.pfns[i]!, order, where: "prev", cpu, index: i });
    });
    r.depot.forEach((m, d) => {
      for (let i = 0; i < m.size; i++) out.push({ pfn: m.pfns[i]!, order, where: "depot", cpu: -1, index: d });
    });
  });
  return out;
}

/**
 * The IOVA ranges in use: the rbtree's allocated ranges minus those parked in
 * an rcache magazine (free_iova_fast keeps a cached range allocated in the
 * rbtree until a flush gives it back). Without rcaches: every range.
 * Model helper for tests and charts. Ranges in pfns, inclusive, ascending.
 */
export function iovaRangesInUse(iovad: IovaDomain): Array<{ pfnLo: number; pfnHi: number }> {
  const all = iovaRanges(iovad);
  const rc = iovad.rcaches;
  return rc ? all.filter((r) => !rc._cached.has(r.pfnLo)) : all;
}
