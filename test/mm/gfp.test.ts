import { describe, expect, it } from "vitest";
import {
  GFP_ATOMIC,
  GFP_DMA,
  GFP_DMA32,
  GFP_HIGHUSER,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  ZONES_I386_HIGHMEM,
  ZONES_X86_64,
  gfp,
  gfpAtomic,
  gfpVmalloc,
  gfpVmalloc32,
  gfpZone,
  vmallocPageGfp,
  type GfpFlagName,
  type ZoneConfig,
  type ZoneName,
} from "../../lib/mm/gfp.js";

// Expected values are written from include/linux/gfp.h's GFP_ZONE_TABLE definition
// (v4.19.1 and v6.19 define it identically):
//   0x0 NORMAL, 0x1 OPT_ZONE_DMA, 0x2 OPT_ZONE_HIGHMEM, 0x4 OPT_ZONE_DMA32,
//   0x8 NORMAL, 0x9 OPT_ZONE_DMA, 0xa ZONE_MOVABLE, 0xc OPT_ZONE_DMA32,
//   and GFP_ZONE_BAD = {0x3, 0x5, 0x6, 0x7, 0xb, 0xd, 0xe, 0xf}.
// OPT_ZONE_X = ZONE_X if configured, else ZONE_NORMAL. A BAD entry has no term in
// the table, so its value is zone number 0 = the first configured of DMA, DMA32, NORMAL.

const configs: ZoneConfig[] = [];
for (const zoneDma of [false, true]) for (const zoneDma32 of [false, true]) for (const highmem of [false, true]) configs.push({ zoneDma, zoneDma32, highmem });

function flagsOf(index: number): GfpFlagName[] {
  const f: GfpFlagName[] = [];
  if (index % 2 === 1) f.push("__GFP_DMA");
  if (Math.floor(index / 2) % 2 === 1) f.push("__GFP_HIGHMEM");
  if (Math.floor(index / 4) % 2 === 1) f.push("__GFP_DMA32");
  if (Math.floor(index / 8) % 2 === 1) f.push("__GFP_MOVABLE");
  return f;
}

function expected(index: number, c: ZoneConfig): { zone: ZoneName; bad: boolean } {
  const optDma: ZoneName = c.zoneDma ? "ZONE_DMA" : "ZONE_NORMAL";
  const optDma32: ZoneName = c.zoneDma32 ? "ZONE_DMA32" : "ZONE_NORMAL";
  const optHigh: ZoneName = c.highmem ? "ZONE_HIGHMEM" : "ZONE_NORMAL";
  const zone0: ZoneName = c.zoneDma ? "ZONE_DMA" : c.zoneDma32 ? "ZONE_DMA32" : "ZONE_NORMAL";
  const table: Record<number, ZoneName> = { 0x0: "ZONE_NORMAL", 0x1: optDma, 0x2: optHigh, 0x4: optDma32, 0x8: "ZONE_NORMAL", 0x9: optDma, 0xa: "ZONE_MOVABLE", 0xc: optDma32 };
  const bad = [0x3, 0x5, 0x6, 0x7, 0xb, 0xd, 0xe, 0xf].includes(index);
  return { zone: bad ? zone0 : table[index]!, bad };
}

describe("gfpZone: the full GFP_ZONE_TABLE for every config", () => {
  for (const c of configs) {
    for (let index = 0; index < 16; index++) {
      const e = expected(index, c);
      it(`0x${index.toString(16)} [${flagsOf(index).join("|") || "none"}] with DMA=${c.zoneDma} DMA32=${c.zoneDma32} HIGHMEM=${c.highmem} -> ${e.zone}${e.bad ? " (BAD)" : ""}`, () => {
        const r = gfpZone(gfp(...flagsOf(index)), c);
        expect(r.index).toBe(index);
        expect(r.bad).toBe(e.bad);
        expect(r.zone).toBe(e.zone);
      });
    }
  }
});

describe("gfpZone: named combinations", () => {
  it("GFP_KERNEL -> ZONE_NORMAL; GFP_DMA -> ZONE_DMA; GFP_DMA32 -> ZONE_DMA32 on x86-64", () => {
    expect(gfpZone(GFP_KERNEL, ZONES_X86_64).zone).toBe("ZONE_NORMAL");
    expect(gfpZone(gfp(GFP_KERNEL, GFP_DMA), ZONES_X86_64).zone).toBe("ZONE_DMA");
    expect(gfpZone(gfp(GFP_KERNEL, GFP_DMA32), ZONES_X86_64).zone).toBe("ZONE_DMA32");
  });
  it("GFP_HIGHUSER -> ZONE_HIGHMEM on i386 (HIGHMEM configured), ZONE_NORMAL on x86-64", () => {
    expect(gfpZone(GFP_HIGHUSER, ZONES_I386_HIGHMEM).zone).toBe("ZONE_HIGHMEM");
    expect(gfpZone(GFP_HIGHUSER, ZONES_X86_64).zone).toBe("ZONE_NORMAL");
  });
  it("GFP_HIGHUSER_MOVABLE -> ZONE_MOVABLE (MOVABLE with HIGHMEM is entry 0xa)", () => {
    expect(gfpZone(GFP_HIGHUSER_MOVABLE, ZONES_X86_64).zone).toBe("ZONE_MOVABLE");
  });
  it("GFP_DMA32 | __GFP_HIGHMEM is BAD (entry 0x6); a non-debug x86-64 kernel falls to zone 0 = ZONE_DMA", () => {
    const r = gfpZone(gfp(GFP_DMA32, "__GFP_HIGHMEM"), ZONES_X86_64);
    expect(r).toEqual({ zone: "ZONE_DMA", bad: true, index: 6 });
  });
  it("GFP_DMA32 on i386 (no ZONE_DMA32) is ZONE_NORMAL: OPT_ZONE_DMA32", () => {
    expect(gfpZone(gfp(GFP_KERNEL, GFP_DMA32), ZONES_I386_HIGHMEM).zone).toBe("ZONE_NORMAL");
  });
  it("non-zone flags do not matter: GFP_ATOMIC | __GFP_ZERO | __GFP_NOWARN | __GFP_COMP -> ZONE_NORMAL", () => {
    expect(gfpZone(gfp(GFP_ATOMIC, "__GFP_ZERO", "__GFP_NOWARN", "__GFP_COMP"), ZONES_X86_64)).toEqual({ zone: "ZONE_NORMAL", bad: false, index: 0 });
  });
  it("rejects an unknown flag name and an incomplete config", () => {
    expect(() => gfp("__GFP_BOGUS" as GfpFlagName)).toThrow(/gfp\(flag\)/);
    expect(() => gfpZone(GFP_KERNEL, { zoneDma: true } as ZoneConfig)).toThrow(/zoneDma32/);
  });
});

describe("GFP_ATOMIC per release", () => {
  it("has __GFP_ATOMIC before v6.3 (v4.19.1 gfp.h), not after (v6.19 gfp_types.h)", () => {
    expect(gfpAtomic("v4.19").has("__GFP_ATOMIC")).toBe(true);
    expect(gfpAtomic("v6.19").has("__GFP_ATOMIC")).toBe(false);
    expect(gfpAtomic("v6.19").has("__GFP_HIGH")).toBe(true);
  });
});

describe("the vmalloc / vmalloc_32 story (saa7146, 2017-2018)", () => {
  const i386 = { is64bit: false, zones: ZONES_I386_HIGHMEM };
  const x86_64 = { is64bit: true, zones: ZONES_X86_64 };
  it("v4.4: vmalloc passes GFP_KERNEL|__GFP_HIGHMEM itself; vmalloc_32 on i386 passes GFP_KERNEL -> lowmem ZONE_NORMAL", () => {
    expect(gfpVmalloc("v4.4").has("__GFP_HIGHMEM")).toBe(true);
    const pg = vmallocPageGfp("v4.4", gfpVmalloc32("v4.4", i386));
    expect(gfpZone(pg, i386.zones).zone).toBe("ZONE_NORMAL");
  });
  it("v4.12 (19809c2da28a): vmalloc_32 on x86-64 asks for DMA32|HIGHMEM: a BAD combination (VM_BUG_ON with DEBUG_VM)", () => {
    const pg = vmallocPageGfp("v4.12", gfpVmalloc32("v4.12", x86_64));
    expect(gfpZone(pg, x86_64.zones).bad).toBe(true);
  });
  it("v4.12: vmalloc_32 on i386 (GFP_KERNEL + implicit HIGHMEM) gets ZONE_HIGHMEM pages: saa7146's BUG_ON(PageHighMem)", () => {
    const pg = vmallocPageGfp("v4.12", gfpVmalloc32("v4.12", i386));
    expect(gfpZone(pg, i386.zones)).toEqual({ zone: "ZONE_HIGHMEM", bad: false, index: 2 });
  });
  it("v4.14 (704b862f9efd): no HIGHMEM with GFP_DMA32, so x86-64 vmalloc_32 is ZONE_DMA32 again; i386 still HIGHMEM (GFP_KERNEL has no DMA flag)", () => {
    expect(gfpZone(vmallocPageGfp("v4.14", gfpVmalloc32("v4.14", x86_64)), x86_64.zones).zone).toBe("ZONE_DMA32");
    expect(gfpZone(vmallocPageGfp("v4.14", gfpVmalloc32("v4.14", i386)), i386.zones).zone).toBe("ZONE_HIGHMEM");
  });
  it("after the 2018 fix (GFP_VMALLOC32 = GFP_DMA32|GFP_KERNEL on 32-bit): i386 vmalloc_32 pages come from ZONE_NORMAL (OPT_ZONE_DMA32)", () => {
    const g = gfpVmalloc32("v4.19", i386);
    expect(g.has("__GFP_DMA32")).toBe(true);
    expect(gfpZone(vmallocPageGfp("v4.19", g), i386.zones)).toEqual({ zone: "ZONE_NORMAL", bad: false, index: 4 });
  });
  it("plain vmalloc on x86-64 from v4.12: GFP_KERNEL + implicit HIGHMEM -> ZONE_NORMAL (no highmem on 64-bit), so pages may sit above 4 GiB", () => {
    expect(gfpZone(vmallocPageGfp("v6.19", gfpVmalloc("v6.19")), x86_64.zones).zone).toBe("ZONE_NORMAL");
  });
});
