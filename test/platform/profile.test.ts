/**
 * Platform profile schema: errors name the file, the field path, the value
 * and what was expected; cross-field checks; every shipped profile loads.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import { readdirSync, writeFileSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { z } from "zod";
import { loadPlatformProfile, platformsDir, ProfileError, validatePlatformProfile, zPlatformProfile, type PlatformProfile } from "../../lib/platform/profile.js";
import { createMachine } from "../../lib/platform/machine.js";

const good = () => JSON.parse(JSON.stringify(loadPlatformProfile("uniphier-pxs3"))) as Record<string, unknown> & PlatformProfile;

function issues(raw: unknown, file = "bad.json"): ProfileError {
  try {
    validatePlatformProfile(raw, file);
  } catch (e) {
    if (e instanceof ProfileError) return e;
    throw e;
  }
  throw new Error("expected a ProfileError");
}

describe("valid profiles", () => {
  it("every file in data/platforms loads and builds a machine", () => {
    const files = readdirSync(platformsDir()).filter((f) => f.endsWith(".json"));
    expect(files).toContain("uniphier-pxs3.json");
    expect(files).toContain("exynos5422-odroidxu4.json");
    for (const f of files) {
      const p = loadPlatformProfile(f.replace(/\.json$/, ""));
      expect(p.id).toBe(f.replace(/\.json$/, ""));
      expect(createMachine(p).devices.size).toBe(p.devices.length);
    }
  });
  it("PXS3 profile: hex strings parsed, defaults filled", () => {
    const p = loadPlatformProfile("uniphier-pxs3");
    expect(p.ram).toEqual([{ base: 0x80000000, size: 0xa0000000 }]);
    expect(p.reserved[1]).toEqual({ name: "encbuffer", base: 0xb0000000, size: 0x08000000, compatible: "shared-dma-pool", noMap: true, reusable: false, cmaDefault: false });
    expect(p.devices[0]!.memoryRegion).toBe("encbuffer");
    expect(p.devices[0]!.bus).toBe("platform");
  });
  it("the written-out PlatformProfile type matches what the schema produces", () => {
    expectTypeOf<z.infer<typeof zPlatformProfile>>().toMatchTypeOf<PlatformProfile>();
    expectTypeOf<PlatformProfile>().toMatchTypeOf<z.infer<typeof zPlatformProfile>>();
  });
});

describe("schema errors name file, path, value and expectation", () => {
  it("a size that is not a number", () => {
    const raw = good();
    (raw.ram as unknown as Array<Record<string, unknown>>)[0]!["size"] = "lots";
    const e = issues(raw, "data/platforms/x.json");
    expect(e.file).toBe("data/platforms/x.json");
    expect(e.issues[0]!.path).toBe("ram.0.size");
    expect(e.issues[0]!.value).toBe("lots");
    expect(e.issues[0]!.message).toMatch(/expected an integer in \[0, 2\^53\)/);
    expect(e.message).toContain("data/platforms/x.json");
    expect(e.message).toContain("at ram.0.size");
  });
  it("a DMA mask outside 1..64 bits and an unknown field", () => {
    const raw = good();
    (raw.devices as unknown as Array<Record<string, unknown>>)[0]!["dmaMaskBits"] = 65;
    (raw as Record<string, unknown>)["colour"] = "blue";
    const e = issues(raw);
    const paths = e.issues.map((i) => i.path);
    expect(paths).toContain("devices.0.dmaMaskBits");
    expect(e.issues.find((i) => i.path === "devices.0.dmaMaskBits")!.value).toBe(65);
    expect(e.issues.some((i) => /colour/.test(i.message))).toBe(true);
  });
  it("a missing sources list", () => {
    const raw = good();
    delete (raw as Record<string, unknown>)["sources"];
    expect(issues(raw).issues[0]!.path).toBe("sources");
  });
});

describe("cross-field checks", () => {
  it("memory-region must name a reserved node; iommu must name an IOMMU", () => {
    const raw = good();
    raw.devices[0]!.memoryRegion = "nope";
    raw.devices[1]!.iommu = "smmu";
    const e = issues(raw);
    expect(e.issues.map((i) => [i.path, i.value])).toEqual([
      ["devices.0.memoryRegion", "nope"],
      ["devices.1.iommu", "smmu"],
    ]);
  });
  it("reserved regions must lie inside RAM and not overlap; MMIO must not overlap RAM; device names unique", () => {
    const raw = good();
    raw.reserved.push({ name: "outside", base: 0x40000000, size: 0x1000, noMap: true, reusable: false, cmaDefault: false });
    raw.reserved.push({ name: "overlap", base: 0xb7fff000, size: 0x2000, noMap: true, reusable: false, cmaDefault: false });
    raw.mmio.push({ name: "bad-mmio", base: 0x8ffff000, size: 0x2000 });
    raw.devices.push({ ...raw.devices[1]! });
    const paths = issues(raw).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(["reserved.2", "reserved.3", "mmio.1", "devices.2.name"]));
  });
  it("overlapping RAM banks and unaligned banks", () => {
    const raw = good();
    raw.ram.push({ base: 0x90000000, size: 0x1000 });
    raw.ram.push({ base: 0x200000800, size: 0x1000 });
    const e = issues(raw);
    expect(e.issues.some((i) => i.path === "ram" && /overlap/.test(i.message))).toBe(true);
    expect(e.issues.some((i) => i.path === "ram.2")).toBe(true);
  });
  it("layout: vmallocStart must be below vmallocEnd", () => {
    const raw = good();
    raw.layout = { vaBits: 48, pageOffset: "0xffff000000000000", physOffset: 0x80000000, vmallocStart: "0xffff900000000000", vmallocEnd: "0xffff800000000000", linearMapGranularity: "block" };
    expect(issues(raw).issues.map((i) => i.path)).toContain("layout.vmallocEnd");
  });
  it("a file whose id does not match its name is rejected", () => {
    const dir = mkdtempSync(join(tmpdir(), "prof-"));
    const f = join(dir, "other-name.json");
    writeFileSync(f, JSON.stringify(good()));
    expect(() => loadPlatformProfile(f)).toThrow(/expected the file name stem "other-name"/);
    const g = join(dir, "broken.json");
    writeFileSync(g, "{ not json");
    expect(() => loadPlatformProfile(g)).toThrow(ProfileError);
  });
});
