import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ModelConfigError } from "../../lib/core/errors.js";
import { runIommuGapsCase, runIommuGapsReleases, THREAD_SEGMENTS, iommuGapsTable } from "../../lib/scenarios/01-iommu-gaps.js";
import { iommuGapsSpec, iovaLayoutRows } from "../../lib/viz/iova.js";

const K = 1024;

describe("case 01 golden: {64K, 16K, 64K} with a 4K IOVA granule", () => {
  it("v4.4: the thread's failure, 'contiguous mapping is too small 81920/147456'", () => {
    const r = runIommuGapsCase({ segments: [...THREAD_SEGMENTS], kernel: "v4.4" });
    // Hand computation of v4.4's padding (pad = (P - iova_len) mod P, P = roundup_pow_of_two(len)):
    //   piece 0 (64K): first, at 0;                     iova_len = 64K
    //   piece 1 (16K): P = 16K, (16K - 64K) mod 16K = 0 -> at 64K;  iova_len = 80K
    //   piece 2 (64K): P = 64K, (64K - 80K) mod 64K = 48K -> piece 1 padded by 48K,
    //                  piece 2 at 128K;                iova_len = 192K
    // DMA segments: 64K at 0, 16K at 64K, 64K at 128K: contiguous prefix 64K + 16K = 81920 bytes,
    // buffer 64K + 16K + 64K = 147456 bytes.
    expect(r.segments.map((s) => [s.iovaOffset, s.iovaLength, s.padding])).toEqual([
      [0, 64 * K, 0],
      [64 * K, 16 * K, 48 * K],
      [128 * K, 64 * K, 0],
    ]);
    expect(r.iovaLen).toBe(192 * K);
    expect(r.dmaSegments.map((s) => [s.offset, s.length])).toEqual([
      [0, 64 * K],
      [64 * K, 16 * K],
      [128 * K, 64 * K],
    ]);
    expect(r.contiguousSize).toBe(81920);
    expect(r.requestedSize).toBe(147456);
    expect(r.ok).toBe(false);
    expect(r.errName).toBe("-EFAULT");
    expect(r.message).toBe("contiguous mapping is too small 81920/147456");
    expect(r.iovaEmptyAfter).toBe(true);
  });

  it("later releases lay the pieces back to back and the import succeeds", () => {
    for (const r of runIommuGapsReleases({ segments: [...THREAD_SEGMENTS] }, ["v4.7", "v4.19", "v5.4", "v5.10", "v6.19"])) {
      // Boundary-only padding: none (the 144K list crosses no 4 GiB boundary): pieces at 0, 64K, 80K.
      expect(r.segments.map((s) => [s.iovaOffset, s.padding])).toEqual([
        [0, 0],
        [64 * K, 0],
        [80 * K, 0],
      ]);
      expect(r.ok).toBe(true);
      expect(r.contiguousSize).toBe(147456);
      expect(r.message).toBeNull();
      // The 64K default max_seg_size keeps 3 DMA segments: 64K; 64K+16K > 64K; 16K+64K > 64K.
      expect(r.dmaSegments.map((s) => s.length)).toEqual([64 * K, 16 * K, 64 * K]);
      expect(r.iovaEmptyAfter).toBe(true);
    }
  });

  it("raising max_seg_size (vb2_dma_contig_set_max_seg_size) gives one 144K DMA segment from v4.8; v4.4 still fails", () => {
    const [old, v48, v619] = runIommuGapsReleases({ segments: [...THREAD_SEGMENTS], maxSegSize: 0xffffffff }, ["v4.4", "v4.8", "v6.19"]);
    expect(old!.ok).toBe(false);
    expect(old!.dmaSegments.length).toBe(3); // v4.4 never merges
    expect(v48!.maxSegSizeSource).toBe("vb2_dma_contig_set_max_seg_size");
    for (const r of [v48!, v619!]) expect(r.dmaSegments.map((s) => s.length)).toEqual([144 * K]);
  });

  it("a 128K max_seg_size splits into 80K + 64K (hand: 64K+16K fits, +64K does not)", () => {
    const r = runIommuGapsCase({ segments: [...THREAD_SEGMENTS], kernel: "v6.19", maxSegSize: 128 * K });
    expect(r.dmaSegments.map((s) => s.length)).toEqual([80 * K, 64 * K]);
  });

  it("the placement is seeded and the layout does not depend on it", () => {
    const a = runIommuGapsCase({ segments: [...THREAD_SEGMENTS], kernel: "v4.4", seed: 1 });
    const b = runIommuGapsCase({ segments: [...THREAD_SEGMENTS], kernel: "v4.4", seed: 1 });
    const c = runIommuGapsCase({ segments: [...THREAD_SEGMENTS], kernel: "v4.4", seed: 2 });
    expect(a.segments.map((s) => s.phys)).toEqual(b.segments.map((s) => s.phys));
    expect(a.segments.map((s) => s.phys)).not.toEqual(c.segments.map((s) => s.phys));
    expect(c.message).toBe(a.message);
    const d = runIommuGapsCase({ segments: [...THREAD_SEGMENTS], kernel: "v4.4", physAddrs: [0x60000000, 0x70000000, 0x48000000] });
    expect(d.segments.map((s) => s.phys)).toEqual([0x60000000, 0x70000000, 0x48000000]);
  });

  it("rejects bad parameters with ModelConfigError", () => {
    expect(() => runIommuGapsCase({ segments: [65536, 1000], kernel: "v4.4" })).toThrow(ModelConfigError);
    expect(() => runIommuGapsCase({ segments: [], kernel: "v4.4" })).toThrow(ModelConfigError);
    expect(() => runIommuGapsCase({ segments: [4096], kernel: "v4.4", granule: 8192 })).toThrow(ModelConfigError);
    expect(() => runIommuGapsCase({ segments: [4096], kernel: "v4.4", segBoundaryMask: 0x1234 })).toThrow(ModelConfigError);
    expect(() => runIommuGapsCase({ segments: [8192, 8192], kernel: "v4.4", physAddrs: [0x50000000, 0x50001000] })).toThrow(ModelConfigError);
    expect(() => runIommuGapsCase({ segments: [4096], kernel: "v4.4", physAddrs: [0x10000000] })).toThrow(ModelConfigError);
  });

  it("table rows and chart specs come from the results", () => {
    const rs = runIommuGapsReleases({ segments: [...THREAD_SEGMENTS] }, ["v4.4", "v6.19"]);
    const rows = iommuGapsTable(rs);
    expect(rows[0]!["contiguous/requested"]).toBe("81920/147456");
    expect(rows[1]!["result"]).toBe("ok");
    const bars = iovaLayoutRows(rs).filter((x) => x["kind"] !== "piece (mapped)");
    expect(bars).toEqual([expect.objectContaining({ kernel: "v4.4", start: 80 * K, end: 128 * K })]);
    const spec = iommuGapsSpec(rs);
    expect(spec["$schema"]).toBe("https://vega.github.io/schema/vega-lite/v5.json");
  });
});

describe("case 01 properties: random page-aligned piece lists", () => {
  it("every release: DMA segments inside the laid-out IOVA range, total = buffer on success, everything freed", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }),
        fc.constantFrom("v4.4", "v4.7", "v5.4", "v6.19"),
        fc.integer({ min: 0, max: 1000 }),
        (pages, kernel, seed) => {
          const segments = pages.map((p) => p * 4096);
          const r = runIommuGapsCase({ segments, kernel, seed });
          const total = segments.reduce((a, b) => a + b, 0);
          expect(r.requestedSize).toBe(total);
          let sum = 0;
          for (const s of r.dmaSegments) {
            expect(s.offset).toBeGreaterThanOrEqual(0);
            expect(s.offset + s.length).toBeLessThanOrEqual(r.iovaLen);
            sum += s.length;
          }
          expect(sum).toBe(total);
          // Pieces never overlap in IOVA space.
          const iv = [...r.segments].sort((a, b) => a.iovaOffset - b.iovaOffset);
          for (let i = 1; i < iv.length; i++) expect(iv[i]!.iovaOffset).toBeGreaterThanOrEqual(iv[i - 1]!.iovaOffset + iv[i - 1]!.iovaLength + iv[i - 1]!.padding);
          // From v4.7 nothing is padded for a list below 4 GiB, so the import always succeeds.
          if (kernel !== "v4.4") expect(r.ok).toBe(true);
          expect(r.ok).toBe(r.contiguousSize === total);
          expect(r.iovaEmptyAfter).toBe(true);
        },
      ),
      { numRuns: 80 },
    );
  });
});
