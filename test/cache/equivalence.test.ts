/**
 * The cache model's fast paths (issue 12: whole-buffer copies, maintenance
 * and device accesses on line runs instead of one line object at a time)
 * must not change anything observable. This test runs the same seeded random
 * operation sequences through lib/cache/model.ts and through the verbatim
 * copy of the model before those changes (test/cache/reference-model.ts),
 * each with its own Trace and an identically seeded Prng, and after every
 * operation compares:
 * - the operation's result (token runs read, tokens issued, lines covered
 *   and written back: the basis of every charged cost), or the error thrown;
 * - every trace event (seq, fn, kind, level, message, data, cost);
 * - the recorded hazards, the counters (fills, evictions, write-backs,
 *   speculative fills, lines maintained) and the footprint;
 * and every few operations the full per-line state of the address window
 * (CPU copy of every colour, dirty bit, memory token, coherent and
 * non-coherent device view), the cached copies of every line and the memory
 * token of every line.
 *
 * Operations: cacheable and uncached CPU reads and writes, token-preserving
 * CPU copies (swiotlb_bounce's memcpy, cacheable or not on either side, any
 * alignment), coherent and non-coherent device reads and writes, range and
 * whole-cache maintenance of every kind (inner and outer level), speculation
 * ranges, seeded steps (speculative fills and random evictions) and forced
 * evictions. Caches are small (8 to 64 lines) so capacity evictions, write-
 * backs over device writes (lost_write) and stale reads happen often; the
 * VIPT-aliasing configurations put several colours of one line in the cache.
 * Addresses are placed both low and above 2^32.
 *
 * The expected values are the reference model's: this is an equivalence
 * test, the reference's own behaviour is what test/cache/model.test.ts and
 * the DMA tests check against kernel rules.
 */
import { describe, expect, it } from "vitest";
import { CacheModel, type CacheConfig, type MappingAttr } from "../../lib/cache/model.js";
import type { MaintKind, MaintOp } from "../../lib/cache/maint.js";
import { createPrng, type Prng } from "../../lib/core/prng.js";
import { Trace } from "../../lib/core/trace.js";
import { ReferenceCacheModel } from "./reference-model.js";

type Model = CacheModel | ReferenceCacheModel;

interface Side {
  c: Model;
  trace: Trace;
}

const ATTRS: MappingAttr[] = ["cacheable", "cacheable", "cacheable", "uncached", "write-combine"];
const KINDS: MaintKind[] = ["clean", "invalidate", "cleanInvalidate"];

/** Run `f` on a side; the result or the error's message, as plain data. */
function attempt(f: () => unknown): unknown {
  try {
    const r = f();
    return { ok: JSON.parse(JSON.stringify(r ?? null)) };
  } catch (e) {
    return { err: (e as Error).constructor.name + ": " + (e as Error).message };
  }
}

/** What changed since event `from` / hazard `hFrom` (earlier ones were compared already), and the counters. */
function observe(s: Side, from: number, hFrom: number): unknown {
  return {
    events: s.trace.events().slice(from).map((e) => ({ ...e })),
    eventCount: s.trace.length,
    now: s.trace.nowNs,
    hazards: s.c.hazards.slice(hFrom).map((h) => ({ ...h })),
    hazardCount: s.c.hazards.length,
    stats: { ...s.c.stats },
    footprint: s.c.footprint,
    tokens: s.c.tokenCount,
  };
}

function fullState(s: Side, base: number, lines: number, lineSize: number, colours: number, pageSize: number): unknown {
  const out: unknown[] = [];
  for (let col = 0; col < colours; col++) {
    // A VA of colour `col`: colours are (va / PAGE_SIZE) mod colours.
    const va = col * pageSize;
    out.push(s.c.lineStates(base, lines * lineSize, { va, coherent: false }));
    out.push(s.c.lineStates(base, lines * lineSize, { va, coherent: true }));
  }
  for (let l = 0; l < lines; l++) {
    out.push(s.c.cachedCopies(base + l * lineSize));
    out.push(s.c.memoryToken(base + l * lineSize));
  }
  return out;
}

/**
 * One random operation, described as data so both sides run exactly the
 * same call. Ranges stay inside a window of `lines` lines at `base`.
 */
function randomOp(p: Prng, base: number, lines: number, lineSize: number, colours: number, pageSize: number): (c: Model) => unknown {
  const win = lines * lineSize;
  const range = (maxLines: number): { pa: number; size: number } => {
    const off = p.nextInt(win - lineSize);
    const size = 1 + p.nextInt(Math.min(maxLines * lineSize, win - off) - 0);
    return { pa: base + off, size: Math.max(1, Math.min(size, win - off)) };
  };
  const va = (): number | undefined => (p.nextInt(4) === 0 ? undefined : p.nextInt(colours * 2) * pageSize + p.nextInt(pageSize));
  const attr = (): MappingAttr => ATTRS[p.nextInt(ATTRS.length)]!;
  const k = p.nextInt(100);
  if (k < 14) {
    const r = range(lines);
    const o = { va: va(), attr: attr() };
    return (c) => c.cpuRead(r.pa, r.size, o);
  }
  if (k < 28) {
    const r = range(lines);
    const o = { va: va(), attr: attr() };
    return (c) => c.cpuWrite(r.pa, r.size, o);
  }
  if (k < 46) {
    // A copy between two halves of the window (non-overlapping unless the draw says otherwise: the error must match too).
    const half = Math.floor(win / 2);
    const size = 1 + p.nextInt(Math.max(1, half - lineSize));
    const from = base + p.nextInt(half - Math.min(size, half - 1));
    const to = base + half + p.nextInt(Math.max(1, half - size));
    const swap = p.nextInt(2) === 0;
    const overlap = p.nextInt(20) === 0;
    const o = { fromVa: va(), toVa: va(), fromAttr: attr(), toAttr: attr() };
    const a = swap ? to : from;
    const b = overlap ? a + p.nextInt(Math.max(1, size)) : swap ? from : to;
    return (c) => c.cpuCopy(a, b, size, o);
  }
  if (k < 56) {
    const r = range(lines);
    const coh = p.nextInt(2) === 0;
    return (c) => c.deviceRead(r.pa, r.size, coh);
  }
  if (k < 68) {
    const r = range(lines);
    const coh = p.nextInt(2) === 0;
    return (c) => c.deviceWrite(r.pa, r.size, coh);
  }
  if (k < 84) {
    const kind = KINDS[p.nextInt(3)]!;
    const colour = p.nextInt(colours);
    if (p.nextInt(15) === 0) {
      const op: MaintOp = { kind, start: 0, end: 0, level: "inner", fn: "flush_data_cache", scope: "all" };
      return (c) => c.maintain(op, colour);
    }
    const l0 = p.nextInt(lines);
    const l1 = l0 + 1 + p.nextInt(lines - l0);
    const misaligned = p.nextInt(30) === 0 ? 8 : 0;
    const op: MaintOp = { kind, start: base + l0 * lineSize + misaligned, end: base + l1 * lineSize, level: p.nextInt(6) === 0 ? "outer" : "inner", fn: "dcache_op" };
    return (c) => c.maintain(op, colour);
  }
  if (k < 88) {
    const r = range(lines);
    const colour = p.nextInt(colours);
    return (c) => c.addSpeculationRange(r.pa, r.size, colour);
  }
  if (k < 90) {
    const id = 1 + p.nextInt(6);
    return (c) => c.removeSpeculationRange(id);
  }
  if (k < 97) return (c) => c.step("after op");
  const pa = base + p.nextInt(win);
  return (c) => c.evictLine(pa);
}

const CONFIGS: Array<{ name: string; cfg: CacheConfig; lines: number }> = [
  { name: "PIPT, 64-byte lines, 16-line cache", cfg: { lineSize: 64, sizeBytes: 1024 }, lines: 96 },
  { name: "PIPT, 32-byte lines, 64-line cache, speculation and random evictions", cfg: { lineSize: 32, sizeBytes: 2048, specFillProb: 0.5, evictProb: 0.3 }, lines: 160 },
  { name: "VIPT-aliasing, 4 colours, 8-line cache", cfg: { lineSize: 64, sizeBytes: 512, indexing: "vipt-aliasing", wayBytes: 16384, specFillProb: 0.3, evictProb: 0.2 }, lines: 80 },
  { name: "VIPT-aliasing, 2 colours, 64-line cache", cfg: { lineSize: 16, sizeBytes: 1024, indexing: "vipt-aliasing", wayBytes: 8192 }, lines: 200 },
];

/** Kinds of events seen over all runs: the sequences must reach every hazard and the maintenance paths. */
const seenKinds = new Set<string>();
let errors = 0;

describe("CacheModel fast paths give the same results as the reference model", () => {
  for (const { name, cfg, lines } of CONFIGS) {
    for (const base of [0x10000, 2 ** 33 + 0x40000]) {
      it(`${name}, window at ${base.toString(16)}`, () => {
        const colours = cfg.indexing === "vipt-aliasing" ? cfg.wayBytes! / 4096 : 1;
        for (let seed = 1; seed <= 8; seed++) {
          const ops = createPrng(seed * 7919 + lines);
          const mk = (which: "new" | "ref"): Side => {
            const trace = new Trace();
            const c = which === "new" ? new CacheModel(cfg, trace, createPrng(seed)) : new ReferenceCacheModel(cfg, trace, createPrng(seed));
            // A deterministic explain hook, as the DMA layer installs one.
            c.explain = (kind, paddr) => (paddr % 3 === 0 ? undefined : `${kind} fix at ${paddr}`);
            return { c, trace };
          };
          const a = mk("new");
          const b = mk("ref");
          for (let i = 0; i < 250; i++) {
            const op = randomOp(ops, base, lines, cfg.lineSize, colours, 4096);
            const from = b.trace.length;
            const hFrom = b.c.hazards.length;
            const ra = attempt(() => op(a.c));
            const rb = attempt(() => op(b.c));
            expect(ra, `seed ${seed} op ${i}`).toEqual(rb);
            expect(observe(a, from, hFrom), `seed ${seed} op ${i}`).toEqual(observe(b, from, hFrom));
            if ((rb as { err?: string }).err) errors++;
            if (i % 10 === 9) expect(fullState(a, base, lines, cfg.lineSize, colours, 4096)).toEqual(fullState(b, base, lines, cfg.lineSize, colours, 4096));
          }
          expect(fullState(a, base, lines, cfg.lineSize, colours, 4096)).toEqual(fullState(b, base, lines, cfg.lineSize, colours, 4096));
          for (const e of b.trace.events()) seenKinds.add(e.kind);
        }
      });
    }
  }

  it("the sequences reached every hazard, discards, speculative fills, random evictions and rejected calls", () => {
    for (const k of ["stale_read", "lost_write", "device_read_stale", "discard_dirty", "spec_fill", "evict"]) expect(seenKinds.has(k), k).toBe(true);
    expect(errors).toBeGreaterThan(0);
  });
});
