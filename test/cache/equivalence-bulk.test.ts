/**
 * Issue 14's fast paths of the cache model give the same results as the
 * per-line reference model (test/cache/reference-model.ts):
 * - cpuCopy's bulk path (a cacheable destination with no cached line that
 *   fits the cache: the FIFO's oldest copies evicted first, then the lines
 *   filled in order), with its batched evictions (evictOldestN) and the
 *   write-back of consecutive dirty lines as one run (writeBackRun, PIPT);
 * - on PIPT caches, the bulk copies' lines kept as lazy runs (LazyFills)
 *   until another call uses the lines (settle), and evicted as runs
 *   (writeBackRun with no line object);
 * - the speculation ranges kept in insertion-ordered arrays (SpecRanges)
 *   instead of a Map: step() must pick the same k-th live range after
 *   removals in any order.
 *
 * Property tests (fast-check) drive random operation sequences shaped to
 * reach those paths: bounce-like copies between a "buffer" and a "slot"
 * window (destination not cached, partly cached, or larger than the cache),
 * CPU writes that leave dirty lines, device writes (coherent and not) that
 * make the later write-back of a dirty line a lost_write, maintenance,
 * speculation ranges added and removed in any order with speculative fills
 * and random evictions, on PIPT and VIPT-aliasing caches, empty, partly
 * full and full. After every operation both models must agree on the
 * result (or the error), the trace events (message, data, cost), hazards,
 * counters and footprint; at the end, on every line's state (CPU copy of
 * each colour, dirty bit, memory, device views) and cached copies.
 *
 * The expected values are the reference's (an equivalence test: its own
 * behaviour is checked against kernel rules by the other tests); the one
 * example at the end is computed by hand.
 */
import { afterAll, describe, expect, it, vi } from "vitest";
import fc from "fast-check";
import { CacheModel, type CacheConfig, type MappingAttr } from "../../lib/cache/model.js";
import type { MaintKind } from "../../lib/cache/maint.js";
import { createPrng } from "../../lib/core/prng.js";
import { Trace } from "../../lib/core/trace.js";
import { ReferenceCacheModel } from "./reference-model.js";

type Model = CacheModel | ReferenceCacheModel;

interface Side {
  c: Model;
  trace: Trace;
}

const CONFIGS: Array<{ name: string; cfg: CacheConfig }> = [
  { name: "PIPT 16 lines", cfg: { lineSize: 64, sizeBytes: 1024 } },
  { name: "PIPT 128 lines (page-sized copies take the bulk path)", cfg: { lineSize: 64, sizeBytes: 8192 } },
  { name: "PIPT 64 lines, speculation and random evictions", cfg: { lineSize: 64, sizeBytes: 4096, specFillProb: 0.6, evictProb: 0.2 } },
  { name: "VIPT-aliasing 4 colours, 16 lines", cfg: { lineSize: 64, sizeBytes: 1024, indexing: "vipt-aliasing", wayBytes: 16384, specFillProb: 0.3, evictProb: 0.1 } },
  { name: "VIPT-aliasing 2 colours, 32 lines", cfg: { lineSize: 32, sizeBytes: 1024, indexing: "vipt-aliasing", wayBytes: 8192 } },
];

/** Windows: a buffer (page 0x10 onward) and a bounce slot area (page 0x40 onward), 8 pages each. */
const BUF = 0x10000;
const SLOT = 0x40000;
const WIN = 8 * 4096;

const ATTRS: MappingAttr[] = ["cacheable", "cacheable", "cacheable", "cacheable", "uncached"];
const KINDS: MaintKind[] = ["clean", "invalidate", "cleanInvalidate"];

type Op =
  | { k: "copy"; toSlot: boolean; from: number; to: number; size: number; fromVa: number; toVa: number; fromAttr: number; toAttr: number }
  | { k: "write"; slot: boolean; off: number; size: number; va: number }
  | { k: "read"; slot: boolean; off: number; size: number; va: number }
  | { k: "dev"; slot: boolean; off: number; size: number; coherent: boolean; write: boolean }
  | { k: "maint"; slot: boolean; off: number; lines: number; kind: number; colour: number }
  | { k: "spec"; slot: boolean; off: number; size: number; colour: number }
  | { k: "unspec"; id: number }
  | { k: "step" }
  | { k: "evictLine"; slot: boolean; off: number };

const off = fc.integer({ min: 0, max: WIN - 1 });
const size = fc.oneof(fc.integer({ min: 1, max: 4096 }), fc.constant(4096), fc.integer({ min: 1, max: 2 * 4096 }));
const va = fc.integer({ min: -1, max: 7 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ k: fc.constant("copy" as const), toSlot: fc.boolean(), from: off, to: off, size, fromVa: va, toVa: va, fromAttr: fc.nat(ATTRS.length - 1), toAttr: fc.nat(ATTRS.length - 1) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("write" as const), slot: fc.boolean(), off, size, va }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("read" as const), slot: fc.boolean(), off, size, va }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("dev" as const), slot: fc.boolean(), off, size, coherent: fc.boolean(), write: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("maint" as const), slot: fc.boolean(), off: fc.integer({ min: 0, max: WIN / 64 - 1 }), lines: fc.integer({ min: 1, max: 64 }), kind: fc.nat(2), colour: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("spec" as const), slot: fc.boolean(), off, size, colour: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("unspec" as const), id: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 3, arbitrary: fc.constant({ k: "step" as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("evictLine" as const), slot: fc.boolean(), off }) },
);
/**
 * A bounce stream: mostly cacheable copies of up to a page (swiotlb's map and
 * sync copies), which on a PIPT cache pile up as lazy runs and evict each
 * other as runs, with now and then any other operation (a device write that
 * makes a lazy line's write-back a lost write, a read that settles the runs).
 */
const streamArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ k: fc.constant("copy" as const), toSlot: fc.boolean(), from: off, to: off, size: fc.oneof(fc.constant(4096), fc.integer({ min: 1, max: 4096 })), fromVa: va, toVa: va, fromAttr: fc.constant(0), toAttr: fc.constant(0) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("dev" as const), slot: fc.boolean(), off, size, coherent: fc.constant(false), write: fc.constant(true) }) },
  { weight: 2, arbitrary: opArb },
);

/** Run `f`; its result or the error's message, as plain data. */
function attempt(f: () => unknown): unknown {
  try {
    return { ok: JSON.parse(JSON.stringify(f() ?? null)) };
  } catch (e) {
    return { err: (e as Error).constructor.name + ": " + (e as Error).message };
  }
}

/** One operation on a model (both sides get the same call). */
function apply(c: Model, o: Op, colours: number): unknown {
  const vaOf = (v: number, pa: number): number | undefined => (v < 0 ? undefined : v * 4096 + (pa % 4096));
  const clampSize = (o2: number, s: number): number => Math.max(1, Math.min(s, WIN - o2));
  switch (o.k) {
    case "copy": {
      // buffer -> slot or slot -> buffer: never overlapping
      const s = Math.min(clampSize(o.from, o.size), clampSize(o.to, o.size));
      const from = (o.toSlot ? BUF : SLOT) + o.from;
      const to = (o.toSlot ? SLOT : BUF) + o.to;
      return c.cpuCopy(from, to, s, { fromVa: vaOf(o.fromVa, from), toVa: vaOf(o.toVa, to), fromAttr: ATTRS[o.fromAttr]!, toAttr: ATTRS[o.toAttr]! });
    }
    case "write": {
      const pa = (o.slot ? SLOT : BUF) + o.off;
      return c.cpuWrite(pa, clampSize(o.off, o.size), { va: vaOf(o.va, pa) });
    }
    case "read": {
      const pa = (o.slot ? SLOT : BUF) + o.off;
      return c.cpuRead(pa, clampSize(o.off, o.size), { va: vaOf(o.va, pa) });
    }
    case "dev": {
      const pa = (o.slot ? SLOT : BUF) + o.off;
      return o.write ? c.deviceWrite(pa, clampSize(o.off, o.size), o.coherent) : c.deviceRead(pa, clampSize(o.off, o.size), o.coherent);
    }
    case "maint": {
      const start = (o.slot ? SLOT : BUF) + o.off * 64;
      const end = Math.min(start + o.lines * 64, (o.slot ? SLOT : BUF) + WIN);
      return c.maintain({ kind: KINDS[o.kind]!, start, end, level: "inner", fn: "dcache_op" }, o.colour % colours);
    }
    case "spec": {
      const pa = (o.slot ? SLOT : BUF) + o.off;
      return c.addSpeculationRange(pa, clampSize(o.off, o.size), o.colour % colours);
    }
    case "unspec":
      return c.removeSpeculationRange(o.id);
    case "step":
      return c.step("after op");
    case "evictLine":
      return c.evictLine((o.slot ? SLOT : BUF) + o.off);
  }
}

function observe(s: Side): unknown {
  return {
    events: s.trace.events().map((e) => ({ ...e })),
    now: s.trace.nowNs,
    hazards: s.c.hazards.map((h) => ({ ...h })),
    stats: { ...s.c.stats },
    footprint: s.c.footprint,
    tokens: s.c.tokenCount,
  };
}

function fullState(s: Side, colours: number): unknown {
  const out: unknown[] = [];
  for (const base of [BUF, SLOT]) {
    for (let col = 0; col < colours; col++) {
      out.push(s.c.lineStates(base, WIN, { va: col * 4096, coherent: false }));
      out.push(s.c.lineStates(base, WIN, { va: col * 4096, coherent: true }));
    }
    for (let l = 0; l < WIN / 64; l++) out.push(s.c.cachedCopies(base + l * 64));
  }
  return out;
}

function mk(which: "new" | "ref", cfg: CacheConfig, seed: number): Side {
  const trace = new Trace();
  const c = which === "new" ? new CacheModel(cfg, trace, createPrng(seed)) : new ReferenceCacheModel(cfg, trace, createPrng(seed));
  c.explain = (kind, paddr) => (paddr % 3 === 0 ? undefined : `${kind} fix at ${paddr}`);
  return { c, trace };
}

// How often the fast paths ran (they must be reached, or the properties prove nothing).
const proto = CacheModel.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
const bulkSpy = vi.spyOn(proto, "appendCopies" as never);
const runSpy = vi.spyOn(proto, "writeBackRun" as never);
const settleSpy = vi.spyOn(proto, "settle" as never);
let lostWrites = 0;
let specFills = 0;

describe("cpuCopy's bulk path and the speculation ranges give the reference model's results", () => {
  afterAll(() => {
    bulkSpy.mockRestore();
    runSpy.mockRestore();
    settleSpy.mockRestore();
  });
  for (const { name, cfg } of CONFIGS) {
    const colours = cfg.indexing === "vipt-aliasing" ? cfg.wayBytes! / 4096 : 1;
    it(name, () => {
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 1000 }), (ops, seed) => {
          const a = mk("new", cfg, seed);
          const b = mk("ref", cfg, seed);
          for (const o of ops) {
            expect(attempt(() => apply(a.c, o, colours))).toEqual(attempt(() => apply(b.c, o, colours)));
            expect(observe(a)).toEqual(observe(b));
          }
          expect(fullState(a, colours)).toEqual(fullState(b, colours));
          lostWrites += b.c.hazards.filter((h) => h.kind === "lost_write").length;
          specFills += b.c.stats.specFills;
        }),
        { numRuns: 150, seed: 14 },
      );
    });
  }

  for (const { name, cfg } of CONFIGS.filter((c) => c.cfg.indexing === undefined)) {
    it(`${name}: bounce streams`, () => {
      fc.assert(
        fc.property(fc.array(streamArb, { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 1000 }), (ops, seed) => {
          const a = mk("new", cfg, seed);
          const b = mk("ref", cfg, seed);
          for (const o of ops) {
            expect(attempt(() => apply(a.c, o, 1))).toEqual(attempt(() => apply(b.c, o, 1)));
            expect(observe(a)).toEqual(observe(b));
          }
          expect(fullState(a, 1)).toEqual(fullState(b, 1));
          lostWrites += b.c.hazards.filter((h) => h.kind === "lost_write").length;
        }),
        { numRuns: 100, seed: 15 },
      );
    });
  }

  it("the sequences reached the bulk path, run write-backs (of line objects and of lazy runs), lost writes and speculative fills", () => {
    expect(bulkSpy.mock.calls.length).toBeGreaterThan(100);
    expect(runSpy.mock.calls.length).toBeGreaterThan(100);
    // lazy runs evicted as runs (no line object), and lazy runs made objects by a later call
    expect(runSpy.mock.calls.filter((c) => c[0] === null).length).toBeGreaterThan(50);
    expect(settleSpy.mock.calls.length).toBeGreaterThan(100);
    expect(lostWrites).toBeGreaterThan(0);
    expect(specFills).toBeGreaterThan(0);
  });
});

describe("cpuCopy's bulk path, by hand", () => {
  it("a copy into a full 8-line PIPT cache evicts the 4 oldest dirty lines first, writing them back (one over a device write: lost_write)", () => {
    const trace = new Trace();
    const c = new CacheModel({ lineSize: 64, sizeBytes: 512 }, trace, createPrng(1));
    const A = 0x10000;
    const S = 0x20000;
    const D = 0x30000;
    // 8 lines at A written by the CPU: the cache (8 lines) is full of dirty cpu:1 lines, oldest A+0
    c.cpuWrite(A, 8 * 64);
    // a non-coherent device writes line A+2 in memory (dev:1); the CPU's dirty copy stays
    c.deviceWrite(A + 2 * 64, 64, false);
    // copy 4 lines from S (memory: init) to D (not cached): lines A+0..A+3 are evicted, oldest first
    const r = c.cpuCopy(S, D, 4 * 64);
    expect(r.lines).toBe(4);
    expect(c.stats).toEqual({ fills: 8 + 4, evictions: 4, writebacks: 4, specFills: 0, linesMaintained: 0 });
    // the write-back of A+2 (cpu:1) lands over dev:1: one lost_write of one line
    expect(c.hazards.map((h) => [h.kind, h.paddr, h.lines, h.seen, h.newer])).toEqual([["lost_write", A + 2 * 64, 1, "cpu:1", "dev:1"]]);
    // memory at A..A+3 now holds cpu:1; A+4..A+7 still cached dirty, memory init
    expect(c.lineStates(A, 8 * 64).map((s) => [s.cpu, s.dirty, s.memory])).toEqual([
      [null, false, "cpu:1"],
      [null, false, "cpu:1"],
      [null, false, "cpu:1"],
      [null, false, "cpu:1"],
      ["cpu:1", true, "init"],
      ["cpu:1", true, "init"],
      ["cpu:1", true, "init"],
      ["cpu:1", true, "init"],
    ]);
    // D's lines are cached dirty with the source's token (init), memory untouched
    expect(c.lineStates(D, 4 * 64).map((s) => [s.cpu, s.dirty, s.memory])).toEqual(Array.from({ length: 4 }, () => ["init", true, "init"]));
  });

  it("on PIPT, a bounce copy's lines evicted by the next copy are written back, and one over a device write is a lost_write", () => {
    const trace = new Trace();
    const c = new CacheModel({ lineSize: 64, sizeBytes: 512 }, trace, createPrng(1));
    const S = 0x20000;
    const D1 = 0x30000;
    const D2 = 0x40000;
    // 4 lines from S (memory: init) to D1: cached dirty with init, written at time 0.5 (no token issued yet)
    c.cpuCopy(S, D1, 4 * 64);
    // a non-coherent device writes D1's second line in memory: dev:1 (token 1 > 0.5)
    c.deviceWrite(D1 + 64, 64, false);
    // 8 lines from S to D2: 4 + 8 - 8 = 4 lines evicted, D1's four, oldest first
    c.cpuCopy(S, D2, 8 * 64);
    expect(c.stats).toEqual({ fills: 12, evictions: 4, writebacks: 4, specFills: 0, linesMaintained: 0 });
    expect(c.hazards.map((h) => [h.kind, h.paddr, h.lines, h.seen, h.newer])).toEqual([["lost_write", D1 + 64, 1, "init", "dev:1"]]);
    // D1 not cached, its memory init again (the write-backs); D2 cached dirty with init
    expect(c.lineStates(D1, 4 * 64).map((x) => [x.cpu, x.dirty, x.memory])).toEqual(Array.from({ length: 4 }, () => [null, false, "init"]));
    expect(c.lineStates(D2, 8 * 64).map((x) => [x.cpu, x.dirty, x.memory])).toEqual(Array.from({ length: 8 }, () => ["init", true, "init"]));
  });
});
