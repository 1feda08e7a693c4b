import { describe, expect, it } from "vitest";
import { CacheModel } from "../../lib/cache/model.js";
import { createPrng } from "../../lib/core/prng.js";
import { Trace } from "../../lib/core/trace.js";

function mk(cfg: Partial<ConstructorParameters<typeof CacheModel>[0]> = {}) {
  const trace = new Trace();
  return { c: new CacheModel({ lineSize: 64, ...cfg }, trace, createPrng(7)), trace };
}

describe("CacheModel: tokens and CPU accesses", () => {
  it("a cacheable write is dirty in the cache and not in memory until cleaned", () => {
    const { c } = mk();
    const t = c.cpuWrite(0x1000, 64);
    expect(c.label(t)).toBe("cpu:1");
    expect(c.cachedCopies(0x1000)).toEqual([{ colour: 0, token: "cpu:1", dirty: true }]);
    expect(c.label(c.memoryToken(0x1000))).toBe("init");
    c.maintain({ kind: "clean", start: 0x1000, end: 0x1040, level: "inner", fn: "t" });
    expect(c.label(c.memoryToken(0x1000))).toBe("cpu:1");
    expect(c.cachedCopies(0x1000)[0]!.dirty).toBe(false);
  });

  it("an uncached write goes straight to memory", () => {
    const { c } = mk();
    c.cpuWrite(0x2000, 128, { attr: "uncached" });
    expect(c.label(c.memoryToken(0x2040))).toBe("cpu:1");
    expect(c.cachedCopies(0x2000)).toEqual([]);
  });

  it("a partial-line write makes the whole line the CPU's (line granularity)", () => {
    const { c } = mk();
    c.cpuWrite(0x1010, 4); // bytes 0x1010..0x1013 are in line 0x1000..0x103f
    expect(c.cachedCopies(0x1000)).toEqual([{ colour: 0, token: "cpu:1", dirty: true }]);
    expect(c.cachedCopies(0x1040)).toEqual([]);
  });
});

describe("CacheModel: devices", () => {
  it("a non-coherent device reads memory and misses a dirty line: device_read_stale", () => {
    const { c, trace } = mk();
    c.cpuWrite(0x1000, 64);
    const seen = c.deviceRead(0x1000, 64, false);
    expect(seen.map((r) => r.label)).toEqual(["init"]);
    expect(c.hazards.map((h) => h.kind)).toEqual(["device_read_stale"]);
    expect(trace.faults()[0]!.data["paddr"]).toBe(0x1000);
  });

  it("a coherent device snoops the dirty line", () => {
    const { c } = mk();
    c.cpuWrite(0x1000, 64);
    expect(c.deviceRead(0x1000, 128, true).map((r) => [r.start, r.end, r.label])).toEqual([
      [0x1000, 0x1040, "cpu:1"],
      [0x1040, 0x1080, "init"],
    ]);
    expect(c.hazards).toEqual([]);
  });

  it("a coherent device write invalidates cached copies; a non-coherent one leaves them (stale read)", () => {
    const a = mk();
    a.c.cpuRead(0x1000, 64);
    a.c.deviceWrite(0x1000, 64, true);
    expect(a.c.cpuRead(0x1000, 64).map((r) => r.label)).toEqual(["dev:1"]);
    expect(a.c.hazards).toEqual([]);
    const b = mk();
    b.c.cpuRead(0x1000, 64); // clean copy of "init"
    b.c.deviceWrite(0x1000, 64, false);
    expect(b.c.cpuRead(0x1000, 64).map((r) => r.label)).toEqual(["init"]);
    expect(b.c.hazards.map((h) => [h.kind, h.seen, h.newer])).toEqual([["stale_read", "init", "dev:1"]]);
  });

  it("a dirty line cleaned over device-written memory is a lost write", () => {
    const { c } = mk();
    c.cpuWrite(0x1000, 4);
    c.deviceWrite(0x1000, 64, false);
    c.maintain({ kind: "cleanInvalidate", start: 0x1000, end: 0x1040, level: "inner", fn: "t" });
    expect(c.hazards.map((h) => h.kind)).toEqual(["lost_write"]);
    expect(c.label(c.memoryToken(0x1000))).toBe("cpu:1");
  });

  it("invalidate drops a dirty line without writing it back", () => {
    const { c, trace } = mk();
    c.cpuWrite(0x1000, 64);
    c.maintain({ kind: "invalidate", start: 0x1000, end: 0x1040, level: "inner", fn: "t" });
    expect(c.cachedCopies(0x1000)).toEqual([]);
    expect(c.label(c.memoryToken(0x1000))).toBe("init");
    expect(trace.ofKind("discard_dirty").length).toBe(1);
  });
});

describe("CacheModel: VIPT aliasing", () => {
  // colours = wayBytes / PAGE_SIZE = 16K / 4K = 4; va 0x0 has colour 0, va 0x1000 colour 1.
  it("two aliases of one line with different colours disagree, and range maintenance reaches only its colour", () => {
    const { c } = mk({ indexing: "vipt-aliasing", wayBytes: 16384, pageSize: 4096 });
    expect(c.colours).toBe(4);
    c.cpuWrite(0x8000, 64, { va: 0x1000 }); // colour 1
    expect(c.cpuRead(0x8000, 64, { va: 0x0 }).map((r) => r.label)).toEqual(["init"]); // colour 0 misses
    c.maintain({ kind: "clean", start: 0x8000, end: 0x8040, level: "inner", fn: "t" }, 0);
    expect(c.label(c.memoryToken(0x8000))).toBe("init"); // colour-0 clean did not reach colour 1
    c.maintain({ kind: "cleanInvalidate", start: 0, end: 0, level: "inner", fn: "flush_data_cache", scope: "all" });
    expect(c.label(c.memoryToken(0x8000))).toBe("cpu:1");
  });
});

describe("CacheModel: speculation, capacity and bad input", () => {
  it("speculative fills are reproducible with the same seed", () => {
    const run = () => {
      const { c, trace } = mk({ specFillProb: 0.5 });
      c.addSpeculationRange(0x10000, 4096);
      for (let i = 0; i < 20; i++) c.step();
      return trace.ofKind("spec_fill").map((e) => e.data["paddr"]);
    };
    expect(run()).toEqual(run());
    expect(run().length).toBeGreaterThan(0);
  });

  it("capacity bounds the cached lines (64 B lines, 4 KiB cache = 64 lines)", () => {
    const { c } = mk({ sizeBytes: 4096 });
    c.cpuRead(0, 1 << 20);
    expect(c.footprint.cachedLines).toBe(64);
  });

  it("a 64 MiB device write costs one memory run", () => {
    const { c } = mk();
    c.deviceWrite(2 ** 33, 64 * 2 ** 20, false);
    expect(c.footprint.memoryRuns).toBe(1);
  });

  it("rejects a line size that is not a power of two", () => {
    expect(() => mk({ lineSize: 48 })).toThrow(/lineSize/);
  });

  it("rejects an unaligned maintenance range and a zero size, leaving the model unchanged", () => {
    const { c } = mk();
    c.cpuWrite(0x1000, 64);
    const before = JSON.stringify([c.footprint, c.cachedCopies(0x1000), c.tokenCount]);
    expect(() => c.maintain({ kind: "clean", start: 0x1010, end: 0x1040, level: "inner", fn: "t" })).toThrow(/aligned/);
    expect(() => c.cpuRead(0x1000, 0)).toThrow(/size/);
    expect(() => c.cpuWrite(-1, 4)).toThrow(/paddr/);
    expect(JSON.stringify([c.footprint, c.cachedCopies(0x1000), c.tokenCount])).toBe(before);
  });
});
