/**
 * Strict invalidation versus the flush queue ("lazy" mode) of IOMMU DMA
 * unmaps, per release, in simulated time (ns, explicit, deterministic).
 *
 * Strict (no flush queue): every unmap invalidates its IOVA range in the
 * IOTLB at once (iommu_iotlb_sync() of the range iommu_unmap_fast()
 * gathered) and gives the IOVA back with free_iova_fast().
 *
 * Lazy (flush queue): the unmap only removes the PTEs and queues
 * (pfn, pages, counter = flush-start count) on a ring; the IOVA is freed
 * (free_iova_fast) only after a later IOTLB flush-all has finished, so the
 * device cannot reach a reused IOVA through a stale translation. A ring:
 * fq_size slots, full when (tail + 1) mod fq_size == head, so it holds at
 * most fq_size - 1 entries. queue_iova(): first free the entries that a
 * finished flush covers (counter < flush-finish count), then if the ring is
 * full flush the IOTLB (start count + 1, flush_iotlb_all, finish count + 1)
 * and free again, then add the entry; arm the timer if it is not armed
 * (expiry jiffies + msecs_to_jiffies(timeout)). The timer: disarm, flush,
 * then free every ring (all CPUs). A flush caused by one CPU's full ring
 * frees only that ring; other CPUs' covered entries wait for their next
 * queue_iova or the timer.
 *
 * Per release:
 * - v4.14 .. v5.16: the flush queue is in drivers/iommu/iova.c, per-CPU rings
 *   of IOVA_FQ_SIZE = 256 entries, IOVA_FQ_TIMEOUT = 10 ms (include/linux/iova.h);
 *   dma-iommu uses it from v5.0 (non-strict mode), intel/amd drivers before.
 * - v5.17 .. v6.6: the same queue moved into drivers/iommu/dma-iommu.c (same rules).
 * - v6.7+: dma-iommu's options: per-CPU rings of IOVA_DEFAULT_FQ_SIZE = 256
 *   with IOVA_DEFAULT_FQ_TIMEOUT = 10 ms, or, for IOMMUs that shadow on
 *   flush (s390, virtio-iommu), one shared ring of IOVA_SINGLE_FQ_SIZE =
 *   32768 with IOVA_SINGLE_FQ_TIMEOUT = 1000 ms.
 * Read in: kinmax/linux-4.13.19 (4.13.9: no flush queue), linuxzjs/linux-4.14
 * (4.14.177), hxb-gt/linux-5.4.6 (drivers/iommu/iova.c queue_iova(),
 * fq_ring_free(), fq_flush_timeout(), iova_domain_flush(); drivers/iommu/dma-iommu.c
 * iommu_dma_free_iova(), __iommu_dma_unmap()), dunli/linux-5.17 (5.17.0-rc5),
 * sndrzt/linux-6.5 (6.5.0), vivo50kff/linux-6.8 (6.8.0),
 * matankalina/linux-6.19.10-fork (6.19.0: drivers/iommu/dma-iommu.c
 * queue_iova(), fq_ring_free_locked(), fq_flush_iotlb(), fq_flush_timeout(),
 * iommu_dma_init_options(), __iommu_dma_unmap(), iommu_dma_free_iova()).
 *
 * Time: jiffies = floor(nowNs / (1e9 / hz)); msecs_to_jiffies(m) =
 * ceil(m * hz / 1000); the timer fires at tick (jiffies at arming +
 * msecs_to_jiffies(timeout)), i.e. at that tick's start in ns. Every call
 * that takes `nowNs` first runs an expired timer (what the kernel's timer
 * softirq would have done by then); time must not go backwards.
 * Not modelled: the page-table pages freed with the entries (freelist), the
 * entry_dtor of v4.14 .. v5.16 (dma-iommu passes none), the flush queue's
 * teardown, and the MSI cookie path.
 */
import { checkInt } from "../core/arith.js";
import { ModelConfigError } from "../core/errors.js";
import { atLeast, defineChange } from "../kernel/version.js";
import { type Iotlb, iotlbInvalidateAll, iotlbInvalidateRange } from "./iotlb.js";
import { IovaDomain, findIova } from "./iova.js";
import { freeIovaFast, freeIovaFastAnyOrder, orderBase2 } from "./iova-rcache.js";

/** v4.14: the per-CPU IOVA flush queue exists (init_iova_flush_queue, queue_iova). */
export const CHANGE_IOVA_FLUSH_QUEUE = defineChange({
  id: "iova-flush-queue",
  since: "v4.14",
  commit: "(hash not verified)",
  subject: "iommu/iova: Add flush-queue data structures",
  files: ["drivers/iommu/iova.c", "include/linux/iova.h"],
  effect: "Unmapped IOVAs can be queued per CPU (256 entries, 10 ms timer) and freed only after an IOTLB flush-all.",
  bracket:
    "absent in v4.13.9 (kinmax/linux-4.13.19, drivers/iommu/iova.c: no queue_iova, include/linux/iova.h: no IOVA_FQ_SIZE), present in v4.14.177 (linuxzjs/linux-4.14, drivers/iommu/iova.c:queue_iova, fq_ring_free, fq_flush_timeout)",
});

/** v6.7: dma-iommu can use one large shared queue (shadow_on_flush IOMMUs). */
export const CHANGE_FQ_SINGLE_QUEUE = defineChange({
  id: "iommu-dma-single-fq",
  since: "v6.7",
  commit: "(hash not verified)",
  subject: "iommu/dma: Use a large flush queue and timeout for shadow_on_flush",
  files: ["drivers/iommu/dma-iommu.c"],
  effect: "A domain whose IOMMU shadows on flush uses a single queue of 32768 entries with a 1000 ms timeout instead of per-CPU queues of 256 and 10 ms.",
  bracket:
    "absent in v6.5.0 (sndrzt/linux-6.5, drivers/iommu/dma-iommu.c: IOVA_FQ_SIZE only), present in v6.8.0 (vivo50kff/linux-6.8, drivers/iommu/dma-iommu.c:iommu_dma_init_options, IOVA_SINGLE_FQ_SIZE); model v6.7 (the series is in mainline from v6.7 per /work/shared/reference/history-and-costs.md row 14, inferred)",
});

/** IOVA_FQ_SIZE / IOVA_DEFAULT_FQ_SIZE: slots of a per-CPU ring. */
export const IOVA_DEFAULT_FQ_SIZE = 256;
/** IOVA_FQ_TIMEOUT / IOVA_DEFAULT_FQ_TIMEOUT, ms. */
export const IOVA_DEFAULT_FQ_TIMEOUT = 10;
/** IOVA_SINGLE_FQ_SIZE (v6.7+): slots of the single ring. */
export const IOVA_SINGLE_FQ_SIZE = 32768;
/** IOVA_SINGLE_FQ_TIMEOUT (v6.7+), ms. */
export const IOVA_SINGLE_FQ_TIMEOUT = 1000;

/** One queued unmap (struct iova_fq_entry without the freelist). */
export interface IovaFqEntry {
  readonly pfn: number;
  readonly pages: number;
  /** fq_flush_start_cnt when queued: freed once fq_flush_finish_cnt exceeds it. */
  readonly counter: number;
  /** True when `pages` has another order than the allocated range (a driver unmapped another size than it mapped). */
  readonly otherOrder?: boolean;
}

/** Options of {@link initFlushQueue}. */
export interface FlushQueueOptions {
  /** "strict": invalidate on every unmap; "lazy": the flush queue. */
  readonly mode: "strict" | "lazy";
  /** Lazy only: "percpu" (default) or "single" (v6.7+, shadow_on_flush IOMMUs). */
  readonly queue?: "percpu" | "single";
  /** Kernel HZ: 100, 250 (the Kconfig default), 300 or 1000. */
  readonly hz?: number;
  /** The IOTLB the invalidations go to (optional: without it they are only counted). */
  readonly iotlb?: Iotlb;
}

/** Counters of a flush domain. */
export interface FlushQueueStats {
  /** Unmaps handled ({@link iommuDmaUnmapIova} calls). */
  unmaps: number;
  /** Strict: range invalidations (iommu_iotlb_sync), one per unmap. */
  rangeInvalidations: number;
  /** Lazy: flush-all commands, by cause. */
  flushesFull: number;
  flushesTimer: number;
  /** IOVAs given back through free_iova_fast (strict at once; lazy after a flush). */
  iovasFreed: number;
  /** Largest number of entries queued at once, all rings. */
  maxPending: number;
}

/**
 * The unmap side of one IOMMU DMA domain: its IOVA domain (with rcaches),
 * the mode, the rings and the timer. Build with {@link initFlushQueue}.
 */
export class FlushQueueDomain {
  readonly iovad: IovaDomain;
  readonly mode: "strict" | "lazy";
  readonly queue: "percpu" | "single";
  /** Slots per ring (fq_size). */
  readonly fqSize: number;
  /** Timer delay, ms (fq_timeout). */
  readonly fqTimeoutMs: number;
  readonly hz: number;
  readonly iotlb: Iotlb | null;
  /** Rings: one per CPU, or one ("single"). Oldest entry first. */
  readonly rings: IovaFqEntry[][];
  flushStartCnt = 0;
  flushFinishCnt = 0;
  /** fq_timer_on, and the timer's expiry in ns when on. */
  timerOn = false;
  timerExpiresNs = 0;
  /** The CPU that armed the timer: the timer runs there (mod_timer queues on the current CPU). */
  timerCpu = 0;
  /** @internal pfns queued now (misuse checks). */
  readonly _queued = new Set<number>();
  /** The latest time seen, ns. */
  nowNs = 0;
  readonly stats: FlushQueueStats = { unmaps: 0, rangeInvalidations: 0, flushesFull: 0, flushesTimer: 0, iovasFreed: 0, maxPending: 0 };
  /** @internal */
  constructor(iovad: IovaDomain, mode: "strict" | "lazy", queue: "percpu" | "single", hz: number, iotlb: Iotlb | null) {
    this.iovad = iovad;
    this.mode = mode;
    this.queue = queue;
    this.hz = hz;
    this.iotlb = iotlb;
    this.fqSize = queue === "single" ? IOVA_SINGLE_FQ_SIZE : IOVA_DEFAULT_FQ_SIZE;
    this.fqTimeoutMs = queue === "single" ? IOVA_SINGLE_FQ_TIMEOUT : IOVA_DEFAULT_FQ_TIMEOUT;
    const n = mode === "strict" ? 0 : queue === "single" ? 1 : iovad.rcaches!.cpus;
    this.rings = [];
    for (let i = 0; i < n; i++) this.rings.push([]);
  }
  /** Entries queued now, all rings. */
  get pending(): number {
    let n = 0;
    for (const r of this.rings) n += r.length;
    return n;
  }
}

/**
 * Set up the unmap path of a domain: strict, or lazy with the release's
 * flush queue (iommu_dma_init_fq() from v5.17, init_iova_flush_queue() in
 * v4.14 .. v5.16). The CPUs are the rcaches' CPUs.
 * @throws ModelConfigError for a domain without rcaches, lazy mode before
 *   v4.14, "single" before v6.7, an unknown mode/queue, or a bad hz.
 * Source: drivers/iommu/dma-iommu.c iommu_dma_init_fq(), iommu_dma_init_options() (v6.19);
 * drivers/iommu/iova.c init_iova_flush_queue() (v5.4.6).
 */
export function initFlushQueue(iovad: IovaDomain, options: FlushQueueOptions): FlushQueueDomain {
  if (!(iovad instanceof IovaDomain) || iovad.isPut || !iovad.rcaches) {
    throw new ModelConfigError("initFlushQueue(iovad)", iovad, "a live IovaDomain with rcaches (iovaDomainInitRcaches)");
  }
  if (typeof options !== "object" || options === null) throw new ModelConfigError("initFlushQueue(options)", options, "{ mode, queue?, hz?, iotlb? }");
  const mode = options.mode;
  if (mode !== "strict" && mode !== "lazy") throw new ModelConfigError("initFlushQueue(options.mode)", mode, '"strict" or "lazy"');
  const queue = options.queue ?? "percpu";
  if (queue !== "percpu" && queue !== "single") throw new ModelConfigError("initFlushQueue(options.queue)", queue, '"percpu" or "single"');
  const hz = options.hz ?? 250;
  if (hz !== 100 && hz !== 250 && hz !== 300 && hz !== 1000) throw new ModelConfigError("initFlushQueue(options.hz)", hz, "100, 250, 300 or 1000");
  if (mode === "lazy" && !atLeast(iovad.kernel, CHANGE_IOVA_FLUSH_QUEUE)) {
    throw new ModelConfigError("initFlushQueue(options.mode)", "lazy", `"strict" for ${iovad.kernel}: the flush queue came with v4.14`);
  }
  if (mode === "lazy" && queue === "single" && !atLeast(iovad.kernel, CHANGE_FQ_SINGLE_QUEUE)) {
    throw new ModelConfigError("initFlushQueue(options.queue)", "single", `"percpu" for ${iovad.kernel}: the single queue came with v6.7`);
  }
  return new FlushQueueDomain(iovad, mode, queue, hz, options.iotlb ?? null);
}

function advance(fqd: FlushQueueDomain, fn: string, nowNs: number): void {
  if (!(Number.isSafeInteger(nowNs) && nowNs >= fqd.nowNs)) {
    checkInt(`${fn}(nowNs)`, nowNs, fqd.nowNs);
  }
  fqd.nowNs = nowNs;
  if (fqd.timerOn && nowNs >= fqd.timerExpiresNs) fqFlushTimeout(fqd);
}

/** fq_flush_iotlb() / iova_domain_flush(): one flush-all between the two counters. */
function flushIotlb(fqd: FlushQueueDomain): void {
  fqd.flushStartCnt++;
  if (fqd.iotlb) iotlbInvalidateAll(fqd.iotlb);
  fqd.flushFinishCnt++;
}

/** fq_ring_free(): free, oldest first, the entries a finished flush covers, into CPU `cpu`'s rcache (the CPU running it). */
function ringFree(fqd: FlushQueueDomain, ring: IovaFqEntry[], cpu: number): void {
  let k = 0;
  while (k < ring.length && ring[k]!.counter < fqd.flushFinishCnt) {
    const e = ring[k]!;
    fqd._queued.delete(e.pfn);
    // free_iova_fast(pfn, pages) with the size that was queued: filed by its order, whatever the range's.
    if (e.otherOrder) freeIovaFastAnyOrder(fqd.iovad, e.pfn, e.pages, cpu);
    else freeIovaFast(fqd.iovad, e.pfn, e.pages, cpu);
    fqd.stats.iovasFreed++;
    k++;
  }
  if (k) ring.splice(0, k);
}

/**
 * fq_flush_timeout(): the timer fired: disarm it, flush the IOTLB, then
 * free the covered entries of every ring (CPU 0 upwards). {@link fqTick}
 * and every call taking a time run it when the expiry has passed; calling it
 * directly fires the timer now whether armed or not (as a test hook).
 * Entries are freed through free_iova_fast into the rcache of the CPU the
 * timer runs on: the CPU that armed it (mod_timer queues a timer on the
 * current CPU; timer migration is not modelled).
 * Source: drivers/iommu/dma-iommu.c fq_flush_timeout() (v6.19); drivers/iommu/iova.c (v5.4.6).
 */
export function fqFlushTimeout(fqd: FlushQueueDomain): void {
  if (fqd.mode !== "lazy") throw new ModelConfigError("fqFlushTimeout(fqd.mode)", fqd.mode, '"lazy"');
  fqd.timerOn = false;
  flushIotlb(fqd);
  fqd.stats.flushesTimer++;
  for (const ring of fqd.rings) ringFree(fqd, ring, fqd.timerCpu);
}

/**
 * Let simulated time reach `nowNs`: if the flush timer is armed and its
 * expiry is at or before `nowNs`, it fires ({@link fqFlushTimeout}).
 * @returns true if the timer fired.
 * @throws ModelConfigError if time goes backwards or is not an integer.
 */
export function fqTick(fqd: FlushQueueDomain, nowNs: number): boolean {
  const before = fqd.stats.flushesTimer;
  advance(fqd, "fqTick", nowNs);
  return fqd.stats.flushesTimer !== before;
}

/** msecs_to_jiffies(m) for this domain's HZ: ceil(m * hz / 1000). */
export function msecsToJiffies(ms: number, hz: number): number {
  return Math.ceil((ms * hz) / 1000);
}

/**
 * queue_iova(): queue the unmapped IOVA range (pfn, pages) on CPU `cpu`'s
 * ring (the single ring in "single" mode) at time `nowNs` (see the header
 * for the rule). The range stays allocated until a flush covers it.
 * `pages` may have another order than the allocated range (a driver that
 * unmaps another size than it mapped): queue_iova does not look, and the
 * flush's free_iova_fast files the pfn by order_base_2(pages) while the range
 * stays allocated at its own length (iova-rcache.ts freeIovaFastAnyOrder),
 * as the strict path does.
 * @throws ModelConfigError for a strict domain, a bad CPU, pages or time, a pfn
 *   that does not start an allocated range or is already cached or queued.
 * Source: drivers/iommu/dma-iommu.c queue_iova(), fq_ring_free_locked() (v6.19);
 * drivers/iommu/iova.c queue_iova(), fq_ring_free() (v5.4.6).
 */
export function queueIova(fqd: FlushQueueDomain, pfn: number, pages: number, cpu: number, nowNs: number): void {
  if (fqd.mode !== "lazy") throw new ModelConfigError("queueIova(fqd.mode)", fqd.mode, '"lazy"');
  const cpus = fqd.iovad.rcaches!.cpus;
  checkInt("queueIova(cpu)", cpu, 0, cpus - 1);
  // queue_iova checks nothing; the model refuses what would corrupt its own state (the order is not checked:
  // a size of another order is queued as given and filed by that order when the flush frees it, as the kernel does).
  if (!(Number.isSafeInteger(pages) && pages >= 1)) checkInt("queueIova(size)", pages, 1);
  if (!Number.isSafeInteger(pfn) || pfn < 0) checkInt("queueIova(pfn)", pfn);
  const r = findIova(fqd.iovad, pfn);
  if (!r || r.pfnLo !== pfn) throw new ModelConfigError("queueIova(pfn)", pfn, "the first pfn of an allocated range");
  if (fqd.iovad.rcaches!._cached.has(pfn)) throw new ModelConfigError("queueIova(pfn)", pfn, "a pfn not already in an rcache (this is a double free)");
  const otherOrder = orderBase2(pages) !== orderBase2(r.pfnHi - r.pfnLo + 1);
  if (fqd._queued.has(pfn)) throw new ModelConfigError("queueIova(pfn)", pfn, "a pfn not already queued (this is a double unmap)");
  advance(fqd, "queueIova", nowNs);
  const ring = fqd.rings[fqd.queue === "single" ? 0 : cpu]!;
  ringFree(fqd, ring, cpu);
  if (ring.length === fqd.fqSize - 1) {
    flushIotlb(fqd);
    fqd.stats.flushesFull++;
    ringFree(fqd, ring, cpu);
  }
  ring.push(otherOrder ? { pfn, pages, counter: fqd.flushStartCnt, otherOrder } : { pfn, pages, counter: fqd.flushStartCnt });
  fqd._queued.add(pfn);
  const p = fqd.pending;
  if (p > fqd.stats.maxPending) fqd.stats.maxPending = p;
  if (!fqd.timerOn) {
    fqd.timerOn = true;
    fqd.timerCpu = cpu;
    const tick = 1e9 / fqd.hz;
    const jiffies = Math.floor(nowNs / tick);
    fqd.timerExpiresNs = Math.round((jiffies + msecsToJiffies(fqd.fqTimeoutMs, fqd.hz)) * tick);
  }
}

/**
 * The IOTLB and IOVA part of __iommu_dma_unmap() + iommu_dma_free_iova() for
 * an unmapped range of `pages` IOVA pfns at `pfn`, on CPU `cpu` at `nowNs`:
 * strict: invalidate the range (iommu_iotlb_sync) and free_iova_fast at once;
 * lazy: {@link queueIova}. The PTEs themselves are the caller's (io-pgtable).
 * @param pages the size the caller unmaps, IOVA pfns (the kernel passes
 *   size >> shift, not the rounded allocation: free_iova_fast files it by order).
 * @throws ModelConfigError for bad input (see queueIova and freeIovaFast).
 * Source: drivers/iommu/dma-iommu.c __iommu_dma_unmap(), iommu_dma_free_iova() (v5.4.6, v6.19).
 */
export function iommuDmaUnmapIova(fqd: FlushQueueDomain, pfn: number, pages: number, cpu: number, nowNs: number): void {
  if (fqd.mode === "lazy") {
    queueIova(fqd, pfn, pages, cpu, nowNs);
  } else {
    if (!(Number.isSafeInteger(nowNs) && nowNs >= fqd.nowNs)) checkInt("iommuDmaUnmapIova(nowNs)", nowNs, fqd.nowNs);
    // freeIovaFast checks its input before any change; the kernel syncs first, then frees: same end state.
    freeIovaFast(fqd.iovad, pfn, pages, cpu);
    advance(fqd, "iommuDmaUnmapIova", nowNs);
    if (fqd.iotlb) iotlbInvalidateRange(fqd.iotlb, pfn * fqd.iovad.granule, pages * fqd.iovad.granule);
    fqd.stats.rangeInvalidations++;
    fqd.stats.iovasFreed++;
  }
  fqd.stats.unmaps++;
}

/** A copy of the counters. */
export function flushQueueStats(fqd: FlushQueueDomain): FlushQueueStats {
  return { ...fqd.stats };
}
