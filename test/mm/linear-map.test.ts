/**
 * Linear-map translations and the per-release kernel VA layout.
 * Every expected value is computed by hand from the kernel's definitions
 * (cited per test), never from the model's output.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createMachine } from "../../lib/platform/machine.js";
import { loadPlatformProfile } from "../../lib/platform/profile.js";
import { fmtVirtAddr } from "../../lib/core/addr.js";
import { ModelConfigError } from "../../lib/core/errors.js";
import { isLinearMapAddr, kernelLayout, physToVirt, virtToPhys } from "../../lib/mm/linear-map.js";

const va = (x: number) => fmtVirtAddr(x, 48);

describe("arm64 layout per release (arch/arm64/include/asm/memory.h)", () => {
  it("v4.19: PAGE_OFFSET = 2^64 - 2^47 (top half), VMALLOC_START = VA_START + 128M modules", () => {
    const m = createMachine("uniphier-pxs3", { kernel: "v4.19" });
    const l = kernelLayout(m);
    expect(va(l.pageOffset)).toBe("0xffff800000000000");
    // VA_START 0xffff000000000000 + KASAN 0 + BPF JIT 128M (v5.0+, not here) + MODULES_VSIZE 128M
    expect(va(l.vmallocStart)).toBe("0xffff000008000000");
    // VMALLOC_END = PAGE_OFFSET - PUD_SIZE(1G) - VMEMMAP_SIZE(2^41) - 64K
    expect(va(l.vmallocEnd)).toBe("0xffff7dffbfff0000");
    // VMEMMAP_START = PAGE_OFFSET - 2^41
    expect(va(l.vmemmapStart)).toBe("0xffff7e0000000000");
    // memstart_addr: lowest RAM 0x80000000 rounded down to 1 GiB
    expect(l.physOffset).toBe(0x80000000);
  });

  it("v5.4 (14c127c957c1 flipped VA space): PAGE_OFFSET = -(2^48), vmalloc above PAGE_END + BPF 128M + modules 128M", () => {
    const l = kernelLayout(createMachine("uniphier-pxs3", { kernel: "v5.4" }));
    expect(va(l.pageOffset)).toBe("0xffff000000000000");
    expect(va(l.vmallocStart)).toBe("0xffff800010000000");
    // VMEMMAP_START = -VMEMMAP_SIZE - 2M = 2^64 - 2^41 - 2^21
    expect(va(l.vmemmapStart)).toBe("0xfffffdffffe00000");
    // VMALLOC_END = -PUD_SIZE - VMEMMAP_SIZE - 64K
    expect(va(l.vmallocEnd)).toBe("0xfffffdffbfff0000");
  });

  it("v5.11 (absent in v5.10.89 Prashant446/linux-5.10.89, present in v5.11.0 CompressionDuck/linux-5.11): VMEMMAP_START = -(1 << (VA_BITS - VMEMMAP_SHIFT)), VMALLOC_END = VMEMMAP_START - 256M", () => {
    // v5.10: VMEMMAP_START = -2^41 - 2M, VMALLOC_END = -1G - 2^41 - 64K (as v5.4).
    const a = kernelLayout(createMachine("uniphier-pxs3", { kernel: "v5.10" }));
    expect(va(a.vmemmapStart)).toBe("0xfffffdffffe00000");
    expect(va(a.vmallocEnd)).toBe("0xfffffdffbfff0000");
    // v5.11: VMEMMAP_SHIFT = 12 - 6 = 6, VMEMMAP_START = -(2^(48 - 6)) = 2^64 - 2^42;
    // VMALLOC_END = 2^64 - 2^42 - 2^28.
    const b = kernelLayout(createMachine("uniphier-pxs3", { kernel: "v5.11" }));
    expect(va(b.vmemmapStart)).toBe("0xfffffc0000000000");
    expect(va(b.vmallocEnd)).toBe("0xfffffbfff0000000");
  });

  it("v6.9 (absent in v6.8.0 vivo50kff/linux-6.8, present in v6.9.0 ec-jt/linux-6.9.0): VMEMMAP_END = -1G; v6.8 keeps the v5.11 values", () => {
    const a = kernelLayout(createMachine("uniphier-pxs3", { kernel: "v6.8" }));
    expect(va(a.vmemmapStart)).toBe("0xfffffc0000000000");
    expect(va(a.vmallocEnd)).toBe("0xfffffbfff0000000");
    // v6.9: VMEMMAP_START = -1G - 2^41, VMALLOC_END = VMEMMAP_START - 8M.
    const b = kernelLayout(createMachine("uniphier-pxs3", { kernel: "v6.9" }));
    expect(va(b.vmemmapStart)).toBe("0xfffffdffc0000000");
    expect(va(b.vmallocEnd)).toBe("0xfffffdffbf800000");
  });

  it("v5.17 (b89ddf4cca43; absent in v5.15.16 yashlala/fastswap-linux-5.16.16, present in v5.17-rc5 dunli/linux-5.17): the BPF JIT region is gone", () => {
    // v5.16: VMALLOC_START = PAGE_END + BPF 128M + modules 128M = 2^64 - 2^47 + 2^28; v5.17: PAGE_END + 128M.
    expect(va(kernelLayout(createMachine("uniphier-pxs3", { kernel: "v5.16" })).vmallocStart)).toBe("0xffff800010000000");
    expect(va(kernelLayout(createMachine("uniphier-pxs3", { kernel: "v5.17" })).vmallocStart)).toBe("0xffff800008000000");
  });

  it("v6.19: modules 2G above PAGE_END, VMEMMAP_END = -1G, VMALLOC_END = VMEMMAP_START - 8M", () => {
    const l = kernelLayout(createMachine("uniphier-pxs3", { kernel: "v6.19" }));
    expect(va(l.vmallocStart)).toBe("0xffff800080000000");
    expect(va(l.vmemmapStart)).toBe("0xfffffdffc0000000"); // -1G - 2^41
    expect(va(l.vmallocEnd)).toBe("0xfffffdffbf800000");
  });
});

describe("__va / __pa", () => {
  it("arm64 v5.4: __va(pa) = PAGE_OFFSET + (pa - PHYS_OFFSET), also above 4 GiB", () => {
    const m = createMachine("uniphier-pxs3", { kernel: "v5.4" });
    expect(va(physToVirt(m, 0x80000000))).toBe("0xffff000000000000");
    expect(va(physToVirt(m, 0xb0000000))).toBe("0xffff000030000000");
    // 0x11fffe000 - 0x80000000 = 0x9fffe000
    expect(va(physToVirt(m, 0x11fffe000))).toBe("0xffff00009fffe000");
    expect(virtToPhys(m, physToVirt(m, 0x11fffe000))).toBe(0x11fffe000);
  });

  it("arm64 v4.19: the linear map is the top half: __va(0x80000000) = 0xffff800000000000", () => {
    const m = createMachine("uniphier-pxs3", { kernel: "v4.19" });
    expect(va(physToVirt(m, 0x80000000))).toBe("0xffff800000000000");
    expect(virtToPhys(m, 2 ** 47 + 0x1000)).toBe(0x80001000);
  });

  it("x86-64 default layout: PAGE_OFFSET 0xffff880000000000 before v4.20, 0xffff888000000000 from v4.20 (d52888aa2753)", () => {
    // The x86-64-pc profile pins a layout block; drop it to get the per-release default.
    const p = { ...loadPlatformProfile("x86-64-pc") } as Record<string, unknown>;
    delete p["layout"];
    expect(va(physToVirt(createMachine(p, { kernel: "v4.19" }), 0x100000000))).toBe("0xffff880100000000");
    expect(va(physToVirt(createMachine(p, { kernel: "v5.4" }), 0x100000000))).toBe("0xffff888100000000");
    expect(va(kernelLayout(createMachine(p, { kernel: "v5.4" })).vmallocStart)).toBe("0xffffc90000000000");
    // A profile's layout block pins the layout whatever the release.
    expect(va(physToVirt(createMachine("x86-64-pc", { kernel: "v4.19" }), 0x100000000))).toBe("0xffff888100000000");
  });

  it("a pinned layout's linear map stops at vmalloc space and at the arch's 64 TiB direct map", () => {
    // x86-64-pc pins PAGE_OFFSET 0xffff888000000000 and VMALLOC_START 0xffffc90000000000.
    // On v4.19 the release default differs (0xffff880000000000), but the linear span must
    // still be min(2^46 = 64 TiB (4-level direct map, Documentation/x86/x86_64/mm.rst),
    // 0xc90000000000 - 0x888000000000 = 0x408000000000) = 2^46, so a vmalloc address is
    // never taken for a linear-map one.
    const m = createMachine("x86-64-pc", { kernel: "v4.19" });
    const l = kernelLayout(m);
    expect(l.linearSpan).toBe(2 ** 46);
    expect(isLinearMapAddr(m, 0xc90000001000)).toBe(false);
    expect(isLinearMapAddr(m, 0x888000001000)).toBe(true);
  });

  it("arm 3G/1G: PAGE_OFFSET 0xc0000000; VMALLOC_START = high_memory + 8M rounded to 8M", () => {
    const m = createMachine("exynos5422-odroidxu4", { kernel: "v4.11" });
    const l = kernelLayout(m);
    expect(fmtVirtAddr(physToVirt(m, 0x40000000), 32)).toBe("0xc0000000");
    // lowmem ends at vmalloc_min = 0xff800000 - 240M - 8M = 0xf0000000 (phys 0x70000000)
    expect(l.lowmemLimitPhys).toBe(0x70000000);
    // high_memory 0xf0000000, + 8M = 0xf0800000, already 8M aligned
    expect(fmtVirtAddr(l.vmallocStart, 32)).toBe("0xf0800000");
    expect(fmtVirtAddr(l.vmallocEnd, 32)).toBe("0xff800000");
  });

  it("virtToPhys computes an answer for any address (only meaningful for linear-map addresses)", () => {
    const m = createMachine("uniphier-pxs3", { kernel: "v5.4" });
    const vmallocVa = kernelLayout(m).vmallocStart;
    expect(isLinearMapAddr(m, vmallocVa)).toBe(false);
    expect(isLinearMapAddr(m, physToVirt(m, 0x90000000))).toBe(true);
    // __kimg_to_phys: va - kimage_voffset; the image sits at the start of vmalloc space, loaded at PHYS_OFFSET
    expect(virtToPhys(m, vmallocVa + 0x5000)).toBe(0x80005000);
  });

  it("rejects non-integer addresses with ModelConfigError", () => {
    const m = createMachine("uniphier-pxs3", { kernel: "v5.4" });
    expect(() => physToVirt(m, -1)).toThrow(ModelConfigError);
    expect(() => virtToPhys(m, 1.5)).toThrow(ModelConfigError);
  });

  it("property: __pa(__va(pa)) = pa for every RAM address on every modelled release", () => {
    for (const kernel of ["v4.19", "v5.4", "v6.19"]) {
      const m = createMachine("uniphier-pxs3", { kernel });
      fc.assert(
        fc.property(fc.integer({ min: 0x80000000, max: 0x11fffffff }), (pa) => {
          expect(virtToPhys(m, physToVirt(m, pa))).toBe(pa);
          expect(isLinearMapAddr(m, physToVirt(m, pa))).toBe(true);
        }),
        { numRuns: 200 },
      );
    }
  });
});
