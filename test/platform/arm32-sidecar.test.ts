import { describe, expect, it } from "vitest";
import { ProfileError, loadPlatformProfile } from "../../lib/platform/profile.js";
import { loadArm32Sidecar, validateArm32Sidecar } from "../../lib/platform/arm32-sidecar.js";

const MiB = 1048576;

describe("data/platforms/arm32 sidecars", () => {
  for (const id of ["bcm2836-rpi-2-b", "exynos5422-odroidxu4"]) {
    it(`${id}: valid, consistent with its profile and the kernel's lowmem rule`, () => {
      const s = loadArm32Sidecar(id);
      const p = loadPlatformProfile(s.profile);
      expect(p.arch).toBe("arm");
      const bank = p.ram[0]!;
      // adjust_lowmem_bounds: lowmem ends at min(RAM end, PHYS_OFFSET + 0xf0000000 - PAGE_OFFSET).
      expect(s.lowmemLimit).toBe(Math.min(bank.base + bank.size, bank.base + (0xf0000000 - s.pageOffset)));
      expect(s.coherentPool).toBe(256 * 1024);
      expect(s.cma).not.toBeNull();
      // CMA areas are 4 MiB aligned and, here, inside lowmem.
      expect(s.cma!.base % (4 * MiB)).toBe(0);
      expect(s.cma!.size % (4 * MiB)).toBe(0);
      expect(s.cma!.base + s.cma!.size).toBeLessThanOrEqual(s.lowmemLimit);
      expect(s.cma!.base).toBeGreaterThanOrEqual(bank.base);
      expect(s.sources.length).toBeGreaterThan(0);
    });
  }

  it("RPi 2: 2-level, 3G split, DT CMA 64 MiB matching the profile's reserved node", () => {
    const s = loadArm32Sidecar("bcm2836-rpi-2-b");
    const p = loadPlatformProfile("bcm2836-rpi-2-b");
    expect([s.lpae, s.vmsplit, s.lowmemLimit]).toEqual([false, "3G", 0x30000000]);
    const node = p.reserved.find((r) => r.cmaDefault)!;
    expect([node.base, node.size, node.reusable]).toEqual([s.cma!.base, s.cma!.size, true]);
  });

  it("Odroid-XU4: LPAE with VMSPLIT_2G (lpae.config)", () => {
    const s = loadArm32Sidecar("exynos5422-odroidxu4");
    // PHYS_OFFSET 0x40000000 + (0xf0000000 - 0x80000000) = 0xb0000000.
    expect([s.lpae, s.pageOffset, s.lowmemLimit]).toEqual([true, 0x80000000, 0xb0000000]);
  });

  it("a PAGE_OFFSET that does not match the split is rejected, naming the field", () => {
    const s = JSON.parse(JSON.stringify(loadArm32Sidecar("exynos5422-odroidxu4")));
    s.pageOffset = "0xc0000000";
    expect(() => validateArm32Sidecar(s)).toThrow(/pageOffset/);
    s.vmsplit = "4G";
    expect(() => validateArm32Sidecar(s)).toThrow(ProfileError);
  });
});
