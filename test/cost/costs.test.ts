import { describe, expect, it } from "vitest";
import { loadCosts, validateCostFile } from "../../lib/cost/schema.js";
import { loadPlatformProfile } from "../../lib/platform/profile.js";

const IDS = ["x86-64-pc", "arm64-server", "am335x-beaglebone-black", "parisc-c8000"];

describe("data/costs", () => {
  it("every platform profile of case 00 names a cost file that loads", () => {
    for (const id of IDS) {
      const p = loadPlatformProfile(id);
      expect(p.costs).toBe(id);
      const c = loadCosts(p.costs!);
      expect(c.notes.length).toBeGreaterThan(0);
      for (const v of Object.values(c.params)) expect(v.source.length).toBeGreaterThan(5);
    }
  });

  it("BeagleBone uncached copy cost is the pwc measurement: 1e9 / 28.1e6 B/s = 35.6 ns/byte (not an estimate)", () => {
    const c = loadCosts("am335x-beaglebone-black").params;
    expect(c.uncachedByteNs.value).toBeCloseTo(1e9 / 28.1e6, 1);
    expect(c.uncachedByteNs.estimate).toBe(false);
    // The cached figure: 1e9 / 94e6 = 10.6 ns/byte measured including the sync; the file keeps ~10.
    expect(c.cachedByteNs.value).toBeLessThanOrEqual(1e9 / 94e6);
    // No per-line measurement exists anywhere: every per-line figure on a maintaining platform is an estimate.
    for (const id of ["am335x-beaglebone-black", "arm64-server", "parisc-c8000"]) {
      const p = loadCosts(id).params;
      expect([p.lineCleanNs.estimate, p.lineInvalidateNs.estimate, p.lineCleanInvalidateNs.estimate]).toEqual([true, true, true]);
    }
  });

  it("x86: the i5-3470 copy cost, 2.5 GB/s midpoint of 3.4 and 2.0 GB/s -> 0.4 ns/byte", () => {
    expect(loadCosts("x86-64-pc").params.cachedByteNs.value).toBeCloseTo(1e9 / 2.5e9, 2);
  });

  it("an invalid cost file is rejected naming the field", () => {
    expect(() => validateCostFile({ id: "x", description: "d", params: {}, notes: ["n"] }, "bad.json")).toThrow(/bad.json: params/);
    expect(() => loadCosts("no-such-platform")).toThrow(/costs/);
  });
});
