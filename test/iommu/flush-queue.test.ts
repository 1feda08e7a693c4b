import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { ModelConfigError } from "../../lib/core/errors.js";
import { findIova, initIovaDomain, type IovaDomain } from "../../lib/iommu/iova.js";
import { allocIovaFast, iovaDomainInitRcaches, iovaRcacheContents } from "../../lib/iommu/iova-rcache.js";
import { iotlbAccess, iotlbCreate, iotlbHolds, iotlbStats } from "../../lib/iommu/iotlb.js";
import {
  IOVA_DEFAULT_FQ_SIZE,
  IOVA_SINGLE_FQ_SIZE,
  fqTick,
  initFlushQueue,
  iommuDmaUnmapIova,
  msecsToJiffies,
  queueIova,
} from "../../lib/iommu/flush-queue.js";

// Strict invalidation vs the flush queue (drivers/iommu/dma-iommu.c v6.19,
// drivers/iommu/iova.c v5.4.6). Expected values from the rules in
// lib/iommu/flush-queue.ts's header, computed in the comments.

const G = 4096;
const MS = 1_000_000;

function dom(kernel: string, cpus: number): IovaDomain {
  const d = initIovaDomain(G, 1, { kernel });
  iovaDomainInitRcaches(d, { cpus });
  return d;
}

/** n one-page IOVAs allocated on CPU 0 (0xFFFFF downwards). */
function allocN(d: IovaDomain, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(allocIovaFast(d, 1, 0xfffff, true, 0));
  return out;
}

describe("constants", () => {
  it("256 entries and 10 ms per CPU; 32768 and 1000 ms single; msecs_to_jiffies rounds up", () => {
    expect(IOVA_DEFAULT_FQ_SIZE).toBe(256);
    expect(IOVA_SINGLE_FQ_SIZE).toBe(32768);
    // HZ 250: a jiffy is 4 ms, 10 ms -> ceil(2.5) = 3; HZ 100: 1; HZ 1000: 10; HZ 300: ceil(3) = 3.
    expect([100, 250, 300, 1000].map((hz) => msecsToJiffies(10, hz))).toEqual([1, 3, 3, 10]);
  });
});

describe("strict", () => {
  it("every unmap invalidates its range and frees the IOVA into the rcache at once", () => {
    const d = dom("v6.19", 1);
    const tlb = iotlbCreate({ entries: 64 });
    const f = initFlushQueue(d, { mode: "strict", iotlb: tlb });
    const [a, b] = allocN(d, 2);
    iotlbAccess(tlb, a! * G, G);
    iotlbAccess(tlb, b! * G, G);
    iommuDmaUnmapIova(f, a!, 1, 0, 0);
    expect(iotlbHolds(tlb, a! * G)).toBe(false);
    expect(iotlbHolds(tlb, b! * G)).toBe(true);
    expect(iovaRcacheContents(d).map((c) => c.pfn)).toEqual([a]);
    iommuDmaUnmapIova(f, b!, 1, 0, 5);
    expect(f.stats).toMatchObject({ unmaps: 2, rangeInvalidations: 2, flushesFull: 0, flushesTimer: 0, iovasFreed: 2 });
    expect(iotlbStats(tlb)).toMatchObject({ invalidateRange: 2, invalidateAll: 0, entriesInvalidated: 2 });
  });
});

describe("lazy, per-CPU rings (v6.19 and v5.4 alike)", () => {
  for (const kernel of ["v6.19", "v5.4"]) {
    it(`${kernel}: a ring holds 255 entries; the 256th queue flushes, frees the 255, then queues`, () => {
      const d = dom(kernel, 1);
      const tlb = iotlbCreate({ entries: 512 });
      const f = initFlushQueue(d, { mode: "lazy", iotlb: tlb });
      const pfns = allocN(d, 256);
      for (const p of pfns) iotlbAccess(tlb, p * G, G);
      for (let i = 0; i < 255; i++) iommuDmaUnmapIova(f, pfns[i]!, 1, 0, i);
      // Still queued: allocated in the rbtree, not in any rcache, and the IOTLB still translates them.
      expect(f.pending).toBe(255);
      expect(iovaRcacheContents(d)).toEqual([]);
      expect(findIova(d, pfns[0]!)).not.toBeNull();
      expect(iotlbHolds(tlb, pfns[0]! * G)).toBe(true);
      // (tail + 1) mod 256 == head: full. The next queue flushes (1 flush-all), frees all 255, queues 1.
      iommuDmaUnmapIova(f, pfns[255]!, 1, 0, 255);
      expect(f.stats).toMatchObject({ flushesFull: 1, flushesTimer: 0, iovasFreed: 255, maxPending: 255 });
      expect(f.pending).toBe(1);
      expect(iotlbHolds(tlb, pfns[0]! * G)).toBe(false);
      expect(iotlbStats(tlb)).toMatchObject({ invalidateAll: 1, invalidateRange: 0 });
      expect(iovaRcacheContents(d).length).toBe(255);
    });
  }

  it("the timer: armed by the first queue at jiffies + msecs_to_jiffies(10), fires once, not re-armed until the next queue", () => {
    const d = dom("v6.19", 1);
    const f = initFlushQueue(d, { mode: "lazy", hz: 250 });
    const [a, b] = allocN(d, 2);
    // Queued at 5 ms: jiffies = floor(5 / 4) = 1; expiry jiffy 1 + 3 = 4, i.e. 16 ms.
    iommuDmaUnmapIova(f, a!, 1, 0, 5 * MS);
    expect(f.timerExpiresNs).toBe(16 * MS);
    expect(fqTick(f, 16 * MS - 1)).toBe(false);
    expect(f.pending).toBe(1);
    expect(fqTick(f, 16 * MS)).toBe(true);
    expect(f.pending).toBe(0);
    expect(f.stats).toMatchObject({ flushesTimer: 1, iovasFreed: 1 });
    expect(fqTick(f, 100 * MS)).toBe(false);
    // HZ 100: queued at 103 ms, jiffies 10, expiry jiffy 11 = 110 ms (only 7 ms later).
    const g = initFlushQueue(dom("v6.19", 1), { mode: "lazy", hz: 100 });
    const [c] = allocN(g.iovad, 1);
    queueIova(g, c!, 1, 0, 103 * MS);
    expect(g.timerExpiresNs).toBe(110 * MS);
    // A queue call after the expiry runs the timer first: at 150 ms the armed timer (110 ms) fires,
    // frees c, and the new entry re-arms it: jiffies 15 + 1 = 16, i.e. 160 ms.
    const [e] = allocN(g.iovad, 1);
    queueIova(g, e!, 1, 0, 150 * MS);
    expect(g.stats).toMatchObject({ flushesTimer: 1, iovasFreed: 1 });
    expect(g.pending).toBe(1);
    expect(g.timerExpiresNs).toBe(160 * MS);
    // f's timer is off after firing: the next queue (200 ms, jiffies 50) arms it at jiffy 53 = 212 ms.
    iommuDmaUnmapIova(f, b!, 1, 0, 200 * MS);
    expect(f.stats.flushesTimer).toBe(1);
    expect(f.timerExpiresNs).toBe(212 * MS);
  });

  it("a full ring on one CPU frees only that ring; another CPU's covered entry waits for its next queue", () => {
    const d = dom("v6.19", 2);
    const f = initFlushQueue(d, { mode: "lazy" });
    const pfns = allocN(d, 258);
    // CPU 1 queues one entry (counter 0); CPU 0 fills its ring (255) and queues one more: flush
    // (start 1, finish 1), CPU 0's 255 entries are freed, CPU 1's entry (counter 0 < 1) stays.
    iommuDmaUnmapIova(f, pfns[0]!, 1, 1, 0);
    for (let i = 1; i <= 256; i++) iommuDmaUnmapIova(f, pfns[i]!, 1, 0, 0);
    expect(f.rings.map((r) => r.length)).toEqual([1, 1]);
    expect(f.stats.iovasFreed).toBe(255);
    // CPU 1's next queue frees its covered entry first, into CPU 1's rcache.
    iommuDmaUnmapIova(f, pfns[257]!, 1, 1, 0);
    expect(f.rings.map((r) => r.length)).toEqual([1, 1]);
    expect(iovaRcacheContents(d).filter((c) => c.cpu === 1).map((c) => c.pfn)).toEqual([pfns[0]]);
  });
});

describe("per release", () => {
  it("no flush queue before v4.14; no single queue before v6.7", () => {
    expect(() => initFlushQueue(dom("v4.13", 1), { mode: "lazy" })).toThrow(ModelConfigError);
    expect(initFlushQueue(dom("v4.14", 1), { mode: "lazy" }).fqSize).toBe(256);
    expect(() => initFlushQueue(dom("v6.6", 1), { mode: "lazy", queue: "single" })).toThrow(ModelConfigError);
    const s = initFlushQueue(dom("v6.7", 4), { mode: "lazy", queue: "single" });
    expect([s.fqSize, s.fqTimeoutMs, s.rings.length]).toEqual([32768, 1000, 1]);
  });

  it("single queue: every CPU queues on the one ring; the timer is 1000 ms (250 jiffies at HZ 250)", () => {
    const d = dom("v6.19", 2);
    const f = initFlushQueue(d, { mode: "lazy", queue: "single" });
    const [a, b] = allocN(d, 2);
    queueIova(f, a!, 1, 0, 0);
    queueIova(f, b!, 1, 1, 0);
    expect(f.rings[0]!.length).toBe(2);
    expect(f.timerExpiresNs).toBe(1000 * MS);
  });
});

describe("misuse", () => {
  it("double unmap, a pfn that is not an allocation start, time going backwards", () => {
    const d = dom("v6.19", 1);
    const f = initFlushQueue(d, { mode: "lazy" });
    const [a] = allocN(d, 1);
    queueIova(f, a!, 1, 0, 10);
    expect(() => queueIova(f, a!, 1, 0, 10)).toThrow(ModelConfigError);
    expect(() => queueIova(f, a! + 1, 1, 0, 10)).toThrow(ModelConfigError);
    expect(() => fqTick(f, 5)).toThrow(ModelConfigError);
    expect(f.pending).toBe(1);
  });
});

describe("property: an IOVA is never reusable while the IOTLB may still translate it", () => {
  it("lazy: every IOVA handed out again was flushed after its unmap; accounting rbtree = live + queued + cached", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ op: fc.integer({ min: 0, max: 9 }), cpu: fc.integer({ min: 0, max: 1 }), dt: fc.integer({ min: 0, max: 3 * MS }), pick: fc.nat() }), { maxLength: 600, size: "max" }),
        (ops) => {
          const d = dom("v6.19", 2);
          const tlb = iotlbCreate({ entries: 32 });
          const f = initFlushQueue(d, { mode: "lazy", iotlb: tlb });
          const live: number[] = [];
          let now = 0;
          for (const o of ops) {
            now += o.dt;
            if (o.op < 5) {
              fqTick(f, now);
              const p = allocIovaFast(d, 1, 2047, true, o.cpu);
              if (!p) continue;
              // Reused or new, no translation of p may be held (it was flushed before its IOVA was freed).
              expect(iotlbHolds(tlb, p * G)).toBe(false);
              iotlbAccess(tlb, p * G, G);
              live.push(p);
            } else if (o.op < 9) {
              if (!live.length) continue;
              const i = o.pick % live.length;
              const p = live[i]!;
              live[i] = live[live.length - 1]!;
              live.pop();
              iommuDmaUnmapIova(f, p, 1, o.cpu, now);
            } else {
              fqTick(f, now);
            }
            expect(d.count).toBe(live.length + f.pending + iovaRcacheContents(d).length);
          }
        },
      ),
      { numRuns: 40, seed: 0xf10 },
    );
  });
});
