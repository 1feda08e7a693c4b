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
 */
import { iovaRangesInUse } from "../../lib/iommu/iova-rcache.js";
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
function step(dev: Device, op: Op, live: Live[], dead: Live[], base: number, state: () => string, skipUnknown: (a: number) => boolean = () => false): void {
  const before = state();
  const pick = (n: number) => live[n % live.length]!;
  try {
    switch (op.k) {
      case "map": {
        const h = dmaMapPage(dev, base + op.buf * 8, op.off, op.size, op.dir);
        if (!dmaMappingError(h)) live.push({ h, size: op.size, dir: op.dir });
        return;
      }
      case "unmap": {
        if (!live.length) return;
        const l = pick(op.pick);
        dmaUnmapPage(dev, l.h, l.size, l.dir);
        break;
      }
      case "wrongSize": {
        if (!live.length) return;
        const l = pick(op.pick);
        dmaUnmapPage(dev, l.h, op.size === l.size ? l.size + 1 : op.size, l.dir);
        break;
      }
      case "double": {
        if (!dead.length) return;
        const l = dead[op.pick % dead.length]!;
        // iommu-dma v4.12+: the freed IOVA may have been handed out again (rcache magazine); unmapping it then
        // tears down another live mapping (a use-after-free, not a double unmap): not this misuse kind.
        if (live.some((x) => Math.floor(x.h / 4096) === Math.floor(l.h / 4096))) return;
        dmaUnmapPage(dev, l.h, l.size, l.dir);
        note(op.k, false);
        return;
      }
      case "unknown":
        // an address inside a live bounce mapping is the leak test/dma/swiotlb-release.test.ts pins (the kernel frees its tail, the head stays in use): not an "unknown" handle
        if (skipUnknown(op.addr)) return;
        dmaUnmapPage(dev, op.addr as DmaAddr, 4096, 1);
        note(op.k, false);
        return;
      case "badDir": {
        if (!live.length) return;
        const l = pick(op.pick);
        dmaUnmapPage(dev, l.h, l.size, op.dir);
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
});
