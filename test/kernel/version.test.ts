import { describe, expect, it } from "vitest";
import { ModelConfigError, atLeast, compareVersions, defineChange, inForce, kernelChanges, parseKernelVersion } from "../../lib/index.js";

describe("kernel release names", () => {
  it("parses vX.Y and ignores stable suffixes", () => {
    expect(parseKernelVersion("v4.4")).toMatchObject({ major: 4, minor: 4, name: "v4.4" });
    expect(parseKernelVersion("5.4.6").name).toBe("v5.4");
    expect(() => parseKernelVersion("linux-5.4")).toThrow(ModelConfigError);
    expect(() => parseKernelVersion("v1.0")).toThrow(/between v2.6/);
  });
  it("orders releases numerically, not as strings", () => {
    // "v5.10" > "v5.4" numerically, although "10" < "4" as strings
    expect(compareVersions("v5.10", "v5.4")).toBeGreaterThan(0);
    expect(compareVersions("v4.19", "v4.7")).toBeGreaterThan(0);
    expect(compareVersions("v4.6", "v4.7")).toBeLessThan(0);
    expect(compareVersions("v6.0", "v5.19")).toBeGreaterThan(0);
  });
  it("applies a change from its release on", () => {
    const c = defineChange({
      id: "test-change",
      since: "v5.5",
      commit: "34dc0ea6bc96",
      subject: "dma-direct: provide mmap and get_sgtable method overrides",
      files: ["kernel/dma/direct.c"],
      effect: "test only",
      bracket: "unbracketed: a test-only change, read in no tree",
    });
    expect(inForce("v5.4", c)).toBe(false);
    expect(atLeast("v5.5", c)).toBe(true);
    // atLeast takes registered changes only: a look-alike object is refused.
    expect(() => atLeast("v5.5", { ...c })).toThrow(/registered/);
    expect(inForce("v5.5", c)).toBe(true);
    expect(kernelChanges().some((k) => k.id === "test-change")).toBe(true);
    expect(() => defineChange({ ...c, since: "v5.6" })).toThrow(/already defined/);
  });
});

describe("atLeast remembers its last answer per change without changing any answer", () => {
  it("releases asked in any order, as names and as parsed objects, get since <= release, by major then minor", () => {
    const cs = kernelChanges().slice(0, 12);
    const releases = ["v4.4", "v4.19", "v5.4", "v5.10", "v5.15", "v6.1", "v6.6", "v6.19"];
    // a fixed shuffle of (release, change, form) triples, each release revisited after others
    for (let i = 0; i < 400; i++) {
      const name = releases[(i * 7 + Math.floor(i / 5)) % releases.length]!;
      const c = cs[(i * 5) % cs.length]!;
      const [maj, min] = name.slice(1).split(".").map(Number) as [number, number];
      const [smaj, smin] = c.since.slice(1).split(".").map(Number) as [number, number];
      const expected = maj > smaj || (maj === smaj && min >= smin);
      const v = i % 3 === 0 ? parseKernelVersion(name) : name;
      expect(atLeast(v, c), `${name} >= ${c.since} (${c.id})`).toBe(expected);
    }
  });

  it("a release object the caller may change is asked again each time", () => {
    const c = kernelChanges().find((x) => x.since !== "v4.4")!;
    const [smaj, smin] = c.since.slice(1).split(".").map(Number) as [number, number];
    const v = { major: smaj, minor: smin, name: c.since };
    expect(atLeast(v, c)).toBe(true);
    // the same object, now one minor release earlier (or the last of the previous major)
    if (smin > 0) v.minor = smin - 1;
    else v.major = smaj - 1;
    expect(atLeast(v, c)).toBe(false);
  });
});
