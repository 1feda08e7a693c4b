/**
 * Random map/unmap sequences with misuse mixed in: unmaps with the wrong
 * size, double unmaps, unmaps of handles nobody mapped, invalid and
 * mismatched directions. Whatever the driver does, the model must either
 * reject the call (ModelConfigError, nothing changed) or do what the kernel
 * does (dma-debug reports it), and the bookkeeping must stay consistent:
 * - swiotlb (kernel/dma/swiotlb.c, v5.4.6 / v6.19): used = slots whose free
 *   counter is 0 = sum of nr_slots(size) over live bounced mappings; each
 *   free slot's counter = 1 + the next slot's counter when that one is free
 *   and in the same IO_TLB_SEGSIZE segment, else 1;
 * - iommu-dma (drivers/iommu/dma-iommu.c, v6.19): IOVA ranges do not overlap,
 *   there is one range per live mapping and it covers it, and the page table
 *   maps exactly the granule-aligned spans of the live mappings;
 * - after unmapping what is left (with the sizes and directions it was
 *   mapped with), everything is empty.
 * - iommu-dma in lazy mode (iommu.strict=0; drivers/iommu/dma-iommu.c v6.19
 *   __iommu_dma_unmap clears the PTEs, then queue_iova puts the IOVA on the
 *   CPU's flush queue; fq_flush_timeout, IOVA_DEFAULT_FQ_TIMEOUT = 10 ms,
 *   flushes and free_iova_fast's them into the rcaches), with simulated time
 *   passing between calls (machineAdvanceTime): IOVA ranges do not overlap;
 *   the ranges allocated in the rbtree (the boot reservations aside) are
 *   exactly the live mappings' + the flush-queue entries' + the rcache
 *   contents', each once; the ranges in use (iovaRangesInUse) are the live
 *   mappings' and the queued ones; the page table maps only the live spans;
 *   after unmapping what is left and a final advance past the timeout, the
 *   queue is empty and no range is in use.
 */
import { iovaRangesInUse, iovaRcacheContents } from "../../lib/iommu/iova-rcache.js";
import { machineAdvanceTime } from "../../lib/platform/machine.js";
import { IOVA_DEFAULT_FQ_TIMEOUT } from "../../lib/iommu/flush-queue.js";
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { createMachine, type Machine } from "../../lib/platform/machine.js";
import type { Device } from "../../lib/platform/device.js";
import { dmaMapPage, dmaUnmapPage } from "../../lib/dma/mapping.js";
import { activeMappings } from "../../lib/dma/state.js";
import { enableDmaDebug } from "../../lib/dma/debug.js";
import { IO_TLB_SEGSIZE, swiotlbOf, swiotlbUsed, type IoTlbMem } from "../../lib/dma/swiotlb.js";
import { iommuActiveMappings } from "../../lib/iommu/dma-iommu.js";
import { iovaRanges } from "../../lib/iommu/iova.js";
import { ModelConfigError } from "../../lib/core/errors.js";
import { dmaMappingError, type DmaAddr } from "../../lib/core/addr.js";
import * as L from "../../lib/index.js";
import { snapshot } from "./snapshot.js";

const IO_TLB_SIZE = 2048;

type Op =
  | { k: "map"; buf: number; off: number; size: number; dir: 0 | 1 | 2 }
  | { k: "unmap"; pick: number }
  | { k: "wrongSize"; pick: number; size: number }
  | { k: "double"; pick: number }
  | { k: "unknown"; addr: number }
  | { k: "badDir"; pick: number; dir: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant("map" as const), buf: fc.nat(15), off: fc.nat(4095), size: fc.integer({ min: 1, max: 20000 }), dir: fc.constantFrom(0 as const, 1 as const, 2 as const) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("unmap" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("wrongSize" as const), pick: fc.nat(), size: fc.integer({ min: 1, max: 40000 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("double" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("unknown" as const), addr: fc.nat(2 ** 31) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("badDir" as const), pick: fc.nat(), dir: fc.constantFrom(3, 4, -1, 0, 1, 2) }) },
);

interface Live { h: DmaAddr; size: number; dir: number }

/** Outcomes per op kind, to check the misuse really ran (accepted as the kernel does, or rejected). */
const outcomes: Record<string, { accepted: number; rejected: number }> = {};
const note = (k: string, rejected: boolean) => {
  const o = (outcomes[k] ??= { accepted: 0, rejected: 0 });
  if (rejected) o.rejected++;
  else o.accepted++;
};

/** Run one op; returns whether it was rejected. A rejection must be a ModelConfigError that changed nothing. */
function step(dev: Device, op: Op, live: Live[], dead: Live[], base: number, state: () => string, skipUnknown: (a: number) => boolean = () => false, opts: { cpu?: number } = {}): void {
  const before = state();
  const pick = (n: number) => live[n % live.length]!;
  try {
    switch (op.k) {
      case "map": {
        const h = dmaMapPage(dev, base + op.buf * 8, op.off, op.size, op.dir, opts);
        if (!dmaMappingError(h)) live.push({ h, size: op.size, dir: op.dir });
        return;
      }
      case "unmap": {
        if (!live.length) return;
        const l = pick(op.pick);
        dmaUnmapPage(dev, l.h, l.size, l.dir, opts);
        break;
      }
      case "wrongSize": {
        if (!live.length) return;
        const l = pick(op.pick);
        dmaUnmapPage(dev, l.h, op.size === l.size ? l.size + 1 : op.size, l.dir, opts);
        break;
      }
      case "double": {
        if (!dead.length) return;
        const l = dead[op.pick % dead.length]!;
        // iommu-dma v4.12+: the freed IOVA may have been handed out again (rcache magazine); unmapping it then
        // tears down another live mapping (a use-after-free, not a double unmap): not this misuse kind.
        if (live.some((x) => Math.floor(x.h / 4096) === Math.floor(l.h / 4096))) return;
        dmaUnmapPage(dev, l.h, l.size, l.dir, opts);
        note(op.k, false);
        return;
      }
      case "unknown":
        // an address inside a live bounce mapping is the leak test/dma/swiotlb-release.test.ts pins (the kernel frees its tail, the head stays in use): not an "unknown" handle
        if (skipUnknown(op.addr)) return;
        dmaUnmapPage(dev, op.addr as DmaAddr, 4096, 1, opts);
        note(op.k, false);
        return;
      case "badDir": {
        if (!live.length) return;
        const l = pick(op.pick);
        dmaUnmapPage(dev, l.h, l.size, op.dir, opts);
        break;
      }
    }
    note(op.k, false);
  } catch (e) {
    note(op.k, true);
    expect(e, `${JSON.stringify(op)}: ${String(e)}`).toBeInstanceOf(ModelConfigError);
    expect(state(), `${JSON.stringify(op)} was rejected but changed the model`).toBe(before);
    return;
  } finally {
    for (let i = live.length - 1; i >= 0; i--) {
      if (!stillLive(dev, live[i]!.h)) dead.push(...live.splice(i, 1));
    }
  }
}

function stillLive(dev: Device, h: number): boolean {
  const host = dev.cacheHost as unknown as Machine;
  return dev.iommuDomain ? iommuActiveMappings(dev).some((x) => x.dmaAddr === h) : activeMappings(host).some((x) => x.dev === dev && x.dmaAddr === h);
}

function checkSwiotlb(m: Machine, mem: IoTlbMem): void {
  const pool = mem.defpool;
  let inUse = 0;
  for (let i = 0; i < pool.nslabs; i++) {
    if (pool.list[i] === 0) { inUse++; continue; }
    const nextFree = (i + 1) % IO_TLB_SEGSIZE !== 0 && i + 1 < pool.nslabs && pool.list[i + 1] !== 0;
    expect(pool.list[i], `free counter of slot ${i}`).toBe(1 + (nextFree ? pool.list[i + 1]! : 0));
  }
  expect(swiotlbUsed(mem)).toBe(inUse);
  const want = activeMappings(m).filter((a) => a.bounced).reduce((n, a) => n + Math.ceil(a.size / IO_TLB_SIZE), 0);
  expect(inUse, "slots in use = slots of the live bounced mappings").toBe(want);
}

function checkIommu(dev: Device): void {
  const d = dev.iommuDomain!;
  const iovad = d.iovad!;
  const g = iovad.granule;
  const ranges = iovaRanges(iovad).slice().sort((a, b) => a.pfnLo - b.pfnLo);
  for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.pfnLo, "IOVA ranges overlap").toBeGreaterThan(ranges[i - 1]!.pfnHi);
  const maps = iommuActiveMappings(dev);
  // v4.12+: a freed range may stay allocated in the rbtree, parked in an rcache magazine (free_iova_fast): not in use.
  expect(iovaRangesInUse(iovad).length, "one IOVA range per live mapping").toBe(maps.length);
  let bytes = 0;
  for (const x of maps) {
    const lo = Math.floor(x.dmaAddr / g);
    const hi = Math.ceil((x.dmaAddr + x.size) / g) - 1;
    expect(ranges.some((r) => r.pfnLo <= lo && hi <= r.pfnHi), `mapping ${x.dmaAddr} covered by an IOVA range`).toBe(true);
    bytes += (hi - lo + 1) * g;
  }
  expect(d.pgtable.mappedBytes, "page table maps exactly the live spans").toBe(bytes);
}

/**
 * The lazy-mode bookkeeping (see the module comment). `boot`: pfnLo of the
 * ranges reserved before the first map (MSI window, PCI holes), not the sequence's.
 */
function checkIommuLazy(dev: Device, boot: Set<number>): void {
  const d = dev.iommuDomain!;
  const iovad = d.iovad!;
  const g = iovad.granule;
  const fq = d.fq!;
  const ranges = iovaRanges(iovad).slice().sort((a, b) => a.pfnLo - b.pfnLo);
  for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.pfnLo, "IOVA ranges overlap").toBeGreaterThan(ranges[i - 1]!.pfnHi);
  const maps = iommuActiveMappings(dev);
  const livePfns = maps.map((x) => Math.floor(x.dmaAddr / g));
  const queued = fq.rings.flat().map((e) => e.pfn);
  const cached = iovaRcacheContents(iovad).map((c) => c.pfn);
  const owners = [...livePfns, ...queued, ...cached].sort((a, b) => a - b);
  const allocated = ranges.filter((r) => !boot.has(r.pfnLo)).map((r) => r.pfnLo);
  expect(owners, "rbtree ranges = live mappings + flush-queue entries + rcache contents, each once").toEqual(allocated);
  const inUse = iovaRangesInUse(iovad).filter((r) => !boot.has(r.pfnLo)).map((r) => r.pfnLo).sort((a, b) => a - b);
  expect(inUse, "ranges in use = live mappings + flush-queue entries").toEqual([...livePfns, ...queued].sort((a, b) => a - b));
  expect(fq.pending, "flush-queue entries").toBe(queued.length);
  let bytes = 0;
  for (const x of maps) bytes += (Math.ceil((x.dmaAddr + x.size) / g) - Math.floor(x.dmaAddr / g)) * g;
  expect(d.pgtable.mappedBytes, "page table maps exactly the live spans (queued IOVAs are already unmapped)").toBe(bytes);
}

/**
 * Idle time that surely takes the fq timer past its expiry: queue_iova arms it with
 * mod_timer(jiffies + msecs_to_jiffies(IOVA_DEFAULT_FQ_TIMEOUT)) (drivers/iommu/dma-iommu.c v6.19),
 * msecs_to_jiffies rounding up: at HZ = 250 (4 ms jiffies) ceil(10 / 4) = 3 jiffies from the queuing
 * jiffy, so (3 + 1) jiffies = 16 ms of idle time from any point fire it.
 */
const PAST_FQ_TIMER_NS = (Math.ceil(IOVA_DEFAULT_FQ_TIMEOUT / 4) + 1) * 4_000_000;

type LazyOp = (Op & { cpu: number }) | { k: "advance"; ns: number };
// map/unmap/misuse on one of the 4 CPUs (its flush-queue ring and rcache magazines);
// idle times: 2 us (the queue keeps growing), 3 ms (may or may not reach the expiry), past the timer (a flush-all frees the queue)
const lazyOpArb: fc.Arbitrary<LazyOp> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(opArb, fc.nat(3)).map(([op, cpu]) => ({ ...op, cpu })) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("advance" as const), ns: fc.constantFrom(2000, 3_000_000, PAST_FQ_TIMER_NS) }) },
);

describe("misuse sequences keep the bookkeeping consistent", () => {
  afterAll(() => {
    // every misuse kind ran; invalid directions and double unmaps of freed bounce slots are rejected
    for (const k of ["wrongSize", "double", "unknown", "badDir"]) expect((outcomes[k]?.accepted ?? 0) + (outcomes[k]?.rejected ?? 0), k).toBeGreaterThan(0);
    expect(outcomes["badDir"]!.rejected).toBeGreaterThan(0);
    expect(outcomes["double"]!.rejected).toBeGreaterThan(0);
    console.log(`misuse sequences: ${JSON.stringify(outcomes)}`);
  });
  for (const kernel of ["v5.4", "v6.19"]) {
    it(`dma-direct + swiotlb (${kernel})`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 5, maxLength: 30 }), (ops) => {
          const m = createMachine("x86-64-pc", { kernel, swiotlb: { force: true, size: 2 ** 20 } });
          enableDmaDebug(m);
          const dev = m.device("0000:00:1a.0");
          const mem = swiotlbOf(m)!;
          const state = () => JSON.stringify([Array.from(mem.defpool.list), swiotlbUsed(mem), activeMappings(m).map((a) => [a.dmaAddr, a.size])]);
          const inPool = (a: number) => a >= mem.defpool.start && a < mem.defpool.end;
          const live: Live[] = [];
          const dead: Live[] = [];
          for (const op of ops) {
            step(dev, op, live, dead, 0x100, state, inPool);
            checkSwiotlb(m, mem);
          }
          for (const a of activeMappings(m)) dmaUnmapPage(dev, a.dmaAddr as DmaAddr, a.size, a.dir);
          expect(activeMappings(m)).toEqual([]);
          expect(swiotlbUsed(mem)).toBe(0);
          checkSwiotlb(m, mem);
        }),
        { seed: 4242, numRuns: 25 },
      );
    });
  }
  it("iommu-dma (v6.19)", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 5, maxLength: 30 }), (ops) => {
        const m = createMachine("mt8173-evb", { kernel: "v6.19" });
        enableDmaDebug(m);
        const dev = m.device("16020000.vcodec");
        const state = () => JSON.stringify([iovaRanges(dev.iommuDomain!.iovad!), dev.iommuDomain!.pgtable.mappedBytes, iommuActiveMappings(dev).map((a) => [a.dmaAddr, a.size])]);
        const live: Live[] = [];
        const dead: Live[] = [];
        for (const op of ops) {
          step(dev, op, live, dead, 0x50000, state);
          checkIommu(dev);
        }
        for (const a of iommuActiveMappings(dev)) dmaUnmapPage(dev, a.dmaAddr as DmaAddr, a.size, a.dir);
        expect(iommuActiveMappings(dev)).toEqual([]);
        expect(iovaRangesInUse(dev.iommuDomain!.iovad!)).toEqual([]);
        expect(dev.iommuDomain!.pgtable.mappedBytes).toBe(0);
      }),
      { seed: 4242, numRuns: 25 },
    );
  });
  const lazy = { advances: 0, timerFlushes: 0, queuedMax: 0, cachedMax: 0 };
  for (const [platform, name, base] of [["arm64-server", "0000:02:00.0", 0x80000], ["x86-64-pc-8g-vtd", "0000:03:00.0", 0x100]] as const) {
    it(`iommu-dma lazy mode, flush queue and time (${platform}, v6.19)`, () => {
      fc.assert(
        fc.property(fc.array(lazyOpArb, { minLength: 5, maxLength: 40 }), (ops) => {
          const m = createMachine(platform, { kernel: "v6.19", iommu: { strict: false } });
          enableDmaDebug(m);
          const dev = m.device(name);
          const d = dev.iommuDomain!;
          expect(L.iommuDomainStrict(d)).toBe(false);
          expect(m.cpus).toBe(4);
          const boot = new Set(iovaRanges(d.iovad!).map((r) => r.pfnLo));
          const state = () => JSON.stringify([iovaRanges(d.iovad!), d.pgtable.mappedBytes, iommuActiveMappings(dev).map((a) => [a.dmaAddr, a.size]), d.fq!.rings, iovaRcacheContents(d.iovad!)]);
          const live: Live[] = [];
          const dead: Live[] = [];
          for (const op of ops) {
            if (op.k === "advance") {
              machineAdvanceTime(m, op.ns);
              lazy.advances++;
            } else step(dev, op, live, dead, base, state, undefined, { cpu: op.cpu });
            lazy.queuedMax = Math.max(lazy.queuedMax, d.fq!.pending);
            lazy.cachedMax = Math.max(lazy.cachedMax, iovaRcacheContents(d.iovad!).length);
            checkIommuLazy(dev, boot);
          }
          for (const a of iommuActiveMappings(dev)) dmaUnmapPage(dev, a.dmaAddr as DmaAddr, a.size, a.dir);
          checkIommuLazy(dev, boot);
          expect(d.fq!.hz, "PAST_FQ_TIMER_NS assumes HZ = 250").toBe(250);
          machineAdvanceTime(m, PAST_FQ_TIMER_NS);
          lazy.timerFlushes += L.iommuDomainCounters(d).fqFlushes;
          checkIommuLazy(dev, boot);
          expect(iommuActiveMappings(dev)).toEqual([]);
          expect(d.fq!.pending).toBe(0);
          expect(iovaRangesInUse(d.iovad!).filter((r) => !boot.has(r.pfnLo))).toEqual([]);
          expect(d.pgtable.mappedBytes).toBe(0);
        }),
        { seed: 4243, numRuns: 25 },
      );
      // the sequences really queued IOVAs and let the timer flush them
      expect(lazy.advances).toBeGreaterThan(0);
      expect(lazy.queuedMax).toBeGreaterThan(0);
      expect(lazy.timerFlushes).toBeGreaterThan(0);
      expect(lazy.cachedMax).toBeGreaterThan(0);
    });
  }
});

/**
 * genalloc and CMA with misuse mixed in. Kernel rules (lib/genalloc.c
 * gen_pool_free_owner, v5.4.6 / v6.19): freeing granules that are not
 * allocated, or an address in no chunk, BUG()s (the model: KernelOops with
 * the pool unchanged). mm/cma.c cma_release (v6.19): a range outside the
 * area returns false with nothing changed; pages of the area that are not
 * allocated end in free_contig_range's "Bad page state" (the model:
 * KernelOops, area unchanged). Invariants after every op:
 * - genalloc: avail = chunk size - granule * (bits set), bits set = sum of
 *   DIV_ROUND_UP(size, granule) over live allocations, live ranges disjoint;
 * - CMA: allocatedPages = sum of live counts = (bits set) * 2^order_per_bit
 *   (order_per_bit 0 here), live ranges disjoint;
 * and after freeing what is left, both are empty.
 */
describe("misuse sequences: genalloc and CMA", () => {
  const G = 4096;
  const POOL = 0xf0000000;
  const POOL_SIZE = 64 * G;
  type PoolOp = { k: "alloc"; size: number } | { k: "free"; pick: number } | { k: "double"; pick: number } | { k: "stray"; addr: number };
  const poolOp: fc.Arbitrary<PoolOp> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ k: fc.constant("alloc" as const), size: fc.integer({ min: 1, max: 6 * G }) }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant("free" as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("double" as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("stray" as const), addr: fc.integer({ min: POOL - 8 * G, max: POOL + POOL_SIZE + 8 * G }) }) },
  );

  it("gen_pool alloc / free / double free / free of a stray address", () => {
    const seen = { oops: 0, freed: 0 };
    fc.assert(
      fc.property(fc.array(poolOp, { minLength: 5, maxLength: 40 }), (ops) => {
        const p = L.genPoolCreate(12);
        L.genPoolSetAlgo(p, "gen_pool_first_fit_order_align");
        L.genPoolAdd(p, POOL, POOL_SIZE);
        const live: { a: number; size: number }[] = [];
        const dead: { a: number; size: number }[] = [];
        const granules = (n: number) => Math.ceil(n / G);
        const check = () => {
          const set = p.chunks[0]!.bits.reduce((s, b) => s + b, 0);
          expect(set).toBe(live.reduce((s, x) => s + granules(x.size), 0));
          expect(L.genPoolAvail(p)).toBe(POOL_SIZE - set * G);
          const spans = live.map((x) => [x.a, x.a + granules(x.size) * G] as const).sort((x, y) => x[0] - y[0]);
          for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
        };
        const mustOops = (f: () => void) => {
          const before = snapshot(p);
          expect(f).toThrow(L.KernelOops);
          expect(snapshot(p)).toBe(before);
          seen.oops++;
        };
        for (const op of ops) {
          if (op.k === "alloc") {
            const a = L.genPoolAlloc(p, op.size);
            if (a !== 0) live.push({ a, size: op.size });
          } else if (op.k === "free" && live.length) {
            const x = live.splice(op.pick % live.length, 1)[0]!;
            L.genPoolFree(p, x.a, x.size);
            dead.push(x);
            seen.freed++;
          } else if (op.k === "double" && dead.length) {
            const x = dead[op.pick % dead.length]!;
            // still free unless a later allocation reused a granule of it
            const reused = live.some((l) => l.a < x.a + granules(x.size) * G && x.a < l.a + granules(l.size) * G);
            if (!reused) mustOops(() => L.genPoolFree(p, x.a, x.size));
          } else if (op.k === "stray") {
            const inPool = op.addr >= POOL && op.addr < POOL + POOL_SIZE;
            const allocated = inPool && p.chunks[0]!.bits[Math.floor((op.addr - POOL) / G)] === 1;
            if (!allocated) mustOops(() => L.genPoolFree(p, op.addr, G));
          }
          check();
        }
        for (const x of live.splice(0)) L.genPoolFree(p, x.a, x.size);
        check();
        expect(L.genPoolAvail(p)).toBe(POOL_SIZE);
      }),
      { seed: 777, numRuns: 40 },
    );
    expect(seen.oops).toBeGreaterThan(0);
    expect(seen.freed).toBeGreaterThan(0);
  });

  type CmaOp = { k: "alloc"; count: number; align: number } | { k: "release"; pick: number } | { k: "unallocated"; off: number; count: number } | { k: "outside"; pfn: number };
  const cmaOp: fc.Arbitrary<CmaOp> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ k: fc.constant("alloc" as const), count: fc.integer({ min: 1, max: 64 }), align: fc.nat(4) }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant("release" as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("unallocated" as const), off: fc.nat(1023), count: fc.integer({ min: 1, max: 16 }) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("outside" as const), pfn: fc.nat(0x1000) }) },
  );

  it("cma alloc / release / release of pages not allocated / release outside the area (v6.19)", () => {
    const seen = { oops: 0, outside: 0 };
    fc.assert(
      fc.property(fc.array(cmaOp, { minLength: 5, maxLength: 40 }), (ops) => {
        // 4 MiB at 0x2c000000: pfns 0x2c000..0x2c3ff, one bit per page
        const c = L.cmaInitReservedMem({ kernel: "v6.19", base: 0x2c000000, size: 4 * 2 ** 20 }).cma!;
        const live: { pfn: number; count: number }[] = [];
        const check = () => {
          const set = c.bitmap.reduce((s, b) => s + b, 0);
          expect(c.allocatedPages).toBe(live.reduce((s, x) => s + x.count, 0));
          expect(set).toBe(c.allocatedPages);
          const spans = live.map((x) => [x.pfn, x.pfn + x.count] as const).sort((x, y) => x[0] - y[0]);
          for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
        };
        for (const op of ops) {
          if (op.k === "alloc") {
            const r = L.cmaAlloc(c, op.count, op.align);
            if (r.pfn !== null) live.push({ pfn: r.pfn, count: op.count });
          } else if (op.k === "release" && live.length) {
            const x = live.splice(op.pick % live.length, 1)[0]!;
            expect(L.cmaRelease(c, x.pfn, x.count)).toBe(true);
          } else if (op.k === "unallocated") {
            const pfn = c.basePfn + op.off;
            const count = Math.min(op.count, c.basePfn + c.count - pfn);
            if (c.bitmap.subarray(op.off, op.off + count).every((b) => b === 0)) {
              const before = snapshot(c);
              expect(() => L.cmaRelease(c, pfn, count)).toThrow(L.KernelOops);
              expect(snapshot(c)).toBe(before);
              seen.oops++;
            }
          } else if (op.k === "outside") {
            const before = snapshot(c);
            expect(L.cmaRelease(c, op.pfn, 1)).toBe(false);
            expect(snapshot(c)).toBe(before);
            seen.outside++;
          }
          check();
        }
        for (const x of live.splice(0)) L.cmaRelease(c, x.pfn, x.count);
        check();
        expect(L.cmaAvailablePages(c)).toBe(c.count);
      }),
      { seed: 778, numRuns: 40 },
    );
    expect(seen.oops).toBeGreaterThan(0);
    expect(seen.outside).toBeGreaterThan(0);
  });
});
