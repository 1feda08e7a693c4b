import { describe, expect, it } from "vitest";
import { ModelConfigError } from "../../lib/core/errors.js";
import { runTour } from "../../lib/scenarios/00-tour.js";
import { runIommuGapsCase } from "../../lib/scenarios/01-iommu-gaps.js";
import { runCase02 } from "../../lib/scenarios/02-coherent-no-page.js";
import { case04Run } from "../../lib/scenarios/04-dma32-vmalloc.js";
import { checkModelledKernel, isModelledKernel, modelledReleases } from "../../lib/scenarios/params.js";
import { memoLast, paramOfField } from "../../lib/scenarios/live/types.js";

/** Run f, expect a ModelConfigError, return it. */
function configError(f: () => unknown): ModelConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelConfigError);
    return e as ModelConfigError;
  }
  throw new Error("expected a ModelConfigError");
}

describe("scenario parameters are validated (issue 10 item 5)", () => {
  it("an unknown case 02 variant is an error naming the parameter, the allowed values and their source", () => {
    const e = configError(() => runCase02({ board: "uniphier-pxs3", kernel: "v5.4", variant: "basline" as never }));
    expect(e.field).toBe("variant");
    expect(e.value).toBe("basline");
    expect(e.allowed).toContain("baseline");
    expect(e.allowed).toContain("rfc-nopage");
    expect(e.allowed).toContain("CASE02_VARIANTS");
  });

  it("an unknown parameter name is an error, never silently ignored", () => {
    const e = configError(() => runCase02({ board: "uniphier-pxs3", kernel: "v5.4", variant: "baseline", varient: "x" } as never));
    expect(e.field).toBe("varient");
    expect(e.allowed).toContain("variant");
  });

  it("a string where a boolean belongs is rejected (\"false\" would be truthy)", () => {
    const e = configError(() => case04Run({ iommu: "false" as never }));
    expect(e.field).toBe("iommu");
    expect(e.allowed).toMatch(/true or false/);
    const t = configError(() => runTour({ syncs: { rxSyncForCpu: "no" } } as never));
    expect(t.field).toBe("syncs.rxSyncForCpu");
  });

  it("a board that is not a profile, and a device the board does not have, are named with the choices", () => {
    const p = configError(() => runTour({ platform: "beaglebone" }));
    expect(p.field).toBe("platform");
    expect(p.allowed).toContain("am335x-beaglebone-black");
    expect(p.allowed).toContain("data/platforms");
    const d = configError(() => runTour({ platform: "am335x-beaglebone-black", device: "no-such-nic" }));
    expect(d.field).toBe("device");
    const b = configError(() => runCase02({ board: "x86-64-pc" as never, kernel: "v5.4", variant: "baseline" }));
    expect(b.field).toBe("board");
    expect(b.allowed).toContain("exynos5422-odroidxu4");
  });

  it("releases outside the modelled range (v4.4 .. v6.19) are rejected, not answered with the nearest release", () => {
    expect(isModelledKernel("v4.4")).toBe(true);
    expect(isModelledKernel("v6.19")).toBe(true);
    expect(isModelledKernel("v4.3")).toBe(false);
    expect(isModelledKernel("v6.20")).toBe(false);
    expect(isModelledKernel("v7.0")).toBe(false);
    expect(checkModelledKernel("5.4.6")).toBe("v5.4");
    for (const k of ["v4.3", "v3.18", "v7.0"]) {
      const e = configError(() => runIommuGapsCase({ segments: [65536, 16384, 65536], kernel: k }));
      expect(e.field).toBe("kernel");
      expect(e.allowed).toContain("v4.4");
      expect(e.allowed).toContain("v6.19");
    }
    expect(configError(() => case04Run({ kernel: "v3.10" })).field).toBe("kernel");
    expect(configError(() => runTour({ kernel: "v7.1" })).field).toBe("kernel");
  });

  it("numbers out of range and of the wrong kind name the parameter and the range", () => {
    const e = configError(() => case04Run({ buffers: 33 }));
    expect(e.field).toBe("buffers");
    expect(e.allowed).toContain("[1, 32]");
    expect(configError(() => case04Run({ fragmentFraction: Number.NaN })).field).toBe("fragmentFraction");
    expect(configError(() => runIommuGapsCase({ segments: [65536, -1], kernel: "v4.4" })).field).toBe("segments.1");
    expect(configError(() => runTour({ specFillProb: 2 })).field).toBe("specFillProb");
  });
});

describe("modelledReleases: the release choices of the live pages", () => {
  it("lists every mainline release from v4.4 to v6.19", () => {
    const r = modelledReleases();
    // v4.4..v4.20 is 17 releases (4.20 was the last 4.x), v5.0..v5.19 is 20 (5.19 the last 5.x), v6.0..v6.19 is 20
    expect(r.length).toBe(17 + 20 + 20);
    expect(r.slice(0, 2)).toEqual(["v4.4", "v4.5"]);
    expect(r.slice(16, 18)).toEqual(["v4.20", "v5.0"]);
    expect(r.slice(36, 38)).toEqual(["v5.19", "v6.0"]);
    expect(r[r.length - 1]).toBe("v6.19");
    expect(r.every((v) => isModelledKernel(v))).toBe(true);
  });
});

describe("live module helpers", () => {
  it("memoLast calls the function once per distinct argument among the last ones, and not again for a cached one", () => {
    let calls = 0;
    const f = memoLast((a: { x: number }) => {
      calls++;
      return a.x * 2;
    }, 2);
    expect([f({ x: 1 }), f({ x: 1 }), f({ x: 2 }), f({ x: 1 })]).toEqual([2, 2, 4, 2]);
    expect(calls).toBe(2);
    // a third key drops the oldest (x: 1 was stored first)
    f({ x: 3 });
    f({ x: 1 });
    expect(calls).toBe(4);
  });
  it("paramOfField maps a field's head through aliases, else keeps a known parameter", () => {
    expect(paramOfField("segments.1", ["segments"])).toBe("segments");
    expect(paramOfField("kernel", ["release"], { kernel: "release" })).toBe("release");
    expect(paramOfField("device", ["release"])).toBe(null);
  });
});
