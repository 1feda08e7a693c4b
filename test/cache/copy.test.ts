import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CacheModel } from "../../lib/cache/model.js";
import { ModelConfigError } from "../../lib/core/errors.js";
import { createPrng } from "../../lib/core/prng.js";
import { Trace } from "../../lib/core/trace.js";

function mk(cfg: Partial<ConstructorParameters<typeof CacheModel>[0]> = {}) {
  const trace = new Trace();
  return { c: new CacheModel({ lineSize: 64, ...cfg }, trace, createPrng(7)), trace };
}

const G4 = 2 ** 32;

describe("CacheModel.cpuCopy: memcpy through the cache, tokens preserved", () => {
  it("the destination carries the source's dirty CPU token, dirty in the cache, memory untouched", () => {
    const { c } = mk();
    const src = G4 + 0x1000; // above 4 GiB
    const dst = 0x8000;
    c.cpuWrite(src, 128); // cpu:1, dirty, not in memory
    const before = c.tokenCount;
    const r = c.cpuCopy(src, dst, 128);
    // memcpy reads what the CPU wrote (its dirty lines): cpu:1
    expect(r.read.map((x) => x.label)).toEqual(["cpu:1"]);
    expect(r.lines).toBe(2); // 128 / 64
    // no new token: a copy is not a new write
    expect(c.tokenCount).toBe(before);
    expect(c.cachedCopies(dst)).toEqual([{ colour: 0, token: "cpu:1", dirty: true }]);
    expect(c.cachedCopies(dst + 64)).toEqual([{ colour: 0, token: "cpu:1", dirty: true }]);
    expect(c.label(c.memoryToken(dst))).toBe("init");
    // a coherent device snoops the dirty copy; a non-coherent one sees memory (and a device_read_stale)
    expect(c.deviceRead(dst, 128, true).map((x) => x.label)).toEqual(["cpu:1"]);
    expect(c.deviceRead(dst, 128, false).map((x) => x.label)).toEqual(["init"]);
    expect(c.hazards.map((h) => h.kind)).toEqual(["device_read_stale"]);
  });

  it("copying device-written memory back gives the CPU the device's token (the swiotlb copy-back)", () => {
    const { c } = mk();
    const bounce = 0xc000;
    const orig = G4 + 0x2000;
    const t = c.deviceWrite(bounce, 256, false); // dev:1 in memory
    c.cpuCopy(bounce, orig, 256);
    const seen = c.cpuRead(orig, 256);
    expect(seen).toEqual([{ start: orig, end: orig + 256, token: t, label: "dev:1" }]);
    expect(c.hazards).toEqual([]);
  });

  it("a stale cached source line is copied stale and reported (a missing sync before the copy)", () => {
    const { c } = mk();
    c.cpuRead(0x4000, 64); // line cached with init
    c.deviceWrite(0x4000, 64, false); // dev:1 in memory only (non-coherent)
    c.cpuCopy(0x4000, 0x9000, 64);
    expect(c.cachedCopies(0x9000)[0]!.token).toBe("init");
    expect(c.hazards.map((h) => h.kind)).toEqual(["stale_read"]);
  });

  it("offsets: each destination line takes the token of the source byte landing at its first copied byte", () => {
    const { c } = mk();
    // source lines 0x1000 (cpu:1) and 0x1040 (cpu:2)
    c.cpuWrite(0x1000, 64);
    c.cpuWrite(0x1040, 64);
    // copy 96 bytes from 0x1020 to 0x2000: dest line 0x2000 gets source byte 0x1020 (cpu:1),
    // dest line 0x2040 gets source byte 0x1020 + 0x40 = 0x1060 (cpu:2)
    c.cpuCopy(0x1020, 0x2000, 96);
    expect(c.cachedCopies(0x2000)[0]!.token).toBe("cpu:1");
    expect(c.cachedCopies(0x2040)[0]!.token).toBe("cpu:2");
  });

  it("an uncached destination is written to memory directly", () => {
    const { c } = mk();
    c.cpuWrite(0x1000, 64);
    c.cpuCopy(0x1000, 0x3000, 64, { toAttr: "uncached" });
    expect(c.label(c.memoryToken(0x3000))).toBe("cpu:1");
    expect(c.cachedCopies(0x3000)).toEqual([]);
  });

  it("VIPT: the destination line is dirty under the colour of the destination alias", () => {
    const { c } = mk({ indexing: "vipt-aliasing", wayBytes: 16384 }); // 4 colours
    c.cpuWrite(0x1000, 64);
    c.cpuCopy(0x1000, 0x8000, 64, { toVa: 0x3000 }); // colour (0x3000 / 4096) mod 4 = 3
    expect(c.cachedCopies(0x8000)).toEqual([{ colour: 3, token: "cpu:1", dirty: true }]);
  });

  it("rejects overlapping or bad ranges with nothing changed", () => {
    const { c } = mk();
    c.cpuWrite(0x1000, 64);
    const snap = JSON.stringify([c.footprint, c.cachedCopies(0x1000), c.tokenCount]);
    expect(() => c.cpuCopy(0x1000, 0x1020, 64)).toThrow(ModelConfigError);
    expect(() => c.cpuCopy(0x1000, 0x2000, 0)).toThrow(ModelConfigError);
    expect(() => c.cpuCopy(-64, 0x2000, 64)).toThrow(ModelConfigError);
    expect(JSON.stringify([c.footprint, c.cachedCopies(0x1000), c.tokenCount])).toBe(snap);
  });

  it("property: after copy + clean of the destination, memory at the destination equals what the CPU saw at the source", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ line: fc.integer({ min: 0, max: 31 }), dev: fc.boolean() }), { maxLength: 20 }), fc.integer({ min: 1, max: 32 * 64 }), (writes, size) => {
        const { c } = mk();
        const src = G4;
        const dst = 2 * G4;
        for (const w of writes) {
          if (w.dev) c.deviceWrite(src + w.line * 64, 64, true);
          else c.cpuWrite(src + w.line * 64, 64);
        }
        const view = c.lineStates(src, size, { coherent: true }).map((s) => s.deviceView);
        c.cpuCopy(src, dst, size);
        const lines = Math.ceil(size / 64);
        c.maintain({ kind: "clean", start: dst, end: dst + lines * 64, level: "inner", fn: "t" });
        const mem = [];
        for (let i = 0; i < lines; i++) mem.push(c.label(c.memoryToken(dst + i * 64)));
        // source and destination both start line-aligned: line i of dst = line i of src
        expect(mem).toEqual(view);
      }),
      { seed: 42, numRuns: 100 },
    );
  });
});

describe("CacheModel.cpuCopy: a copied (older) token is judged by when it was written", () => {
  it("reusing a bounce line the device wrote earlier: the copy's write-back is not a lost write", () => {
    const { c } = mk();
    const t1 = c.cpuWrite(0x10000, 64); // cpu:1 at the original
    c.deviceWrite(0x20000, 64, false); // dev:1 into the bounce line (an earlier mapping)
    // a new mapping copies cpu:1 (older than dev:1) into the bounce line, then cleans it (arch_sync_dma_for_device)
    c.cpuCopy(0x10000, 0x20000, 64);
    c.maintain({ kind: "clean", start: 0x20000, end: 0x20040, level: "inner", fn: "t" });
    expect(c.memoryToken(0x20000)).toBe(t1);
    // the copy happened after dev:1: writing it back overwrites nothing newer
    expect(c.hazards).toEqual([]);
  });

  it("a non-coherent device reading memory while the copy is still dirty in the cache: device_read_stale", () => {
    const { c } = mk();
    c.cpuWrite(0x10000, 64); // cpu:1
    c.deviceWrite(0x20000, 64, false); // dev:1 in memory
    c.cpuCopy(0x10000, 0x20000, 64); // cpu:1 copied, dirty, not cleaned
    expect(c.deviceRead(0x20000, 64, false).map((r) => r.label)).toEqual(["dev:1"]);
    expect(c.hazards.map((h) => [h.kind, h.seen, h.newer])).toEqual([["device_read_stale", "dev:1", "cpu:1"]]);
  });

  it("a later device write over a cached copy makes that copy stale for the CPU", () => {
    const { c } = mk();
    c.cpuWrite(0x10000, 64);
    c.cpuCopy(0x10000, 0x20000, 64); // cached dirty copy at 0x20000
    c.maintain({ kind: "clean", start: 0x20000, end: 0x20040, level: "inner", fn: "t" });
    c.deviceWrite(0x20000, 64, false); // dev:1, the clean cached copy is not invalidated (non-coherent)
    expect(c.cpuRead(0x20000, 64).map((r) => r.label)).toEqual(["cpu:1"]);
    expect(c.hazards.map((h) => h.kind)).toEqual(["stale_read"]);
  });
});
