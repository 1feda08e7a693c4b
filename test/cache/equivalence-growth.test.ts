/**
 * The cache model's growing stores: SpecRanges' typed arrays double when
 * full (64 slots at first), the memory IntervalMap grows run by run (its
 * append path). Here a sequence registers hundreds of speculation ranges and
 * writes hundreds of distinct memory runs, past several doublings, with removals (compaction)
 * and steps that fill from the ranges (specFillProb 1), on CacheModel and on
 * the reference model of test/cache/reference-model.ts (plain arrays and
 * Maps): every result, event and final line state must agree.
 */
import { describe, expect, it } from "vitest";
import { CacheModel } from "../../lib/cache/model.js";
import { createPrng } from "../../lib/core/prng.js";
import { Trace } from "../../lib/core/trace.js";
import { ReferenceCacheModel } from "./reference-model.js";

const LINE = 64;
const PAGE = 4096;
const BASE = 2 ** 32 + 0x100000;
const PAGES = 600;

describe("CacheModel's growing typed-array stores against the reference model", () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`600 pages, ranges and device writes past several doublings (seed ${seed})`, () => {
      const cfg = { lineSize: LINE, sizeBytes: 8192, specFillProb: 1, evictProb: 0.2 };
      const ta = new Trace();
      const tb = new Trace();
      const a = new CacheModel(cfg, ta, createPrng(seed));
      const b = new ReferenceCacheModel(cfg, tb, createPrng(seed));
      const ops = createPrng(seed * 31);
      const ids: number[] = [];
      let maxLive = 0;
      for (let i = 0; i < 2000; i++) {
        const k = ops.nextInt(100);
        const pa = BASE + ops.nextInt(PAGES) * PAGE;
        if (k < 30) {
          const id = a.addSpeculationRange(pa, PAGE);
          expect(b.addSpeculationRange(pa, PAGE)).toBe(id);
          ids.push(id);
          maxLive = Math.max(maxLive, a.footprint.specRanges);
        } else if (k < 45 && ids.length > 0) {
          const id = ids[ops.nextInt(ids.length)]!;
          a.removeSpeculationRange(id);
          b.removeSpeculationRange(id);
        } else if (k < 75) {
          // a page (or its first half) written by the device: a new memory run per write
          const size = ops.nextInt(2) === 0 ? PAGE : PAGE / 2;
          expect(a.deviceWrite(pa, size, false)).toBe(b.deviceWrite(pa, size, false));
        } else if (k < 85) {
          const at = pa + LINE * ops.nextInt(PAGE / LINE);
          expect(a.cpuWrite(at, LINE)).toBe(b.cpuWrite(at, LINE));
        } else {
          a.step("after op");
          b.step("after op");
        }
      }
      expect(ta.events().map((e) => [e.kind, e.msg])).toEqual(tb.events().map((e) => [e.kind, e.msg]));
      expect(a.stats).toEqual(b.stats);
      // past the first doublings: more than 128 live ranges (64 slots at first); more than 64 memory runs
      expect(maxLive).toBeGreaterThan(128);
      expect(a.footprint.memoryRuns).toBeGreaterThan(64);
      expect(ta.ofKind("spec_fill").length).toBeGreaterThan(0);
      for (let p = 0; p < PAGES; p++) expect(a.lineStates(BASE + p * PAGE, PAGE)).toEqual(b.lineStates(BASE + p * PAGE, PAGE));
    });
  }
});
