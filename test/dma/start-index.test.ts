/**
 * DmaStartIndex (lib/dma/state.ts), the open-addressing table of active
 * mappings by DMA start address, against a plain Map<number, record> as the
 * reference: the same answers for every key (integers above 2^32 and near
 * 2^53, and numbers outside the table's key range, which go to its side
 * Map), through growth and shrinking; and the streaming state's lookups
 * (addMapping, removeMapping, findMapping, mappingContaining) against a
 * reference written from their documented rules (the first mapping at an
 * address owns it; a scan in mapping order otherwise).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DmaStartIndex, addMapping, findMapping, mappingContaining, removeMapping, type ActiveMapping, type DmaStreamingState } from "../../lib/dma/state.js";
import type { Device } from "../../lib/platform/device.js";

function rec(dev: Device, dmaAddr: number, size = 4096): ActiveMapping {
  return { dev, dmaAddr, paddr: 0, origPaddr: 0, bounced: false, size, dir: 2, type: "single", owner: "device", specId: -1 };
}

const DEV_A = { name: "a" } as unknown as Device;
const DEV_B = { name: "b" } as unknown as Device;

/** Keys of several kinds: pages below 4 GiB, above 2^32, near 2^53, small offsets (collisions inside one frame), odd numbers. */
const key = fc.oneof(
  fc.integer({ min: 0, max: 64 }).map((n) => 0x100000 + n * 4096),
  fc.integer({ min: 0, max: 64 }).map((n) => 2 ** 32 + n * 4096 + (n % 3) * 2048),
  fc.integer({ min: 0, max: 64 }).map((n) => Number.MAX_SAFE_INTEGER - n),
  fc.integer({ min: 0, max: 4095 }).map((n) => 0x200000 + n),
  fc.constantFrom(-1, 0, -0, 0.5, 2 ** 53, 2 ** 60, Number.NaN, Infinity),
);

type Op = { op: "add" | "set" | "delete" | "get"; k: number };
const op: fc.Arbitrary<Op> = fc.record({ op: fc.constantFrom("add" as const, "set" as const, "delete" as const, "get" as const), k: key });

describe("DmaStartIndex against a Map", () => {
  it("answers get/has/size like a Map over random add, set, delete sequences", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const t = new DmaStartIndex();
        const ref = new Map<number, ActiveMapping>();
        for (const o of ops) {
          const r = rec(DEV_A, o.k);
          if (o.op === "add") {
            const had = ref.has(o.k);
            if (!had) ref.set(o.k, r);
            expect(t.addIfAbsent(o.k, r)).toBe(!had);
          } else if (o.op === "set") {
            ref.set(o.k, r);
            t.set(o.k, r);
          } else if (o.op === "delete") {
            expect(t.delete(o.k)).toBe(ref.delete(o.k));
          }
          expect(t.get(o.k)).toBe(ref.get(o.k));
          expect(t.has(o.k)).toBe(ref.has(o.k));
          expect(t.size).toBe(ref.size);
        }
        for (const [k, v] of ref) expect(t.get(k)).toBe(v);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps every entry through growth to 20000 keys and shrinking back to 10", () => {
    const t = new DmaStartIndex();
    const ref = new Map<number, ActiveMapping>();
    // pages above 4 GiB, bounce-slot-like 2 KiB steps, and keys near 2^53
    const keys: number[] = [];
    for (let i = 0; i < 10000; i++) keys.push(2 ** 32 + i * 4096);
    for (let i = 0; i < 5000; i++) keys.push(0xbc000000 + i * 2048 + 4096 * 9000);
    for (let i = 0; i < 5000; i++) keys.push(2 ** 53 - 1 - i * 7);
    for (const k of keys) {
      const r = rec(DEV_A, k);
      expect(t.addIfAbsent(k, r)).toBe(!ref.has(k));
      if (!ref.has(k)) ref.set(k, r);
    }
    expect(t.size).toBe(ref.size);
    for (const [k, v] of ref) expect(t.get(k)).toBe(v);
    const drop = [...ref.keys()].slice(10);
    for (const k of drop) {
      expect(t.delete(k)).toBe(true);
      ref.delete(k);
    }
    expect(t.size).toBe(10);
    for (const k of drop) expect(t.get(k)).toBeUndefined();
    for (const [k, v] of ref) expect(t.get(k)).toBe(v);
  });

  it("treats 0 and -0 as one key and NaN as a key, as a Map does", () => {
    const t = new DmaStartIndex();
    const r0 = rec(DEV_A, 0);
    const rn = rec(DEV_A, Number.NaN);
    expect(t.addIfAbsent(0, r0)).toBe(true);
    expect(t.addIfAbsent(-0, rec(DEV_A, -0))).toBe(false);
    expect(t.get(-0)).toBe(r0);
    expect(t.addIfAbsent(Number.NaN, rn)).toBe(true);
    expect(t.get(Number.NaN)).toBe(rn);
    expect(t.size).toBe(2);
  });
});

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
    const addr = fc.integer({ min: 0, max: 12 }).map((n) => 2 ** 32 + n * 2048);
    const step = fc.oneof(
      fc.record({ op: fc.constant("map" as const), b: fc.boolean(), a: addr, size: fc.constantFrom(0, 1, 2048, 4096, 8192) }),
      fc.record({ op: fc.constant("unmap" as const), i: fc.nat() }),
      fc.record({ op: fc.constant("look" as const), b: fc.boolean(), a: addr, size: fc.constantFrom(1, 100, 4096) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
        const s: DmaStreamingState = { mappings: new Set(), byStart: new Map(), lastDev: null, lastIndex: null, duplicates: 0 };
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
