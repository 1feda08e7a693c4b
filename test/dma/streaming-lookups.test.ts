/**
 * The streaming state's lookups (lib/dma/state.ts addMapping, removeMapping,
 * findMapping, mappingContaining, with their per-device start index and its
 * one-entry device cache) against a reference written from their documented
 * rules: the first active mapping at an address is the one found there; a
 * range not inside it is looked up by a scan in mapping order. DMA addresses
 * above 2^32 and near 2^53, two devices, double maps.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { MappingList, StartIndex, addMapping, findMapping, mappingContaining, newStreamingState, removeMapping, type ActiveMapping, type DmaStreamingState } from "../../lib/dma/state.js";
import type { Device } from "../../lib/platform/device.js";

function rec(dev: Device, dmaAddr: number, size = 4096): ActiveMapping {
  return { dev, dmaAddr, paddr: 0, origPaddr: 0, bounced: false, size, dir: 2, type: "single", owner: "device", specId: -1, seq: 0 };
}

const DEV_A = { name: "a" } as unknown as Device;
const DEV_B = { name: "b" } as unknown as Device;

/** The lookups as their docstrings state them, over a list of records in mapping order. */
class RefState {
  list: ActiveMapping[] = [];
  find(dev: Device, dma: number): ActiveMapping | undefined {
    return this.list.find((x) => x.dev === dev && x.dmaAddr === dma);
  }
  containing(dev: Device, dma: number, size: number): ActiveMapping | undefined {
    const exact = this.find(dev, dma);
    if (exact && dma + size <= exact.dmaAddr + exact.size) return exact;
    return this.list.find((x) => x.dev === dev && dma >= x.dmaAddr && dma + size <= x.dmaAddr + x.size);
  }
}

describe("the streaming state's lookups against a reference list", () => {
  it("findMapping and mappingContaining answer as the first mapping in order, with double maps and two devices", () => {
    const addr = fc.oneof(fc.integer({ min: 0, max: 12 }).map((n) => 2 ** 32 + n * 2048), fc.integer({ min: 0, max: 3 }).map((n) => 2 ** 53 - 2 ** 20 + n * 4096));
    const step = fc.oneof(
      fc.record({ op: fc.constant("map" as const), b: fc.boolean(), a: addr, size: fc.constantFrom(0, 1, 2048, 4096, 8192) }),
      fc.record({ op: fc.constant("unmap" as const), i: fc.nat() }),
      fc.record({ op: fc.constant("look" as const), b: fc.boolean(), a: addr, size: fc.constantFrom(1, 100, 4096) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
        const s: DmaStreamingState = newStreamingState();
        const ref = new RefState();
        for (const x of steps) {
          if (x.op === "map") {
            const r = rec(x.b ? DEV_A : DEV_B, x.a, x.size);
            addMapping(s, r);
            ref.list.push(r);
          } else if (x.op === "unmap") {
            if (ref.list.length === 0) continue;
            const r = ref.list[x.i % ref.list.length]!;
            removeMapping(s, r);
            ref.list.splice(ref.list.indexOf(r), 1);
          } else {
            const dev = x.b ? DEV_A : DEV_B;
            expect(findMapping(s, dev, x.a)).toBe(ref.find(dev, x.a));
            expect(mappingContaining(s, dev, x.a, x.size)).toBe(ref.containing(dev, x.a, x.size));
            expect(mappingContaining(s, dev, x.a + 1024, x.size)).toBe(ref.containing(dev, x.a + 1024, x.size));
          }
          expect([...s.mappings]).toEqual(ref.list);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("StartIndex against a Map", () => {
  it("get, has, set and delete answer as Map<number, ActiveMapping> does, for starts sharing a page, chunk edges, addresses above 2^32 and near 2^53", () => {
    // chunks are 64 pages of 4 KiB (2^18 bytes): addresses at offsets inside a page, at the last page of a chunk and the first of the next
    const base = fc.constantFrom(0, 2 ** 18 - 4096, 2 ** 18, 2 ** 32, 2 ** 32 + 2 ** 18 - 4096, 2 ** 53 - 2 ** 19, 2 ** 53 - 4096);
    const addr = fc.tuple(base, fc.integer({ min: 0, max: 2 }), fc.constantFrom(0, 1, 2048, 4095)).map(([b, p, o]) => b + p * 4096 + o);
    const step = fc.oneof(
      fc.record({ op: fc.constant("set" as const), a: addr }),
      fc.record({ op: fc.constant("delete" as const), a: addr }),
      fc.record({ op: fc.constant("get" as const), a: addr }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 150 }), (steps) => {
        const idx = new StartIndex();
        const ref = new Map<number, ActiveMapping>();
        for (const x of steps) {
          if (x.op === "set") {
            const r = rec(DEV_A, x.a);
            idx.set(x.a, r);
            ref.set(x.a, r);
          } else if (x.op === "delete") {
            idx.delete(x.a);
            ref.delete(x.a);
          }
          expect(idx.get(x.a)).toBe(ref.get(x.a));
          expect(idx.has(x.a)).toBe(ref.has(x.a));
          expect(idx.size).toBe(ref.size);
        }
        for (const [k, v] of ref) expect(idx.get(k)).toBe(v);
      }),
      { numRuns: 400 },
    );
  });

  it("keeps every start in one place when starts of one page come and go (few addresses, long runs)", () => {
    // two pages, four starts each: a second start of a page lives outside the page's slot until set again
    const addr = fc.tuple(fc.constantFrom(2 ** 32 - 4096, 2 ** 53 - 4096), fc.constantFrom(0, 1, 2048, 4095)).map(([b, o]) => b + o);
    const step = fc.record({ set: fc.boolean(), a: addr });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        const idx = new StartIndex();
        const ref = new Map<number, ActiveMapping>();
        for (const x of steps) {
          if (x.set) {
            const r = rec(DEV_B, x.a);
            idx.set(x.a, r);
            ref.set(x.a, r);
          } else {
            idx.delete(x.a);
            ref.delete(x.a);
          }
          for (const [k, v] of ref) expect(idx.get(k)).toBe(v);
          expect(idx.get(x.a)).toBe(ref.get(x.a));
          expect(idx.size).toBe(ref.size);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("answers undefined for addresses never set, including non-integers, negatives and non-finite numbers", () => {
    const idx = new StartIndex();
    const r = rec(DEV_A, 8192);
    idx.set(8192, r);
    for (const a of [8192.5, 8191, -8192, NaN, Infinity, -Infinity, 2 ** 60]) expect(idx.get(a)).toBeUndefined();
    expect(idx.get(8192)).toBe(r);
    // a key that is not a finite number is kept like any other
    const n = rec(DEV_A, NaN);
    idx.set(NaN, n);
    expect(idx.get(NaN)).toBe(n);
    idx.delete(NaN);
    expect(idx.get(NaN)).toBeUndefined();
    expect(idx.size).toBe(1);
  });
});

describe("MappingList against a Set", () => {
  it("add, delete, has, size and insertion-order iteration answer as Set<ActiveMapping> does, with re-adds and deletes of absent records", () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant("add" as const), i: fc.nat(40) }),
      fc.record({ op: fc.constant("delete" as const), i: fc.nat(40) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 400 }), (steps) => {
        const recs = Array.from({ length: 41 }, (_, i) => rec(i % 2 ? DEV_A : DEV_B, 2 ** 53 - 4096 * (i + 1)));
        const list = new MappingList();
        const ref = new Set<ActiveMapping>();
        for (const x of steps) {
          const r = recs[x.i]!;
          if (x.op === "add") {
            list.add(r);
            ref.add(r);
          } else expect(list.delete(r)).toBe(ref.delete(r));
          expect(list.size).toBe(ref.size);
          expect(list.has(r)).toBe(ref.has(r));
        }
        expect([...list]).toEqual([...ref]);
        for (const r of recs) expect(list.has(r)).toBe(ref.has(r));
        // find: the first record in insertion order that matches
        const ofA = (x: ActiveMapping) => x.dev === DEV_A;
        expect(list.find(ofA)).toBe([...ref].find(ofA));
      }),
      { numRuns: 300 },
    );
  });

  it("an iteration visits records added meanwhile and skips those deleted before their turn, as a Set's does", () => {
    // 200 records, every other one deleted first (holes outnumber none yet); then, during an iteration,
    // each visited record deletes the next live one and every 10th visit adds a new record
    const recs = Array.from({ length: 300 }, (_, i) => rec(DEV_A, 2 ** 32 + 4096 * i));
    const list = new MappingList();
    const ref = new Set<ActiveMapping>();
    for (const r of recs.slice(0, 200)) {
      list.add(r);
      ref.add(r);
    }
    for (let i = 0; i < 200; i += 2) {
      list.delete(recs[i]!);
      ref.delete(recs[i]!);
    }
    const walk = (c: Iterable<ActiveMapping>, del: (r: ActiveMapping) => void, add: (r: ActiveMapping) => void): ActiveMapping[] => {
      const seen: ActiveMapping[] = [];
      let extra = 200;
      for (const r of c) {
        seen.push(r);
        const k = recs.indexOf(r);
        if (k + 2 < 300) del(recs[k + 2]!);
        if (seen.length % 10 === 0 && extra < 300) add(recs[extra++]!);
      }
      return seen;
    };
    const a = walk(list, (r) => list.delete(r), (r) => list.add(r));
    const b = walk(ref, (r) => ref.delete(r), (r) => ref.add(r));
    expect(a).toEqual(b);
    expect([...list]).toEqual([...ref]);
    // after the iteration, deletes squeeze the holes out again without changing the order
    for (const r of [...ref].slice(0, Math.floor(ref.size / 2))) {
      list.delete(r);
      ref.delete(r);
    }
    expect([...list]).toEqual([...ref]);
    expect(list.size).toBe(ref.size);
  });
});
