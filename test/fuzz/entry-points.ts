/**
 * The fuzz table: one entry per function exported from lib/index.ts that
 * takes numbers, sizes, addresses, directions, attrs, masks or parameter
 * objects, with a builder of valid arguments on a fresh machine and the
 * positions and kinds of bad values to try; every other export is listed in
 * EXEMPT with the reason. test/fuzz/api.test.ts fails on an export that is
 * in neither (a new export must be added here).
 */
import * as L from "../../lib/index.js";
import type { Device, Machine } from "../../lib/index.js";

/** Kinds of bad values (test/fuzz/api.test.ts generates them). */
export type Kind = "neg" | "nan" | "frac" | "huge" | "type" | "dir" | "attrs" | "obj" | "misaligned";
/** Number-like arguments: negative, NaN, non-integer, above 2^53 (2^64 - 1 as a JS number among them), a wrong type. */
export const NUM: Kind[] = ["neg", "nan", "frac", "huge", "type"];

export interface ArgSpec {
  /** Argument position (0-based). */
  pos: number;
  /** Name the ModelConfigError's field must contain. */
  name: string;
  kinds: Kind[];
  /** Where the bad value goes when it is not the argument itself (a field of a parameter object). */
  set?: (args: unknown[], v: unknown) => void;
  /** For "misaligned": bad values derived from the valid argument. */
  misaligned?: (valid: unknown) => unknown[];
}

export interface Built {
  args: unknown[];
  /** What a rejected call must leave unchanged (the machine; the arguments for pure functions). */
  root: unknown;
}

export interface Entry {
  fn: string;
  build: () => Built;
  args: ArgSpec[];
  /** The kernel's error value among returns (DMA_MAPPING_ERROR, NULL, -errno). */
  err?: (r: unknown) => boolean;
  /** A predicate or formatter: any return is an answer (it must still not throw a foreign exception or change state). */
  anyReturn?: boolean;
  /** Kinds for which KernelOops is the right outcome (the kernel would crash). */
  oops?: Kind[];
  /** Build once and reuse for every bad call (costly machines; a rejected call changes nothing, which the snapshot checks). */
  shared?: boolean;
}

const A = (pos: number, name: string, kinds: Kind[] = NUM, extra: Partial<ArgSpec> = {}): ArgSpec => ({ pos, name, kinds, ...extra });
const DIR = (pos: number): ArgSpec => A(pos, "dir", ["dir"]);
const ATTRS = (pos: number): ArgSpec => A(pos, "attrs", ["attrs"]);
const mapErr = (r: unknown) => typeof r === "number" && L.dmaMappingError(r as L.DmaAddr);
const negErrno = (r: unknown) => typeof r === "number" && r < 0;
const nullErr = (r: unknown) => r === null;

function x86(kernel = "v6.19"): { m: Machine; dev: Device } {
  const m = L.createMachine("x86-64-pc", { kernel });
  return { m, dev: m.device("0000:00:1a.0") };
}
function mt(kernel = "v6.19"): { m: Machine; dev: Device } {
  const m = L.createMachine("mt8173-evb", { kernel });
  return { m, dev: m.device("16020000.vcodec") };
}
function x86Bounce(): { m: Machine; dev: Device; mem: L.IoTlbMem } {
  const m = L.createMachine("x86-64-pc", { kernel: "v6.19", swiotlb: { force: true } });
  return { m, dev: m.device("0000:00:1a.0"), mem: L.swiotlbOf(m)! };
}
const PFN = 0x100; // 1 MiB on both boards' RAM? x86: RAM from 0; mt8173: RAM from 0x40000000 (use MT_PFN)
const MT_PFN = 0x50000;
const sg1 = (pfn: number) => L.sgTableFromEntries([{ pfn: pfn as L.Pfn, offset: 0, length: 4096 }, { pfn: (pfn + 2) as L.Pfn, offset: 0, length: 4096 }]);

/** Sets field `key` of the parameter object at position `pos`. */
const fld = (pos: number, key: string) => (a: unknown[], v: unknown): void => { a[pos] = { ...(a[pos] as object), [key]: v }; };
const cma = (): L.Cma => L.cmaInitReservedMem({ kernel: "v6.19", base: 0x2c000000, size: 16 * 2 ** 20 }).cma!;
const lmap = () => L.arm32LinearMap(L.loadPlatformProfile("bcm2836-rpi-2-b"));
const apool = () => L.arm32AtomicPoolInit({ kernel: "v5.4", allocPages: () => 0x2fc00000 });
const dpool = () => L.dmaAtomicPoolInit({ kernel: "v6.19", totalRamPages: 262144, zones: { dma32: { managed: true }, normal: { managed: true } }, allocPages: (z) => ({ dma: 0x01000000, dma32: 0x80000000, kernel: 0x100000000 })[z] });
const negRet = (r: unknown) => typeof r === "object" && r !== null && typeof (r as { ret?: unknown }).ret === "number" && (r as { ret: number }).ret < 0;
function pxs3(): { m: Machine; dev: Device } {
  const m = L.createMachine("uniphier-pxs3", { kernel: "v5.4" });
  return { m, dev: m.device("codec") };
}
/** A dma-buf exported by the MT8173 decoder (vb2_dc_alloc 64 KiB) and the encoder as importer. */
function vcodecs(): { m: Machine; db: L.DmaBuf; imp: Device } {
  const m = L.createMachine("mt8173-evb", { kernel: "v6.19" });
  const buf = L.vb2DcAlloc(m.device("16020000.vcodec"), 65536)!;
  return { m, db: L.vb2DcGetDmabuf(buf) as L.DmaBuf, imp: m.device("18002000.vcodec") };
}
/** arm64-server v6.19 booted with iommu.strict=0: its PCI device sits in a lazy (flush-queue) DMA domain. */
function lazyArm(): { m: Machine; dev: Device } {
  const m = L.createMachine("arm64-server", { kernel: "v6.19", iommu: { strict: false } });
  return { m, dev: m.device("0000:02:00.0") };
}
function rpi(kernel = "v6.19"): { m: Machine; dev: Device } {
  const m = L.createMachine("bcm2836-rpi-2-b", { kernel });
  return { m, dev: m.device("3f980000.usb") };
}

/** Map-page-like entries on one backend. */
function dmaApi(tag: string, ctx: () => { m: Machine; dev: Device }, pfn: number): Entry[] {
  const mapped = () => {
    const c = ctx();
    const h = L.dmaMapPage(c.dev, pfn, 0, 4096, L.DMA_TO_DEVICE);
    return { ...c, h };
  };
  const sgMapped = () => {
    const c = ctx();
    const sgt = sg1(pfn);
    L.dmaMapSgtable(c.dev, sgt, L.DMA_TO_DEVICE);
    return { ...c, sgt };
  };
  const e: Entry[] = [
    { fn: "dmaMapPage", build: () => { const c = ctx(); return { root: c.m, args: [c.dev, pfn, 0, 4096, L.DMA_TO_DEVICE] }; }, args: [A(1, "pfn"), A(2, "offset"), A(3, "size"), DIR(4)], err: mapErr },
    { fn: "dmaMapPageAttrs", build: () => { const c = ctx(); return { root: c.m, args: [c.dev, pfn, 0, 4096, L.DMA_TO_DEVICE, 0] }; }, args: [A(1, "pfn"), A(2, "offset"), A(3, "size"), DIR(4), ATTRS(5)], err: mapErr },
    { fn: "dmaUnmapPage", build: () => { const c = mapped(); return { root: c.m, args: [c.dev, c.h, 4096, L.DMA_TO_DEVICE] }; }, args: [A(1, "addr"), A(2, "size"), DIR(3)] },
    { fn: "dmaUnmapPageAttrs", build: () => { const c = mapped(); return { root: c.m, args: [c.dev, c.h, 4096, L.DMA_TO_DEVICE, 0] }; }, args: [A(1, "addr"), A(2, "size"), DIR(3), ATTRS(4)] },
    { fn: "dmaUnmapSingle", build: () => { const c = mapped(); return { root: c.m, args: [c.dev, c.h, 4096, L.DMA_TO_DEVICE] }; }, args: [A(1, "addr"), A(2, "size"), DIR(3)] },
    { fn: "dmaUnmapSingleAttrs", build: () => { const c = mapped(); return { root: c.m, args: [c.dev, c.h, 4096, L.DMA_TO_DEVICE, 0] }; }, args: [A(1, "addr"), A(2, "size"), DIR(3), ATTRS(4)] },
    { fn: "dmaSyncSingleForCpu", build: () => { const c = mapped(); return { root: c.m, args: [c.dev, c.h, 4096, L.DMA_TO_DEVICE] }; }, args: [A(1, "addr"), A(2, "size"), DIR(3)] },
    { fn: "dmaSyncSingleForDevice", build: () => { const c = mapped(); return { root: c.m, args: [c.dev, c.h, 4096, L.DMA_TO_DEVICE] }; }, args: [A(1, "addr"), A(2, "size"), DIR(3)] },
    { fn: "dmaMapSg", build: () => { const c = ctx(); const s = sg1(pfn); return { root: [c.m, s], args: [c.dev, s.sgl, 2, L.DMA_TO_DEVICE, 0] }; }, args: [A(2, "nents"), DIR(3), ATTRS(4), A(1, "length", NUM, { set: (a, v) => { (a[1] as L.Scatterlist[])[1]!.length = v as number; } }), A(1, "offset", NUM, { set: (a, v) => { (a[1] as L.Scatterlist[])[1]!.offset = v as number; } }), A(1, "pfn", ["neg", "nan", "frac", "huge"], { set: (a, v) => { (a[1] as L.Scatterlist[])[0]!.pfn = v as L.Pfn; } })] },
    { fn: "dmaMapSgAttrs", build: () => { const c = ctx(); const s = sg1(pfn); return { root: [c.m, s], args: [c.dev, s.sgl, 2, L.DMA_TO_DEVICE, 0] }; }, args: [A(2, "nents"), DIR(3), ATTRS(4)] },
    { fn: "dmaMapSgtable", build: () => { const c = ctx(); const s = sg1(pfn); return { root: [c.m, s], args: [c.dev, s, L.DMA_TO_DEVICE, 0] }; }, args: [DIR(2), ATTRS(3)] },
    { fn: "dmaUnmapSg", build: () => { const c = sgMapped(); return { root: [c.m, c.sgt], args: [c.dev, c.sgt.sgl, 2, L.DMA_TO_DEVICE, 0] }; }, args: [A(2, "nents"), DIR(3), ATTRS(4)] },
    { fn: "dmaUnmapSgAttrs", build: () => { const c = sgMapped(); return { root: [c.m, c.sgt], args: [c.dev, c.sgt.sgl, 2, L.DMA_TO_DEVICE, 0] }; }, args: [A(2, "nents"), DIR(3), ATTRS(4)] },
    { fn: "dmaUnmapSgtable", build: () => { const c = sgMapped(); return { root: [c.m, c.sgt], args: [c.dev, c.sgt, L.DMA_TO_DEVICE, 0] }; }, args: [DIR(2), ATTRS(3)] },
    { fn: "dmaSyncSgForCpu", build: () => { const c = sgMapped(); return { root: [c.m, c.sgt], args: [c.dev, c.sgt.sgl, 2, L.DMA_TO_DEVICE] }; }, args: [A(2, "nelems"), DIR(3)] },
    { fn: "dmaSyncSgForDevice", build: () => { const c = sgMapped(); return { root: [c.m, c.sgt], args: [c.dev, c.sgt.sgl, 2, L.DMA_TO_DEVICE] }; }, args: [A(2, "nelems"), DIR(3)] },
    { fn: "dmaSyncSgtableForCpu", build: () => { const c = sgMapped(); return { root: [c.m, c.sgt], args: [c.dev, c.sgt, L.DMA_TO_DEVICE] }; }, args: [DIR(2)] },
    { fn: "dmaSyncSgtableForDevice", build: () => { const c = sgMapped(); return { root: [c.m, c.sgt], args: [c.dev, c.sgt, L.DMA_TO_DEVICE] }; }, args: [DIR(2)] },
    { fn: "dmaAllocAttrs", build: () => { const c = ctx(); return { root: c.m, args: [c.dev, 8192, 0] }; }, args: [A(1, "size"), ATTRS(2)], err: nullErr },
    { fn: "dmaAllocCoherent", build: () => { const c = ctx(); return { root: c.m, args: [c.dev, 8192] }; }, args: [A(1, "size")], err: nullErr },
  ];
  const alloc = () => { const c = ctx(); const b = L.dmaAllocCoherent(c.dev, 8192)!; return { ...c, b }; };
  e.push(
    { fn: "dmaFreeCoherent", build: () => { const c = alloc(); return { root: c.m, args: [c.dev, 8192, c.b.cpuAddr, c.b.dmaHandle] }; }, args: [A(1, "size"), A(2, "cpuAddr"), A(3, "dmaHandle")] },
    { fn: "dmaFreeAttrs", build: () => { const c = alloc(); return { root: c.m, args: [c.dev, 8192, c.b.cpuAddr, c.b.dmaHandle, 0] }; }, args: [A(1, "size"), A(2, "cpuAddr"), A(3, "dmaHandle"), ATTRS(4)] },
    { fn: "dmaGetSgtable", build: () => { const c = alloc(); const sgt = L.createSgTable(); return { root: [c.m, sgt], args: [c.dev, sgt, c.b.cpuAddr, c.b.dmaHandle, 8192] }; }, args: [A(2, "cpuAddr"), A(3, "dmaHandle"), A(4, "size")], err: negErrno },
    { fn: "dmaGetSgtableAttrs", build: () => { const c = alloc(); const sgt = L.createSgTable(); return { root: [c.m, sgt], args: [c.dev, sgt, c.b.cpuAddr, c.b.dmaHandle, 8192, 0] }; }, args: [A(4, "size"), ATTRS(5)], err: negErrno },
    { fn: "dmaMmap", build: () => { const c = alloc(); return { root: c.m, args: [c.dev, c.b.cpuAddr, c.b.dmaHandle, 8192, 2, 0] }; }, args: [A(1, "cpuAddr"), A(2, "dmaHandle"), A(3, "size"), A(4, "userPages"), A(5, "pgoff")] },
    { fn: "dmaMmapAttrs", build: () => { const c = alloc(); return { root: c.m, args: [c.dev, c.b.cpuAddr, c.b.dmaHandle, 8192, 2, 0] }; }, args: [A(3, "size"), A(4, "userPages"), A(5, "pgoff")] },
  );
  return e.map((x) => ({ ...x, fn: `${x.fn}@${tag}` }));
}

export const ENTRIES: Entry[] = [
  ...dmaApi("dma-direct", () => x86(), PFN),
  ...dmaApi("iommu-dma", () => mt(), MT_PFN),
  { fn: "dmaMapSingle", build: () => { const c = x86(); const va = L.kmalloc(c.m, 4096); return { root: c.m, args: [c.dev, va, 4096, L.DMA_TO_DEVICE] }; }, args: [A(1, "ptr"), A(2, "size"), DIR(3)], err: mapErr },
  { fn: "dmaMapSingleAttrs", build: () => { const c = x86(); const va = L.kmalloc(c.m, 4096); return { root: c.m, args: [c.dev, va, 4096, L.DMA_TO_DEVICE, 0] }; }, args: [A(1, "ptr"), A(2, "size"), DIR(3), ATTRS(4)], err: mapErr },
  { fn: "dmaMapResource", build: () => { const c = x86(); return { root: c.m, args: [c.dev, 0xfe000000, 4096, L.DMA_TO_DEVICE, 0] }; }, args: [A(1, "phys"), A(2, "size"), DIR(3), ATTRS(4)], err: mapErr },
  { fn: "dmaUnmapResource", build: () => { const c = mt(); const h = L.dmaMapResource(c.dev, 0x10000000, 4096, L.DMA_TO_DEVICE); return { root: c.m, args: [c.dev, h, 4096, L.DMA_TO_DEVICE, 0] }; }, args: [A(1, "handle"), A(2, "size"), DIR(3), ATTRS(4)] },
  { fn: "dmaSetMaxSegSize", build: () => { const c = mt(); return { root: c.m, args: [c.dev, 65536] }; }, args: [A(1, "size")], err: negErrno },
  { fn: "dmaSetMaskAndCoherent", build: () => { const c = x86(); return { root: c.m, args: [c.dev, 32] }; }, args: [A(1, "bits")], err: negErrno },
  { fn: "dmaSetMinAlignMask", build: () => { const c = x86(); return { root: c.m, args: [c.dev, 0xfff] }; }, args: [A(1, "mask", [...NUM, "misaligned"], { misaligned: () => [0x1000, 0xffe, 3 * 2 ** 40] })] },
  { fn: "dmaMappingErrorFor", build: () => { const c = x86(); return { root: c.m, args: [c.dev, 0x1000] }; }, args: [A(1, "addr")], anyReturn: true },
  // iommu-dma internals exported for the notebooks
  { fn: "iommuDmaMapPage", build: () => { const c = mt(); return { root: c.m, args: [c.dev, MT_PFN * 4096, 4096, L.DMA_TO_DEVICE, 0] }; }, args: [A(1, "phys"), A(2, "size"), DIR(3), ATTRS(4)], err: mapErr },
  { fn: "iommuDmaUnmapPage", build: () => { const c = mt(); const h = L.iommuDmaMapPage(c.dev, MT_PFN * 4096, 4096, L.DMA_TO_DEVICE); return { root: c.m, args: [c.dev, h, 4096, L.DMA_TO_DEVICE, 0] }; }, args: [A(1, "dmaHandle"), A(2, "size"), DIR(3), ATTRS(4)] },
  { fn: "iommuDmaMapSg", build: () => { const c = mt(); const s = sg1(MT_PFN); return { root: [c.m, s], args: [c.dev, s.sgl, 2, L.DMA_TO_DEVICE, 0] }; }, args: [A(2, "nents"), DIR(3), ATTRS(4)], err: (r) => r === 0 || negErrno(r) },
  { fn: "iommuDmaAlloc", build: () => { const c = mt(); return { root: c.m, args: [c.dev, 8192, 0] }; }, args: [A(1, "size"), ATTRS(2)], err: nullErr },
  { fn: "iommuMap", build: () => { const c = mt(); return { root: c.m, args: [c.dev.iommuDomain, 0x100000, MT_PFN * 4096, 4096, 3] }; }, args: [A(1, "iova", [...NUM, "misaligned"], { misaligned: () => [0x100001, 0x100800] }), A(2, "paddr"), A(3, "size"), A(4, "prot")], err: negErrno },
  { fn: "iommuUnmap", build: () => { const c = mt(); L.iommuMap(c.dev.iommuDomain!, 0x100000, MT_PFN * 4096, 4096, 3); return { root: c.m, args: [c.dev.iommuDomain, 0x100000, 4096] }; }, args: [A(1, "iova"), A(2, "size")], err: (r) => r === 0 },
  { fn: "allocIova", build: () => { const d = L.initIovaDomain(4096, 1); return { root: d, args: [d, 4, 0xfffff, true] }; }, args: [A(1, "size"), A(2, "limitPfn")], err: nullErr },
  { fn: "freeIova", build: () => { const d = L.initIovaDomain(4096, 1); const r = L.allocIova(d, 4, 0xfffff, true)!; return { root: d, args: [d, r.pfnLo] }; }, args: [A(1, "pfn")] },
  { fn: "reserveIova", build: () => { const d = L.initIovaDomain(4096, 1); return { root: d, args: [d, 0x100, 0x1ff] }; }, args: [A(1, "pfnLo"), A(2, "pfnHi")], err: nullErr },
  { fn: "initIovaDomain", build: () => ({ root: null, args: [4096, 1] }), args: [A(0, "granule", [...NUM, "misaligned"], { misaligned: () => [3000, 4097] }), A(1, "startPfn")] },
  // swiotlb
  { fn: "swiotlbTblMapSingle", shared: true, build: () => { const c = x86Bounce(); return { root: [c.mem, c.m.dmaStreaming, c.m.cpuCache], args: [c.dev, c.mem, 0x100000, 4096, { dir: L.DMA_TO_DEVICE }] }; }, args: [A(2, "origAddr"), A(3, "mappingSize")], err: mapErr },
  { fn: "swiotlbTblUnmapSingle", build: () => { const c = x86Bounce(); const t = L.swiotlbTblMapSingle(c.dev, c.mem, 0x100000 as L.PhysAddr, 4096, { dir: L.DMA_TO_DEVICE }); return { root: [c.mem, c.m.dmaStreaming, c.m.cpuCache], args: [c.dev, c.mem, t, 4096, { dir: L.DMA_TO_DEVICE }] }; }, args: [A(2, "tlbAddr"), A(3, "mappingSize")], shared: true },
  // memory
  { fn: "kmalloc", build: () => { const c = x86(); return { root: c.m, args: [c.m, 4096] }; }, args: [A(1, "size")], err: nullErr },
  { fn: "allocPages", build: () => { const c = x86(); return { root: c.m, args: [c.m, L.GFP_KERNEL, 2] }; }, args: [A(2, "order")], err: nullErr },
  { fn: "freePages", build: () => { const c = x86(); const p = L.allocPages(c.m, L.GFP_KERNEL, 2)!; return { root: c.m, args: [c.m, p, 2] }; }, args: [A(1, "pfn"), A(2, "order")] },
  { fn: "vmalloc", build: () => { const c = x86(); return { root: c.m, args: [c.m.mm, 8192] }; }, args: [A(1, "size")], err: nullErr },
  { fn: "ioremap", build: () => { const c = x86(); return { root: c.m, args: [c.m.mm, 0xfe000000, 4096] }; }, args: [A(1, "phys"), A(2, "size")], err: nullErr },
  { fn: "vmalloc32", build: () => { const c = x86(); return { root: c.m, args: [c.m, 8192] }; }, args: [A(1, "size")], err: nullErr },
  { fn: "cpuWrite", build: () => { const c = x86(); const va = L.kmalloc(c.m, 4096); return { root: c.m, args: [c.m, va, 64] }; }, args: [A(1, "va"), A(2, "size")] },
  { fn: "cpuRead", build: () => { const c = x86(); const va = L.kmalloc(c.m, 4096); return { root: c.m, args: [c.m, va, 64] }; }, args: [A(1, "va"), A(2, "size")] },
  { fn: "deviceWrite", build: () => { const c = x86(); const h = L.dmaMapPage(c.dev, PFN, 0, 4096, L.DMA_FROM_DEVICE); return { root: c.m, args: [c.dev, h, 64] }; }, args: [A(1, "dmaAddr"), A(2, "size")] },
  { fn: "deviceRead", build: () => { const c = x86(); const h = L.dmaMapPage(c.dev, PFN, 0, 4096, L.DMA_TO_DEVICE); return { root: c.m, args: [c.dev, h, 64] }; }, args: [A(1, "dmaAddr"), A(2, "size")] },
  // scatterlists
  { fn: "sgTableFromEntries", build: () => { const e = [{ pfn: 1 as L.Pfn, offset: 0, length: 4096 }]; return { root: e, args: [e] }; }, args: [A(0, "length", NUM, { set: (a, v) => { (a[0] as { length: unknown }[])[0]!.length = v; } }), A(0, "offset", NUM, { set: (a, v) => { (a[0] as { offset: unknown }[])[0]!.offset = v; } })] },
  { fn: "sgSetPage", build: () => { const s = L.sgInitEntry(); return { root: s, args: [s, 1, 4096, 0] }; }, args: [A(2, "len"), A(3, "offset")] },
  // pure arithmetic
  ...(["alignUp", "alignDown", "divRoundUp"] as const).map((fn): Entry => ({ fn, build: () => ({ root: null, args: [5000, 4096] }), args: [A(0, fn === "divRoundUp" ? "n" : "x"), A(1, fn === "divRoundUp" ? "d" : "a")] })),
  ...(["roundupPowOfTwo", "rounddownPowOfTwo", "ilog2", "fls", "__fls", "getOrder", "orderBase2"] as const).map((fn): Entry => ({ fn, build: () => ({ root: null, args: [5000] }), args: [A(0, fn === "getOrder" ? "size" : fn === "orderBase2" ? "n" : "x")] })),
  // dma-direct and iommu-dma backends (exported for the notebooks)
  { fn: "dmaDirectMapPhys", build: () => { const c = x86(); return { root: c.m, args: [c.dev, 0x100000, 4096, L.DMA_TO_DEVICE, 0] }; }, args: [A(1, "paddr"), A(2, "size"), DIR(3), ATTRS(4)], err: mapErr },
  { fn: "dmaDirectUnmapPhys", build: () => { const c = x86(); const h = L.dmaDirectMapPhys(c.dev, 0x100000, 4096, L.DMA_TO_DEVICE); return { root: c.m, args: [c.dev, h, 4096, L.DMA_TO_DEVICE, 0] }; }, args: [A(1, "dmaAddr"), A(2, "size"), DIR(3), ATTRS(4)] },
  { fn: "dmaDirectSyncSingleForCpu", build: () => { const c = x86(); const h = L.dmaDirectMapPhys(c.dev, 0x100000, 4096, L.DMA_TO_DEVICE); return { root: c.m, args: [c.dev, h, 4096, L.DMA_TO_DEVICE] }; }, args: [A(1, "dmaAddr"), A(2, "size"), DIR(3)] },
  { fn: "dmaDirectSyncSingleForDevice", build: () => { const c = x86(); const h = L.dmaDirectMapPhys(c.dev, 0x100000, 4096, L.DMA_TO_DEVICE); return { root: c.m, args: [c.dev, h, 4096, L.DMA_TO_DEVICE] }; }, args: [A(1, "dmaAddr"), A(2, "size"), DIR(3)] },
  { fn: "dmaDirectMapSg", build: () => { const c = x86(); const s = sg1(PFN); return { root: [c.m, s], args: [c.dev, s.sgl, 2, L.DMA_TO_DEVICE, 0] }; }, args: [A(2, "nents"), DIR(3), ATTRS(4)], err: (r) => r === 0 || negErrno(r) },
  { fn: "dmaDirectUnmapSg", build: () => { const c = x86(); const s = sg1(PFN); L.dmaDirectMapSg(c.dev, s.sgl, 2, L.DMA_TO_DEVICE); return { root: [c.m, s], args: [c.dev, s.sgl, 2, L.DMA_TO_DEVICE, 0] }; }, args: [A(2, "nents"), DIR(3), ATTRS(4)] },
  { fn: "dmaDirectAlloc", build: () => { const c = x86(); return { root: c.m, args: [c.dev, 8192] }; }, args: [A(1, "size")], err: nullErr },
  { fn: "dmaDirectFree", build: () => { const c = x86(); const b = L.dmaDirectAlloc(c.dev, 8192)!; return { root: c.m, args: [c.dev, 8192, b.cpuAddr, b.dmaHandle] }; }, args: [A(1, "size"), A(2, "cpuAddr"), A(3, "handle")] },
  { fn: "iommuDmaSyncSingleForCpu", build: () => { const c = mt(); const h = L.iommuDmaMapPage(c.dev, MT_PFN * 4096, 4096, L.DMA_TO_DEVICE); return { root: c.m, args: [c.dev, h, 4096, L.DMA_TO_DEVICE] }; }, args: [A(1, "dmaHandle"), A(2, "size"), DIR(3)] },
  { fn: "iommuDmaSyncSingleForDevice", build: () => { const c = mt(); const h = L.iommuDmaMapPage(c.dev, MT_PFN * 4096, 4096, L.DMA_TO_DEVICE); return { root: c.m, args: [c.dev, h, 4096, L.DMA_TO_DEVICE] }; }, args: [A(1, "dmaHandle"), A(2, "size"), DIR(3)] },
  { fn: "iommuDmaUnmapSg", build: () => { const c = mt(); const s = sg1(MT_PFN); L.iommuDmaMapSg(c.dev, s.sgl, 2, L.DMA_TO_DEVICE); return { root: [c.m, s], args: [c.dev, s.sgl, 2, L.DMA_TO_DEVICE, 0] }; }, args: [A(2, "nents"), DIR(3)] },
  { fn: "iommuDmaSyncSgForCpu", build: () => { const c = mt(); const s = sg1(MT_PFN); L.iommuDmaMapSg(c.dev, s.sgl, 2, L.DMA_TO_DEVICE); return { root: [c.m, s], args: [c.dev, s.sgl, 2, L.DMA_TO_DEVICE] }; }, args: [A(2, "nelems"), DIR(3)] },
  { fn: "iommuDmaSyncSgForDevice", build: () => { const c = mt(); const s = sg1(MT_PFN); L.iommuDmaMapSg(c.dev, s.sgl, 2, L.DMA_TO_DEVICE); return { root: [c.m, s], args: [c.dev, s.sgl, 2, L.DMA_TO_DEVICE] }; }, args: [A(2, "nelems"), DIR(3)] },
  { fn: "iommuDmaFree", build: () => { const c = mt(); const b = L.iommuDmaAlloc(c.dev, 8192)!; return { root: c.m, args: [c.dev, 8192, b.cpuAddr, b.dmaHandle] }; }, args: [A(1, "size"), A(2, "cpuAddr"), A(3, "dmaHandle")] },
  { fn: "iommuDeviceRead", build: () => { const c = mt(); const h = L.iommuDmaMapPage(c.dev, MT_PFN * 4096, 4096, L.DMA_TO_DEVICE); return { root: c.m, args: [c.dev, h, 64] }; }, args: [A(1, "dmaAddr"), A(2, "size")], err: nullErr },
  { fn: "iommuDeviceWrite", build: () => { const c = mt(); const h = L.iommuDmaMapPage(c.dev, MT_PFN * 4096, 4096, L.DMA_FROM_DEVICE); return { root: c.m, args: [c.dev, h, 64] }; }, args: [A(1, "dmaAddr"), A(2, "size")], err: (r) => r === false || r === null },
  { fn: "dmaAllocPages", build: () => { const c = x86(); return { root: c.m, args: [c.dev, 8192, L.DMA_BIDIRECTIONAL] }; }, args: [A(1, "size"), DIR(2)], err: nullErr },
  { fn: "dmaAllocNoncontiguous", build: () => { const c = x86(); return { root: c.m, args: [c.dev, 8192, L.DMA_BIDIRECTIONAL] }; }, args: [A(1, "size"), DIR(2)], err: nullErr },
  { fn: "dmaCapable", build: () => { const c = x86(); return { root: c.m, args: [c.dev, 0x1000, 4096] }; }, args: [A(1, "addr"), A(2, "size")], anyReturn: true },
  // memory model
  { fn: "kfree", build: () => { const c = x86(); const va = L.kmalloc(c.m, 4096); return { root: c.m, args: [c.m, va] }; }, args: [A(1, "va", ["neg", "nan", "frac", "huge"])] },
  { fn: "ksize", build: () => { const c = x86(); const va = L.kmalloc(c.m, 4096); return { root: c.m, args: [c.m, va] }; }, args: [A(1, "va")] },
  { fn: "stackBuffer", build: () => { const c = x86(); return { root: c.m, args: [c.m, 256, 256] }; }, args: [A(1, "size"), A(2, "offset")] },
  { fn: "memremap", build: () => { const c = x86(); return { root: c.m, args: [c.m.mm, 0x100000, 8192, "MEMREMAP_WB"] }; }, args: [A(1, "offset"), A(2, "size")] },
  { fn: "vfree", build: () => { const c = x86(); const va = L.vmalloc(c.m.mm, 8192); return { root: c.m, args: [c.m.mm, va] }; }, args: [A(1, "addr")] },
  { fn: "physToVirt", build: () => { const c = x86(); return { root: c.m, args: [c.m, 0x100000] }; }, args: [A(1, "pa")] },
  { fn: "virtToPhys", build: () => { const c = x86(); return { root: c.m, args: [c.m, L.physToVirt(c.m, 0x100000)] }; }, args: [A(1, "va")] },
  { fn: "pfnToPage", build: () => { const c = x86(); return { root: c.m, args: [c.m, 0x100] }; }, args: [A(1, "pfn")] },
  { fn: "fragment", shared: true, build: () => { const c = x86(); return { root: c.m, args: [c.m, 1, 0.001] }; }, args: [A(1, "seed"), A(2, "fraction", ["neg", "nan", "huge", "type"])] },
  { fn: "swiotlbSyncSingle", shared: true, build: () => { const c = x86Bounce(); const t = L.swiotlbTblMapSingle(c.dev, c.mem, 0x100000 as L.PhysAddr, 4096, { dir: L.DMA_TO_DEVICE }); return { root: [c.mem, c.m.dmaStreaming, c.m.cpuCache], args: [c.dev, c.mem, t, 4096, L.DMA_TO_DEVICE, "device"] }; }, args: [A(2, "tlbAddr"), A(3, "size"), DIR(4)] },
  { fn: "swiotlbReleaseSlots", shared: true, build: () => { const c = x86Bounce(); const t = L.swiotlbTblMapSingle(c.dev, c.mem, 0x100000 as L.PhysAddr, 4096, { dir: L.DMA_TO_DEVICE }); return { root: [c.mem, c.m.dmaStreaming, c.m.cpuCache], args: [c.dev, c.mem, t] }; }, args: [A(2, "tlbAddr")] },
  // pure arithmetic (no machine)
  ...(["andMask", "clearMask"] as const).map((fn): Entry => ({ fn, build: () => ({ root: null, args: [0x12345, 0xfff] }), args: [A(0, "x"), A(1, "mask", [...NUM, "misaligned"], { misaligned: () => [0x1000, 0xffe] })] })),
  // a negative x is wrapped as C's unsigned conversion does (u32(-1) = 0xffffffff): not a bad value here
  { fn: "wrapToMask", build: () => ({ root: null, args: [0x12345, 0xfff] }), args: [A(0, "x", ["nan", "frac", "huge", "type"]), A(1, "mask", [...NUM, "misaligned"], { misaligned: () => [0x1000, 0xffe] })] },
  { fn: "u32", build: () => ({ root: null, args: [0x12345] }), args: [A(0, "x", ["nan", "frac", "huge", "type"])] },
  { fn: "bitsOfMask", build: () => ({ root: null, args: [0xffff] }), args: [A(0, "mask", [...NUM, "misaligned"], { misaligned: () => [0x1000, 0xffe] })] },
  { fn: "DMA_BIT_MASK", build: () => ({ root: null, args: [32] }), args: [A(0, "n")] },
  { fn: "crossesBoundary", build: () => ({ root: null, args: [0x1000, 0x1000, 0xffff] }), args: [A(0, "start"), A(1, "len"), A(2, "mask", [...NUM, "misaligned"], { misaligned: () => [0x1000] })] },
  { fn: "minNotZero", build: () => ({ root: null, args: [5, 7] }), args: [A(0, "a"), A(1, "b")] },
  ...(["isAligned", "isPowerOf2", "isLowMask", "hex", "fmtSize", "validDmaDirection", "dirName", "errnoName", "dmaMappingError"] as const).map((fn): Entry => ({ fn, build: () => ({ root: null, args: fn === "isAligned" ? [4096, 4096] : [4096] }), args: [A(0, "x")], anyReturn: true })),
  { fn: "hasAttr", build: () => ({ root: null, args: [32, 32] }), args: [A(0, "attrs", ["attrs"])], anyReturn: true },
  { fn: "withAttr", build: () => ({ root: null, args: [0, 32] }), args: [A(0, "attrs", ["attrs"])], anyReturn: true },
  ...(["iovaAlign", "iovaAlignDown", "iovaOffset", "iovaPfn"] as const).map((fn): Entry => ({ fn, build: () => { const d = L.initIovaDomain(4096, 1); return { root: d, args: [d, 5000] }; }, args: [A(1, fn === "iovaAlign" || fn === "iovaAlignDown" ? "size" : "iova")] })),
  { fn: "findIova", build: () => { const d = L.initIovaDomain(4096, 1); return { root: d, args: [d, 5] }; }, args: [A(1, "pfn")], anyReturn: true },
  // batch 3: helpers with number arguments
  { fn: "swiotlbNrSlots", build: () => ({ root: null, args: [4096] }), args: [A(0, "bytes")] },
  { fn: "swiotlbNslabsForSize", build: () => ({ root: null, args: [2 ** 20] }), args: [A(0, "bytes")] },
  { fn: "getCountOrderLong", build: () => ({ root: null, args: [5] }), args: [A(0, "x")] },
  { fn: "pfnValid", build: () => { const c = x86(); return { root: c.m, args: [c.m, 0x100] }; }, args: [A(1, "pfn")], anyReturn: true },
  { fn: "virtToPage", build: () => { const c = x86(); return { root: c.m, args: [c.m, L.physToVirt(c.m, 0x100000)] }; }, args: [A(1, "va")] },
  { fn: "isLinearMapAddr", build: () => { const c = x86(); return { root: c.m, args: [c.m, L.physToVirt(c.m, 0x100000)] }; }, args: [A(1, "va")], anyReturn: true },
  { fn: "vmallocBuddy", build: () => { const c = x86(); return { root: c.m, args: [c.m, 8192] }; }, args: [A(1, "size")], err: nullErr },
  { fn: "vfreeBuddy", build: () => { const c = x86(); const b = L.vmallocBuddy(c.m, 8192)!; return { root: c.m, args: [c.m, b.va] }; }, args: [A(1, "va")] },
  { fn: "dmaKmallocNeedsBounce", build: () => { const c = x86(); return { root: c.m, args: [c.dev, 64, L.DMA_TO_DEVICE] }; }, args: [A(1, "size"), DIR(2)], anyReturn: true },
  { fn: "dmaCoherentOk", build: () => { const c = x86(); return { root: c.m, args: [c.dev, 0x100000, 4096] }; }, args: [A(1, "phys"), A(2, "size")], anyReturn: true },
  { fn: "dmaDirectAllocPages", build: () => { const c = x86(); return { root: c.m, args: [c.dev, 8192] }; }, args: [A(1, "size")], err: nullErr },
  { fn: "dmaAllocSgWhatIf", build: () => { const c = x86(); return { root: c.m, args: [c.dev, 8192, L.DMA_BIDIRECTIONAL] }; }, args: [A(1, "size"), DIR(2)], err: nullErr },
  { fn: "vb2DmaContigSetMaxSegSize", build: () => { const c = mt(); return { root: c.m, args: [c.dev, 65536] }; }, args: [A(1, "size")], err: negErrno },
  { fn: "iommuDmaMapResource", build: () => { const c = mt(); return { root: c.m, args: [c.dev, 0x10000000, 4096, L.DMA_TO_DEVICE, 0, 4096] }; }, args: [A(1, "phys"), A(2, "size"), DIR(3), ATTRS(4)], err: mapErr },
  { fn: "iommuDmaFindAlloc", build: () => { const c = mt(); const b = L.iommuDmaAlloc(c.dev, 8192)!; return { root: c.m, args: [c.dev, b.cpuAddr] }; }, args: [A(1, "cpuAddr")], anyReturn: true },
  { fn: "swiotlbAlignOffset", build: () => { const c = x86(); return { root: c.m, args: [c.dev, 0, 0x1234] }; }, args: [A(2, "addr")] },
  // batch 4
  { fn: "iommuDmaAllocIova", build: () => { const c = mt(); return { root: c.m, args: [c.dev.iommuDomain, 8192, 0xffffffff, c.dev] }; }, args: [A(1, "size"), A(2, "dmaLimit")], err: (r) => r === 0 },
  { fn: "iommuDmaFreeIova", build: () => { const c = mt(); const d = c.dev.iommuDomain!; const a = L.iommuDmaAllocIova(d, 8192, 0xffffffff, c.dev); return { root: c.m, args: [d, a, 8192] }; }, args: [A(1, "dmaAddr"), A(2, "size")], err: (r) => r === 0 },
  { fn: "iommuIovaToPhys", build: () => { const c = mt(); return { root: c.m, args: [c.dev.iommuDomain, 0x1000] }; }, args: [A(1, "iova")], anyReturn: true },
  { fn: "physToDma", build: () => { const c = x86(); return { root: c.m, args: [c.dev, 0x100000] }; }, args: [A(1, "paddr")], anyReturn: true },
  { fn: "dmaToPhys", build: () => { const c = x86(); return { root: c.m, args: [c.dev, 0x100000] }; }, args: [A(1, "daddr")], anyReturn: true },
  { fn: "vmallocToSg", build: () => { const c = x86(); const b = L.vmallocBuddy(c.m, 8192)!; return { root: c.m, args: [c.m, b.va, 2] }; }, args: [A(1, "va"), A(2, "nrPages")], err: nullErr },
  { fn: "runIommuGapsReleases", build: () => ({ root: null, args: [{ segments: [65536, 16384] }, ["v6.19"]] }), args: [A(0, "segments", NUM, { set: (a, v) => { (a[0] as Record<string, unknown>)["segments"] = [65536, v]; } })] },
  // machine and device construction (parameter objects)
  { fn: "createMachine", build: () => ({ root: null, args: ["x86-64-pc", { kernel: "v6.19", seed: 1 }] }), args: [A(1, "seed", NUM, { set: (a, v) => { (a[1] as Record<string, unknown>)["seed"] = v; } }), A(1, "swiotlb.size", NUM, { set: (a, v) => { (a[1] as Record<string, unknown>)["swiotlb"] = { size: v }; } }), A(1, "kernel", ["neg", "nan", "type"], { set: (a, v) => { (a[1] as Record<string, unknown>)["kernel"] = v; } })] },
  { fn: "createDevice", build: () => ({ root: null, args: [{ name: "d", driver: "t", bus: "platform", dmaMaskBits: 32, dmaCoherent: true }] }), args: [A(0, "dmaMaskBits", NUM, { set: (a, v) => { (a[0] as Record<string, unknown>)["dmaMaskBits"] = v; } }), A(0, "coherentDmaMaskBits", NUM, { set: (a, v) => { (a[0] as Record<string, unknown>)["coherentDmaMaskBits"] = v; } })] },
  // scenarios (parameter objects, zod schemas)
  { fn: "runCase02", build: () => { const p = { board: "uniphier-pxs3", kernel: "v6.19", variant: "baseline" }; return { root: null, args: [p] }; }, args: [A(0, "runCase02", ["obj"]), A(0, "kernel", ["neg", "type"], { set: (a, v) => { (a[0] as Record<string, unknown>)["kernel"] = v; } })] },
  { fn: "runIommuGapsCase", build: () => ({ root: null, args: [{ kernel: "v6.19", segments: [65536, 16384] }] }), args: [A(0, "runIommuGapsCase", ["obj"])] },
  // batch 5: case 03 (genalloc, CMA, ARM32 sections and pools, the ARM allocation hooks)
  { fn: "bitmapFindNextZeroAreaOff", build: () => { const map = new Uint8Array(64); return { root: map, args: [map, 64, 0, 4, 3, 0] }; }, args: [A(1, "size"), A(2, "start"), A(3, "nr"), A(4, "alignMask", [...NUM, "misaligned"], { misaligned: () => [2, 6, 4] }), A(5, "alignOffset")], anyReturn: true },
  { fn: "bitmapFindNextZeroArea", build: () => { const map = new Uint8Array(64); return { root: map, args: [map, 64, 0, 4, 3] }; }, args: [A(1, "size"), A(2, "start"), A(3, "nr"), A(4, "alignMask", [...NUM, "misaligned"], { misaligned: () => [2, 6] })], anyReturn: true },
  { fn: "genPoolRunAlgo", build: () => { const map = new Uint8Array(64); return { root: map, args: ["gen_pool_first_fit_order_align", map, 64, 0, 4] }; }, args: [A(0, "algo", ["obj"]), A(2, "size"), A(3, "start"), A(4, "nr")], anyReturn: true },
  { fn: "genPoolCreate", build: () => ({ root: null, args: [12] }), args: [A(0, "minAllocOrder")] },
  { fn: "genPoolSetAlgo", build: () => { const p = L.genPoolCreate(12); return { root: p, args: [p, "gen_pool_first_fit"] }; }, args: [A(1, "algo", ["obj", "type"])] },
  { fn: "genPoolAddVirt", build: () => { const p = L.genPoolCreate(12); return { root: p, args: [p, 0xf0000000, 0x2c000000, 65536] }; }, args: [A(1, "virt"), A(2, "phys"), A(3, "size")] },
  { fn: "genPoolAdd", build: () => { const p = L.genPoolCreate(12); return { root: p, args: [p, 0xf0000000, 65536] }; }, args: [A(1, "addr"), A(2, "size")] },
  { fn: "genPoolAlloc", build: () => { const p = L.genPoolCreate(12); L.genPoolAdd(p, 0xf0000000, 65536); return { root: p, args: [p, 8192] }; }, args: [A(1, "size"), A(2, "algo", ["obj", "type"])], err: (r) => r === 0 },
  { fn: "genPoolFree", build: () => { const p = L.genPoolCreate(12); L.genPoolAdd(p, 0xf0000000, 65536); const a = L.genPoolAlloc(p, 8192); return { root: p, args: [p, a, 8192] }; }, args: [A(1, "addr"), A(2, "size")], oops: ["neg", "huge"] },
  { fn: "genPoolHasAddr", build: () => { const p = L.genPoolCreate(12); L.genPoolAdd(p, 0xf0000000, 65536); return { root: p, args: [p, 0xf0000000, 4096] }; }, args: [A(1, "start"), A(2, "size")], anyReturn: true },
  { fn: "genPoolVirtToPhys", build: () => { const p = L.genPoolCreate(12); L.genPoolAddVirt(p, 0xf0000000, 0x2c000000, 65536); return { root: p, args: [p, 0xf0001000] }; }, args: [A(1, "addr")], anyReturn: true },
  { fn: "cmaInitReservedMem", build: () => ({ root: null, args: [{ kernel: "v6.19", base: 0x2c000000, size: 64 * 2 ** 20 }] }), args: [A(0, "base", NUM, { set: fld(0, "base") }), A(0, "size", NUM, { set: fld(0, "size") }), A(0, "orderPerBit", NUM, { set: fld(0, "orderPerBit") }), A(0, "pageSize", [...NUM, "misaligned"], { set: fld(0, "pageSize"), misaligned: () => [3000] }), A(0, "kernel", ["type"], { set: fld(0, "kernel") })], err: (r) => (r as { ret: number }).ret < 0 },
  { fn: "cmaMinAlignment", build: () => ({ root: null, args: ["v6.19", 4096, 10, 11] }), args: [A(0, "kernel", ["type"]), A(1, "pageSize", [...NUM, "misaligned"], { misaligned: () => [3000] }), A(2, "pageblockOrder"), A(3, "maxOrder")] },
  { fn: "cmaAlloc", build: () => { const c = cma(); return { root: c, args: [c, 16, 4] }; }, args: [A(1, "count"), A(2, "align")], err: (r) => (r as L.CmaAllocResult).pfn === null },
  { fn: "cmaRelease", build: () => { const c = cma(); const r = L.cmaAlloc(c, 16, 4); return { root: c, args: [c, r.pfn, 16] }; }, args: [A(1, "pfn"), A(2, "count")], err: (r) => r === false },
  { fn: "cmaMarkBusy", build: () => { const c = cma(); return { root: c, args: [c, c.basePfn, 4] }; }, args: [A(1, "pfn"), A(2, "count")] },
  { fn: "dmaAllocFromContiguous", build: () => { const c = cma(); return { root: c, args: [c, 16, 4, 8] }; }, args: [A(1, "count"), A(2, "align"), A(3, "cmaAlignment")], err: (r) => (r as L.CmaAllocResult).pfn === null },
  { fn: "dmaReleaseFromContiguous", build: () => { const c = cma(); const r = L.cmaAlloc(c, 16, 4); return { root: c, args: [c, r.pfn, 16] }; }, args: [A(1, "pfn"), A(2, "count")], err: (r) => r === false },
  { fn: "dmaContiguousSelect", build: () => ({ root: null, args: [{ kernel: "v5.4", dtDefaultSize: 64 * 2 ** 20, cmdline: "32M", limit: 0xffffffff }] }), args: [A(0, "limit", NUM, { set: fld(0, "limit") }), A(0, "dtDefaultSize", NUM, { set: fld(0, "dtDefaultSize") }), A(0, "configMbytes", NUM, { set: fld(0, "configMbytes") }), A(0, "cmdline", ["type"], { set: fld(0, "cmdline") })] },
  { fn: "parseCmaCmdline", build: () => ({ root: null, args: ["64M"] }), args: [A(0, "cma=", ["type"])] },
  { fn: "arm32LinearMap", build: () => ({ root: null, args: [L.loadPlatformProfile("bcm2836-rpi-2-b"), { lpae: false }] }), args: [A(1, "pageOffset", NUM, { set: fld(1, "pageOffset") }), A(1, "lowmemLimit", NUM, { set: fld(1, "lowmemLimit") })] },
  { fn: "pgdAlloc", build: () => { const m = lmap(); return { root: m, args: [m, "p", 1] }; }, args: [A(2, "threads")] },
  { fn: "spawnProcesses", build: () => { const m = lmap(); return { root: m, args: [m, 3, 1] }; }, args: [A(1, "n"), A(2, "threads")] },
  { fn: "dmaContiguousRemap", build: () => { const m = lmap(); return { root: m, args: [m, [{ base: 0x2c000000, size: 64 * 2 ** 20 }]] }; }, args: [A(1, "base", NUM, { set: (a, v) => { (a[1] as { base: unknown }[])[0]!.base = v; } }), A(1, "size", NUM, { set: (a, v) => { (a[1] as { size: unknown }[])[0]!.size = v; } }), A(1, "area", ["misaligned"], { set: (a, v) => { (a[1] as { base: unknown }[])[0]!.base = v; }, misaligned: () => [0x2c001000] })] },
  { fn: "changeAttributes", build: () => { const m = lmap(); return { root: m, args: [m, { phys: 0x2c001000, size: 4096 }, "noncacheable"] }; }, args: [A(1, "phys", NUM, { set: fld(1, "phys") }), A(1, "size", NUM, { set: fld(1, "size") }), A(2, "attr", ["obj", "type"])] },
  { fn: "linearMapAttrAt", build: () => { const m = lmap(); return { root: m, args: [m, 0, 0x2c001000] }; }, args: [A(1, "pid"), A(2, "phys")], anyReturn: true },
  { fn: "linearMapGranuleAt", build: () => { const m = lmap(); return { root: m, args: [m, 0x2c001000] }; }, args: [A(1, "phys")] },
  { fn: "arm32AtomicPoolInit", build: () => ({ root: null, args: [{ kernel: "v5.4", coherentPool: 262144, allocPages: () => 0x2fc00000 }] }), args: [A(0, "coherent_pool=", NUM, { set: fld(0, "coherentPool") }), A(0, "lowmemLimit", NUM, { set: fld(0, "lowmemLimit") }), A(0, "cmaAlignment", NUM, { set: fld(0, "cmaAlignment") }), A(0, "kernel", ["type"], { set: fld(0, "kernel") })] },
  { fn: "arm32AllocFromPool", build: () => { const ap = apool(); return { root: ap, args: [ap, 4096] }; }, args: [A(1, "size")], err: nullErr },
  { fn: "arm32FreeFromPool", build: () => { const ap = apool(); const a = L.arm32AllocFromPool(ap, 4096)!; return { root: ap, args: [ap, a.virt, 4096] }; }, args: [A(1, "virt"), A(2, "size")], err: (r) => r === false },
  { fn: "defaultAtomicPoolSize", build: () => ({ root: null, args: ["v6.19", 262144, 4096, 10] }), args: [A(0, "kernel", ["type"]), A(1, "totalRamPages"), A(2, "pageSize", [...NUM, "misaligned"], { misaligned: () => [3000] }), A(3, "maxPageOrder")] },
  { fn: "dmaAtomicPoolInit", build: () => ({ root: null, args: [{ kernel: "v6.19", totalRamPages: 262144, zones: { dma32: { managed: true }, normal: { managed: true } }, allocPages: (z: string) => ({ dma: 0x01000000, dma32: 0x80000000, kernel: 0x100000000 } as Record<string, number>)[z] }] }), args: [A(0, "totalRamPages", NUM, { set: fld(0, "totalRamPages") }), A(0, "coherent_pool=", NUM, { set: fld(0, "coherentPool") }), A(0, "kernel", ["type"], { set: fld(0, "kernel") })] },
  { fn: "dmaAllocFromPool", build: () => { const p = dpool(); return { root: p, args: [p, 8192, "kernel"] }; }, args: [A(1, "size"), A(2, "gfp", ["obj", "type"])], err: (r) => (r as { alloc: unknown }).alloc === null },
  { fn: "dmaFreeFromPool", build: () => { const p = dpool(); const a = L.dmaAllocFromPool(p, 8192, "kernel").alloc!; return { root: p, args: [p, a.virt, 8192] }; }, args: [A(1, "virt"), A(2, "size")], err: (r) => r === false },
  { fn: "dmaGuessPool", build: () => { const p = dpool(); return { root: p, args: [p, null, "kernel"] }; }, args: [A(1, "prev", ["obj", "type"]), A(2, "gfp", ["obj", "type"])], anyReturn: true },
  { fn: "arm32DmaAllocator", build: () => ({ root: null, args: [{ allowBlock: true, hasCmaArea: true, isCoherent: false }] }), args: [A(0, "arm32DmaAllocator", ["obj"]), A(0, "allowBlock", ["type", "nan"], { set: fld(0, "allowBlock") })] },
  { fn: "arm32CoherentPath", build: () => ({ root: null, args: [{ kernel: "v5.15", lpae: true, coherent: false, restrictedPool: true, allowBlock: true, hasCmaArea: true }] }), args: [A(0, "arm32CoherentPath", ["obj"]), A(0, "lpae", ["type", "nan"], { set: fld(0, "lpae") }), A(0, "kernel", ["type"], { set: fld(0, "kernel") })] },
  { fn: "armDmaAllocBoot", build: () => { const c = rpi(); return { root: c.m, args: [c.m.mm, { coherentPool: 262144, cmaSize: 64 * 2 ** 20 }] }; }, args: [A(1, "coherent", NUM, { set: fld(1, "coherentPool") }), A(1, "cmaSize", NUM, { set: fld(1, "cmaSize") })] },
  { fn: "armDmaAlloc", build: () => { const c = rpi(); return { root: c.m, args: [c.dev, 8192, 0, { blocking: true }] }; }, args: [A(1, "size"), ATTRS(2)], err: (r) => (r as { buffer?: unknown }).buffer === null },
  { fn: "armDmaFree", build: () => { const c = rpi(); const b = L.dmaAllocAttrs(c.dev, 8192)!; return { root: c.m, args: [c.dev, 8192, b.cpuAddr, b.dmaHandle] }; }, args: [A(1, "size"), A(2, "cpuAddr"), A(3, "handle")], err: (r) => r === false },
  { fn: "armAtomicPoolHas", build: () => { const c = rpi(); L.dmaAllocAttrs(c.dev, 8192); const st = L.armDmaAllocStateOf(c.m.mm)!; return { root: c.m, args: [st, 0xec000000, 4096] }; }, args: [A(1, "virt"), A(2, "size")], anyReturn: true },
  { fn: "armDmaAllocExplain", build: () => { const c = rpi(); L.dmaAllocAttrs(c.dev, 8192); return { root: c.m, args: [c.dev, true] }; }, args: [A(1, "blocking", ["type", "nan"])], anyReturn: true },
  { fn: "arm32CoherentBoot", build: () => ({ root: null, args: ["bcm2836-rpi-2-b", { kernel: "v6.19", coherentPool: 262144, processes: 2 }] }), args: [A(1, "coherent", NUM, { set: fld(1, "coherentPool") }), A(1, "cmaSize", NUM, { set: fld(1, "cmaSize") }), A(1, "processes", NUM, { set: fld(1, "processes") }), A(1, "kernel", ["type"], { set: fld(1, "kernel") })] },
  { fn: "arm32DmaAllocCoherent", shared: true, build: () => { const b = L.arm32CoherentBoot("bcm2836-rpi-2-b"); return { root: b, args: [b, 8192, { allowBlock: false }] }; }, args: [A(1, "size")], err: (r) => (r as { phys: unknown }).phys === null },
  { fn: "arm32DmaFreeCoherentCma", build: () => { const b = L.arm32CoherentBoot("bcm2836-rpi-2-b"); const a = L.arm32DmaAllocCoherent(b, 2 ** 20, { allowBlock: true }); return { root: b, args: [b, a.phys, 2 ** 20] }; }, args: [A(1, "phys"), A(2, "size")], err: (r) => (r as { released: boolean }).released === false },
  { fn: "case03Costs", build: () => ({ root: null, args: ["v6.19", [0, 10]] }), args: [A(0, "kernel", ["type"]), A(1, "processCounts", NUM, { set: (a, v) => { a[1] = [0, v]; } })] },
  { fn: "case03Hazard", build: () => ({ root: null, args: ["bcm2836-rpi-2-b", "v6.19", { alias: "cacheable", phys: 0x2c000000, size: 4096, seed: 3, specFillProb: 0, steps: 8 }] }), args: [A(2, "phys", NUM, { set: fld(2, "phys") }), A(2, "size", NUM, { set: fld(2, "size") }), A(2, "seed", NUM, { set: fld(2, "seed") }), A(2, "specFillProb", ["neg", "nan", "huge", "type"], { set: fld(2, "specFillProb") }), A(2, "steps", NUM, { set: fld(2, "steps") }), A(2, "alias", ["obj", "type"], { set: fld(2, "alias") })] },
  { fn: "case03Restricted", build: () => ({ root: null, args: [["v6.19"], ["mainline"]] }), args: [A(0, "release", ["type"], { set: (a, v) => { a[0] = [v]; } }), A(1, "variant", ["type", "obj"], { set: (a, v) => { a[1] = [v]; } })] },
  { fn: "runCase03", shared: true, build: () => ({ root: null, args: [{ board: "bcm2836-rpi-2-b", kernel: "v6.19", releases: ["v6.19"], cmaEnabled: true, coherentPoolSize: 262144, processes: 2, allocSizes: [4096], variant: "mainline" }] }), args: [A(0, "coherentPoolSize", NUM, { set: fld(0, "coherentPoolSize") }), A(0, "processes", NUM, { set: fld(0, "processes") }), A(0, "allocSizes", NUM, { set: (a, v) => { (a[0] as Record<string, unknown>)["allocSizes"] = [v]; } }), A(0, "cmaSize", NUM, { set: fld(0, "cmaSize") }), A(0, "cmaEnabled", ["type"], { set: fld(0, "cmaEnabled") }), A(0, "variant", ["type", "obj"], { set: fld(0, "variant") })] },
  // batch 6: number arguments on machine state
  { fn: "sgAllocTableFromPages", build: () => { const t = L.createSgTable(); return { root: t, args: [t, [100, 101, 102], 3, 0, 3 * 4096] }; }, args: [A(2, "nPages"), A(3, "offset"), A(4, "size"), A(1, "pfn", ["neg", "nan", "frac", "huge"], { set: (a, v) => { a[1] = [100, v, 102]; } })], err: negErrno },
  { fn: "sgAllocTableFromPagesSegment", build: () => { const t = L.createSgTable(); return { root: t, args: [t, [100, 101, 102], 3, 0, 3 * 4096, 65536] }; }, args: [A(2, "nPages"), A(3, "offset"), A(4, "size"), A(5, "maxSegment")], err: negErrno },
  { fn: "sgAllocAppendTableFromPages", build: () => { const t = L.createSgAppendTable(); return { root: t, args: [t, [100, 101], 2, 0, 2 * 4096, 0xffffffff, 2] }; }, args: [A(2, "nPages"), A(3, "offset"), A(4, "size"), A(5, "maxSegment"), A(6, "leftPages")], err: negErrno },
  { fn: "sgPhys", build: () => { const t = sg1(100); return { root: t, args: [t.sgl[0], 4096] }; }, args: [A(1, "pageSize", [...NUM, "misaligned"], { misaligned: () => [3000] })] },
  { fn: "forEachSg", build: () => { const t = sg1(100); return { root: t, args: [t.sgl, 2, () => undefined] }; }, args: [A(1, "nents")] },
  { fn: "sgSetSinglePage", build: () => { const t = L.createSgTable(); return { root: t, args: [t, 100, 4096] }; }, args: [A(1, "pfn", ["neg", "nan", "frac", "huge"]), A(2, "len")] },
  { fn: "lineSpan", build: () => ({ root: null, args: [0x1010, 100, 64] }), args: [A(0, "paddr"), A(1, "size"), A(2, "lineSize", [...NUM, "misaligned"], { misaligned: () => [48] })] },
  { fn: "invalidateWithPartialClean", build: () => ({ root: null, args: [0x1010, 100, 64, "dma_direct_sync"] }), args: [A(0, "paddr"), A(1, "size"), A(2, "lineSize", [...NUM, "misaligned"], { misaligned: () => [48] })] },
  { fn: "applyMaintenance", build: () => { const c = x86(); return { root: c.m, args: [c.m, [], 0x100000] }; }, args: [A(2, "paddr")] },
  { fn: "isStackPhys", build: () => { const c = x86(); L.stackBuffer(c.m, 256, 0); return { root: c.m, args: [c.m, 0x100000] }; }, args: [A(1, "pa")], anyReturn: true },
  { fn: "inVmallocRange", build: () => { const c = x86(); return { root: c.m, args: [L.kernelLayout(c.m), 0x1000] }; }, args: [A(1, "va")], anyReturn: true },
  { fn: "inLinearRange", build: () => { const c = x86(); return { root: c.m, args: [L.kernelLayout(c.m), 0x1000] }; }, args: [A(1, "va")], anyReturn: true },
  { fn: "wrapVa", build: () => { const c = x86(); return { root: c.m, args: [L.kernelLayout(c.m), 0x1000] }; }, args: [A(1, "x", ["nan", "frac", "huge", "type"])] },
  { fn: "rawVirtToPhys", build: () => { const c = x86(); return { root: c.m, args: [L.kernelLayout(c.m), L.physToVirt(c.m, 0x100000)] }; }, args: [A(1, "va")] },
  { fn: "isVmallocAddr", build: () => { const c = x86(); return { root: c.m, args: [c.m, 0x1000] }; }, args: [A(1, "va")], anyReturn: true },
  { fn: "vmallocToPage", build: () => { const c = x86(); const va = L.vmalloc(c.m.mm, 8192); return { root: c.m, args: [c.m, va] }; }, args: [A(1, "va")], err: nullErr },
  { fn: "pageToPfn", build: () => { const c = x86(); return { root: c.m, args: [c.m, L.pfnToPage(c.m, 0x100)] }; }, args: [A(1, "page", ["obj"])] },
  { fn: "regionIntersectsSystemRam", build: () => { const c = x86(); return { root: c.m, args: [c.m.mm, 0x100000, 8192] }; }, args: [A(1, "start"), A(2, "size")] },
  { fn: "vmallocPages", build: () => { const c = x86(); return { root: c.m, args: [c.m.mm, 8192, [0x900, 0x901]] }; }, args: [A(1, "size"), A(2, "pfn", ["neg", "nan", "frac", "huge"], { set: (a, v) => { a[2] = [0x900, v]; } })], err: nullErr },
  { fn: "vmap", build: () => { const c = x86(); return { root: c.m, args: [c.m.mm, [0x900, 0x901]] }; }, args: [A(1, "pfn", ["neg", "nan", "frac", "huge"], { set: (a, v) => { a[1] = [0x900, v]; } })], err: nullErr },
  { fn: "vunmapAny", build: () => { const c = x86(); const va = L.vmap(c.m.mm, [0x900 as L.Pfn]); return { root: c.m, args: [c.m.mm, va] }; }, args: [A(1, "addr")] },
  { fn: "bitmapFindFreeRegion", build: () => { const b = new Array<boolean>(16).fill(false); return { root: b, args: [b, 1] }; }, args: [A(1, "order")], err: negErrno },
  { fn: "dmaAllocFromDevCoherent", build: () => { const c = pxs3(); return { root: c.m, args: [c.dev, 8192, 4096] }; }, args: [A(1, "size"), A(2, "pageSize", [...NUM, "misaligned"], { misaligned: () => [3000] })] },
  { fn: "dmaReleaseFromDevCoherent", build: () => { const c = pxs3(); const a = L.dmaAllocCoherent(c.dev, 8192)!; return { root: c.m, args: [c.dev, 1, a.cpuAddr, 4096] }; }, args: [A(1, "order"), A(2, "vaddr"), A(3, "pageSize", [...NUM, "misaligned"], { misaligned: () => [3000] })] },
  { fn: "inDevCoherentPool", build: () => { const c = pxs3(); return { root: c.m, args: [c.dev, c.dev.dmaMem!.virtBase] }; }, args: [A(1, "cpuAddr")], anyReturn: true },
  { fn: "dmaMmapFromDevCoherent", build: () => { const c = pxs3(); const a = L.dmaAllocCoherent(c.dev, 8192)!; return { root: c.m, args: [c.dev, a.cpuAddr, 2, 2, 0] }; }, args: [A(1, "cpuAddr"), A(2, "count"), A(3, "userPages"), A(4, "pgoff")] },
  { fn: "dmaDirectAllocPagesExplain", build: () => { const c = x86(); return { root: c.m, args: [c.dev, 8192] }; }, args: [A(1, "size")] },
  { fn: "dmaCommonFindPages", build: () => { const c = x86(); return { root: c.m, args: [c.m.mm, L.vmalloc(c.m.mm, 8192)] }; }, args: [A(1, "cpuAddr")], err: nullErr },
  { fn: "dmaCommonVaddrToPage", build: () => { const c = x86(); return { root: c.m, args: [c.m.mm, L.physToVirt(c.m, 0x100000)] }; }, args: [A(1, "cpuAddr")] },
  { fn: "dmaCommonPage", build: () => { const c = x86(); return { root: c.m, args: [c.m.mm, c.dev, L.physToVirt(c.m, 0x100000), 0x100000, false] }; }, args: [A(2, "cpuAddr"), A(3, "dmaHandle")], err: negRet },
  { fn: "armDmaToPfn", build: () => { const c = rpi("v5.4"); const b = L.dmaAllocAttrs(c.dev, 8192)!; return { root: c.m, args: [c.m.mm, c.dev, b.dmaHandle] }; }, args: [A(2, "handle")] },
  { fn: "armDmaGetSgtablePfn", build: () => { const c = rpi("v5.4"); const b = L.dmaAllocAttrs(c.dev, 8192)!; return { root: c.m, args: [c.m.mm, c.dev, b.dmaHandle] }; }, args: [A(2, "handle")] },
  { fn: "armDmaGetSgtable", build: () => { const c = rpi("v5.4"); const b = L.dmaAllocAttrs(c.dev, 8192)!; const sgt = L.createSgTable(); return { root: [c.m, sgt], args: [c.m.mm, c.dev, sgt, b.dmaHandle, 8192] }; }, args: [A(3, "handle"), A(4, "len")], err: negRet },
  { fn: "armDmaMmap", build: () => { const c = rpi("v5.4"); const b = L.dmaAllocAttrs(c.dev, 8192)!; return { root: c.m, args: [c.m.mm, c.dev, b.dmaHandle, 0] }; }, args: [A(2, "handle"), A(3, "pgoff")] },
  { fn: "vmallocGfp", build: () => { const c = x86(); return { root: c.m, args: [c.m, 8192, L.GFP_KERNEL] }; }, args: [A(1, "size")], err: nullErr },
  { fn: "iommuDmaGetSgtable", build: () => { const c = mt(); const b = L.iommuDmaAlloc(c.dev, 8192)!; const sgt = L.createSgTable(); return { root: [c.m, sgt], args: [c.dev, sgt, b.cpuAddr, b.dmaHandle, 8192] }; }, args: [A(2, "cpuAddr"), A(3, "dmaHandle"), A(4, "size")], err: negRet },
  { fn: "iommuDmaMmap", build: () => { const c = mt(); const b = L.iommuDmaAlloc(c.dev, 8192)!; return { root: c.m, args: [c.dev, b.cpuAddr, b.dmaHandle, 8192, 2, 0] }; }, args: [A(1, "cpuAddr"), A(3, "size"), A(4, "userPages"), A(5, "pgoff")], err: negRet },
  { fn: "iommuDeviceAccess", build: () => { const c = mt(); const h = L.iommuDmaMapPage(c.dev, MT_PFN * 4096, 4096, L.DMA_TO_DEVICE); return { root: c.m, args: [c.dev.iommuDomain, h, 64, false] }; }, args: [A(1, "iova"), A(2, "len")], anyReturn: true },
  { fn: "iommuMapSg", build: () => { const c = mt(); const s = sg1(MT_PFN); return { root: [c.m, s], args: [c.dev.iommuDomain, 0x100000, s.sgl, 2, 3] }; }, args: [A(1, "iova"), A(3, "nents")], err: (r) => r === 0 || negErrno(r) },
  { fn: "isSwiotlbBuffer", build: () => { const c = x86Bounce(); return { root: c.mem, args: [c.mem, 0x100000] }; }, args: [A(1, "paddr")], anyReturn: true },
  { fn: "swiotlbOrigAddr", build: () => { const c = x86Bounce(); const t = L.swiotlbTblMapSingle(c.dev, c.mem, 0x100000 as L.PhysAddr, 4096, { dir: L.DMA_TO_DEVICE }); return { root: c.mem, args: [c.dev, c.mem, t] }; }, args: [A(2, "tlbAddr")], err: nullErr },
  { fn: "iommuDmaUnmapRange", build: () => { const c = mt(); const h = L.iommuDmaMapPage(c.dev, MT_PFN * 4096, 4096, L.DMA_TO_DEVICE); return { root: c.m, args: [c.dev, h, 4096] }; }, args: [A(1, "dma_addr"), A(2, "size")] },
  // batch 8: the former PENDING list (swiotlb steps, iommu-dma interface, notebook 06)
  { fn: "swiotlbMap", shared: true, build: () => { const c = x86Bounce(); L.activeMappings(c.m); return { root: [c.mem, c.m.dmaStreaming, c.m.cpuCache], args: [c.dev, c.m, c.m.dmaStreaming, c.mem, 0x100000, 4096, L.DMA_TO_DEVICE, 0, {}, "swiotlb_map", "fuzz", "swiotlb=force"] }; }, args: [A(4, "paddr"), A(5, "size"), DIR(6), ATTRS(7)], err: mapErr },
  ...(["v5.4", "v6.19"] as const).map((kernel): Entry => ({ fn: `swiotlbReleaseSpan@${kernel}`, shared: true, build: () => { const m = L.createMachine("x86-64-pc", { kernel, swiotlb: { force: true } }); const dev = m.device("0000:00:1a.0"); const mem = L.swiotlbOf(m)!; const t = L.swiotlbTblMapSingle(dev, mem, 0x100000 as L.PhysAddr, 4096, { dir: L.DMA_TO_DEVICE }); return { root: [mem, m.dmaStreaming, m.cpuCache], args: [dev, mem, t, 4096, "swiotlbReleaseSpan"] }; }, args: [A(2, "tlbAddr"), ...(kernel === "v5.4" ? [A(3, "allocSize")] : [])] })),
  { fn: "iommuDmaMapPhysRange", build: () => { const c = mt(); return { root: c.m, args: [c.dev, MT_PFN * 4096, 4096, 3, 0xffffffff] }; }, args: [A(1, "phys"), A(2, "size"), A(3, "prot"), A(4, "dmaMask"), A(5, "cpu", NUM, { set: fld(5, "cpu") })], err: mapErr },
  { fn: "iommuDmaUnmapResource", build: () => { const c = mt(); const h = L.dmaMapResource(c.dev, 0x10000000, 4096, L.DMA_TO_DEVICE); return { root: c.m, args: [c.dev, h, L.DMA_TO_DEVICE, 0] }; }, args: [A(1, "handle"), DIR(2), ATTRS(3)] },
  { fn: "dmaInfoToProt", build: () => ({ root: null, args: [L.DMA_TO_DEVICE, true, 0] }), args: [A(0, "dir", ["dir"]), A(1, "coherent", ["neg", "nan"]), ATTRS(2)], err: (r) => r === 0 },
  { fn: "iommuPgsize", build: () => ({ root: null, args: [[4096, 65536, 2 ** 20], 0x100000, 0x40100000, 65536] }), args: [A(1, "iova"), A(2, "paddr"), A(3, "size")] },
  { fn: "iommuDmaCheckCpu", build: () => { const c = mt(); return { root: c.m, args: [c.dev, { cpu: 0 }, "fuzz"] }; }, args: [A(1, "cpu", NUM, { set: fld(1, "cpu") })] },
  { fn: "iommuDomainAdvanceTime", build: () => { const c = lazyArm(); return { root: c.m, args: [c.dev.iommuDomain, 5e6] }; }, args: [A(1, "nowNs", ["neg", "nan", "huge", "type"])] },
  { fn: "machineAdvanceTime", build: () => { const c = lazyArm(); return { root: c.m, args: [c.m, 5e6] }; }, args: [A(1, "ns")] },
  { fn: "iommuDomainCounters", build: () => { const c = mt(); return { root: c.m, args: [c.dev.iommuDomain] }; }, args: [A(0, "domain", ["obj"])] },
  { fn: "iommuDomainStrict", build: () => { const c = mt(); return { root: c.m, args: [c.dev.iommuDomain] }; }, args: [A(0, "domain", ["obj"])] },
  { fn: "iommuDmaLazySupported", build: () => ({ root: null, args: ["v6.19", "arm-smmu-v3"] }), args: [A(0, "kernel", ["type", "obj"]), A(1, "driver", ["type"])] },
  { fn: "iommuDmaDefaultStrict", build: () => ({ root: null, args: ["v6.19", "arm-smmu-v3", "arm64"] }), args: [A(0, "kernel", ["type", "obj"]), A(1, "driver", ["type"]), A(2, "arch", ["type"])] },
  { fn: "addDmaOpCounts", build: () => { const a = { ...L.emptyDmaOpCounts(), calls: 2 }; const b = { ...L.emptyDmaOpCounts(), pteWrites: 3 }; return { root: [a, b], args: [a, b] }; }, args: [A(0, "calls", NUM, { set: fld(0, "calls") }), A(1, "pteWrites", NUM, { set: fld(1, "pteWrites") }), A(1, "maintenanceNs", ["neg", "nan", "huge", "type"], { set: fld(1, "maintenanceNs") }), A(0, "a", ["obj"])] },
  { fn: "chargeDmaOp", build: () => { const c = L.createMachine("arm64-server", { kernel: "v6.19" }).costs; const n = { ...L.emptyDmaOpCounts(), calls: 2, pteWrites: 1 }; return { root: [c, n], args: [c, n] }; }, args: [A(1, "calls", NUM, { set: fld(1, "calls") }), A(1, "iotlbSyncs", NUM, { set: fld(1, "iotlbSyncs") }), A(1, "maintenanceNs", ["neg", "nan", "huge", "type"], { set: fld(1, "maintenanceNs") }), A(1, "counts", ["obj"])] },
  { fn: "mapBenchmarkStats", build: () => { const l = [1200, 340.5, 99]; return { root: l, args: [l] }; }, args: [A(0, "latency", ["neg", "nan", "huge", "type"], { set: (a, v) => { a[0] = [100, v]; } })] },
  { fn: "case06Machine", shared: true, build: () => ({ root: null, args: ["arm64-server", "v6.19", "iommu-lazy", { seed: 1, dmaBits: 40 }] }), args: [A(0, "platform", ["type"]), A(2, "backend", ["type"]), A(3, "dmaBits", NUM, { set: fld(3, "dmaBits") }), A(3, "seed", ["neg", "nan", "frac", "type"], { set: fld(3, "seed") })] },
  { fn: "dmaMapBenchmark", shared: true, build: () => ({ root: null, args: [{ platform: "arm64-server", kernel: "v6.19", backend: "iommu-lazy", maxLoops: 20 }] }), args: [A(0, "threads", NUM, { set: fld(0, "threads") }), A(0, "granule", NUM, { set: fld(0, "granule") }), A(0, "dmaBits", NUM, { set: fld(0, "dmaBits") }), A(0, "dmaTransNs", NUM, { set: fld(0, "dmaTransNs") }), A(0, "maxLoops", NUM, { set: fld(0, "maxLoops") }), A(0, "dmaDir", ["type", "dir"], { set: fld(0, "dmaDir") })] },
  { fn: "runCase06", shared: true, build: () => ({ root: null, args: [{ platform: "x86-64-pc-8g-vtd", kernel: "v6.19", backend: "iommu-lazy", workload: "storage-4k", ops: 40 }] }), args: [A(0, "size", NUM, { set: fld(0, "size") }), A(0, "ops", NUM, { set: fld(0, "ops") }), A(0, "threads", NUM, { set: fld(0, "threads") }), A(0, "workload", ["type"], { set: fld(0, "workload") }), A(0, "backend", ["type"], { set: fld(0, "backend") })] },
  { fn: "checkIommuPgsizes", build: () => { const p = { name: "smmu", driver: "arm-smmu-v3", granule: 4096, pageSizes: [4096, 2 ** 21, 2 ** 30] }; return { root: p, args: [p] }; }, args: [A(0, "granule", [...NUM, "misaligned"], { set: fld(0, "granule"), misaligned: () => [8192, 3000] }), A(0, "pageSizes", ["neg", "nan", "frac", "huge"], { set: (a, v) => { a[0] = { ...(a[0] as object), pageSizes: [4096, v, 2 ** 30] }; } })] },
  { fn: "iommuPteFormat", build: () => { const hw = [4096, 2 ** 21, 2 ** 30]; return { root: hw, args: ["intel-iommu", 4096, "v5.4", hw] }; }, args: [A(1, "granule", [...NUM, "misaligned"], { misaligned: () => [8192, 3000] }), A(2, "kernel", ["type", "obj"]), A(0, "driver", ["type", "obj"])] },
  { fn: "iommuDriverPgsizes", build: () => { const hw = [4096, 2 ** 21, 2 ** 30]; return { root: hw, args: ["arm-smmu-v3", 4096, "v6.19", hw] }; }, args: [A(1, "granule", [...NUM, "misaligned"], { misaligned: () => [8192, 3000] }), A(2, "kernel", ["type", "obj"])] },
  // batch 7: drivers and scenario runners
  { fn: "vb2DcAlloc", build: () => { const c = mt(); return { root: c.m, args: [c.dev, 65536] }; }, args: [A(1, "size")], err: nullErr },
  { fn: "vb2DcImportDmabuf", build: () => { const c = vcodecs(); return { root: c.m, args: [c.imp, c.db, { dir: L.DMA_BIDIRECTIONAL }] }; }, args: [A(2, "dir", ["dir"], { set: fld(2, "dir") })], err: (r) => (r as { ok: boolean }).ok === false },
  { fn: "dmaBufMapAttachment", build: () => { const c = vcodecs(); const a = L.dmaBufAttach(c.db, c.imp) as L.DmaBufAttachment; return { root: c.m, args: [a, L.DMA_BIDIRECTIONAL] }; }, args: [DIR(1)], err: negErrno },
  { fn: "dmaBufUnmapAttachment", build: () => { const c = vcodecs(); const a = L.dmaBufAttach(c.db, c.imp) as L.DmaBufAttachment; const sgt = L.dmaBufMapAttachment(a, L.DMA_BIDIRECTIONAL); return { root: c.m, args: [a, sgt, L.DMA_BIDIRECTIONAL] }; }, args: [DIR(2)] },
  { fn: "importerMapPageWork", build: () => { const c = vcodecs(); const a = L.dmaBufAttach(c.db, c.imp) as L.DmaBufAttachment; const sgt = L.dmaBufMapAttachment(a, L.DMA_BIDIRECTIONAL); return { root: c.m, args: [c.imp, sgt, L.DMA_BIDIRECTIONAL, ["x"]] }; }, args: [DIR(2)] },
  { fn: "dmaBufExport", build: () => { const c = vcodecs(); return { root: c.m, args: [{ expName: "x", ops: c.db.ops, size: 65536, priv: null, kernel: c.m.kernel, exporter: c.m.device("16020000.vcodec") }] }; }, args: [A(0, "size", NUM, { set: fld(0, "size") })] },
  { fn: "saa7146PageAddresses", build: () => { const s = sg1(0x100); s.sgl.forEach((e) => { e.dmaAddress = L.dmaAddr(e.pfn! * 4096); e.dmaLength = e.length; }); return { root: s, args: [s.sgl, 2] }; }, args: [A(1, "nents")] },
  { fn: "saa7146BuildTables", build: () => { const m = L.createMachine("x86-64-pc-8g", { kernel: "v4.19" }); return { root: m, args: [m.device("0000:03:00.0"), [0x1000, 0x2000]] }; }, args: [A(1, "pageAddrs", NUM, { set: (a, v) => { a[1] = [0x1000, v]; } })], err: nullErr },
  { fn: "saa7146PgtableBuildSingle", build: () => { const m = L.createMachine("x86-64-pc-8g", { kernel: "v4.19" }); const d = m.device("0000:03:00.0"); const pt = L.saa7146PgtableAlloc(d)!; const s = sg1(0x100); s.sgl.forEach((e) => { e.dmaAddress = L.dmaAddr(e.pfn! * 4096); e.dmaLength = e.length; }); return { root: [m, s], args: [d, pt, s.sgl, 2] }; }, args: [A(3, "sglen"), A(4, "first")], err: negErrno },
  { fn: "tourCosts", shared: true, build: () => ({ root: null, args: [["x86-64-pc"], 1536, 1] }), args: [A(1, "bufferSize"), A(2, "seed")] },
  { fn: "case04Vipt", shared: true, build: () => ({ root: null, args: [true, 65536, "v6.19"] }), args: [A(1, "size"), A(0, "invalidate", ["type", "nan"]), A(2, "kernel", ["type"])] },
  { fn: "case04Machine", shared: true, build: () => ({ root: null, args: [{ ...L.CASE04_DEFAULTS }] }), args: [A(0, "bufferSize", NUM, { set: fld(0, "bufferSize") }), A(0, "ramGiB", NUM, { set: fld(0, "ramGiB") }), A(0, "dmaMaskBits", NUM, { set: fld(0, "dmaMaskBits") })] },
  { fn: "case04Run", shared: true, build: () => ({ root: null, args: [{ buffers: 1 }] }), args: [A(0, "bufferSize", NUM, { set: fld(0, "bufferSize") }), A(0, "swiotlbSize", NUM, { set: fld(0, "swiotlbSize") }), A(0, "fragmentFraction", ["neg", "nan", "huge", "type"], { set: fld(0, "fragmentFraction") })] },
  { fn: "case04Sweep", shared: true, build: () => ({ root: null, args: [{ kernel: "v6.19", buffers: 1 }, [2 ** 21], ["vmalloc"]] }), args: [A(1, "bufferSize", NUM, { set: (a, v) => { a[1] = [v]; } }), A(0, "buffers", NUM, { set: fld(0, "buffers") }), A(2, "strategy", ["type", "obj"], { set: (a, v) => { a[2] = [v]; } })] },
  { fn: "vb2DcGetUserptr", build: () => { const c = mt(); return { root: c.m, args: [c.dev, { pfns: [MT_PFN, MT_PFN + 1, MT_PFN + 2, MT_PFN + 3], vaddr: 0x7f80000000, size: 16384, dir: L.DMA_FROM_DEVICE, dmaAlign: 64 }] }; }, args: [A(1, "vaddr", NUM, { set: fld(1, "vaddr") }), A(1, "size", NUM, { set: fld(1, "size") }), A(1, "dir", ["dir"], { set: fld(1, "dir") }), A(1, "dmaAlign", [...NUM, "misaligned"], { set: fld(1, "dmaAlign"), misaligned: () => [48] }), A(1, "pfns", ["neg", "nan", "frac", "huge"], { set: (a, v) => { (a[1] as Record<string, unknown>)["pfns"] = [MT_PFN, v, MT_PFN + 2, MT_PFN + 3]; } })], err: (r) => (r as { ok: boolean }).ok === false },
  { fn: "importerReadSgPage", build: () => { const c = vcodecs(); const a = L.dmaBufAttach(c.db, c.imp) as L.DmaBufAttachment; const sgt = L.dmaBufMapAttachment(a, L.DMA_BIDIRECTIONAL) as L.SgTable; const sg = { ...sgt.sgl[0]! }; return { root: c.m, args: [c.imp, sg, ["x"]] }; }, args: [A(1, "pfn", ["neg", "nan", "frac", "huge"], { set: (a, v) => { a[1] = { ...(a[1] as object), pfn: v }; } })] },
  // live/notebook builders that run case04Run / case04Machine / case04Vipt on their parameters (lib/scenarios/live/04.ts)
  { fn: "case04PgtableOutputs", build: () => ({ root: null, args: [{ ramGiB: 8, dmaMaskBits: 32, kernel: "v6.19", iommu: true, bufferSize: 2 ** 20, buffers: 1, swiotlbSize: 2 ** 26, strategy: "iommu", seed: 1, fragmentFraction: 0 }, ["v5.13"]] }), args: [A(0, "ramGiB", NUM, { set: (a, v) => { (a[0] as Record<string, unknown>)["ramGiB"] = v; } })] },
  { fn: "case04Vmalloc32Outputs", build: () => ({ root: null, args: [{ ramGiB: 8, dmaMaskBits: 32, kernel: "v6.19", iommu: false, bufferSize: 2 ** 20, buffers: 1, swiotlbSize: 2 ** 26, strategy: "vmalloc32", seed: 1, fragmentFraction: 0 }] }), args: [A(0, "dmaMaskBits", NUM, { set: (a, v) => { (a[0] as Record<string, unknown>)["dmaMaskBits"] = v; } })] },
  { fn: "case04AllocOutputs", build: () => ({ root: null, args: [{ ramGiB: 8, dmaMaskBits: 32, kernel: "v6.19", iommu: false, bufferSize: 2 ** 20, buffers: 1, swiotlbSize: 2 ** 26, strategy: "vmalloc", seed: 1, fragmentFraction: 0 }] }), args: [A(0, "swiotlbSize", NUM, { set: (a, v) => { (a[0] as Record<string, unknown>)["swiotlbSize"] = v; } })] },
  { fn: "case04ViptOutputs", build: () => ({ root: null, args: ["v6.19"] }), args: [A(0, "kernel", ["type"])] },
  { fn: "tourSeedOutcome", build: () => ({ root: null, args: [{ bufferSize: 1536, offset: 0, specFillProb: 0.5 }, "am335x-beaglebone-black", 3, { rxSyncForCpu: false, rxUnmap: true, txSyncForDevice: true }] }), args: [A(2, "seed"), A(0, "bufferSize", NUM, { set: (a, v) => { (a[0] as Record<string, unknown>)["bufferSize"] = v; } })] },
];

const reason = (why: string, names: string[]): Record<string, string> => Object.fromEntries(names.map((n) => [n, why]));

/** Exports that take none of the argument kinds above, with the reason. */
export const EXEMPT: Record<string, string> = {
  ...reason("class or error type: built by createMachine and the model's own code; its public use is through the functions in the table", ["KernelOops", "ModelConfigError", "Trace", "Machine", "ProfileError", "IoPgtable", "IovaDomain", "CacheModel", "IntervalMap", "DmaDebug", "DmaDebugError", "MemoryModel", "VmArea", "VmapSpace", "PageSource", "BuddyAllocator", "BuddyZone"]),
  ...reason("validator: its job is to throw ModelConfigError naming the field its caller passes (test/core, test/sg)", ["checkAttrs", "checkDirection", "checkInt", "checkLowMask", "checkPowerOf2", "checkSgEntries", "checkDeviceDmaFields", "checkSyncArgs", "validatePlatformProfile", "validateCostFile", "validateArm32Sidecar"]),
  ...reason("takes only a device, machine, domain or model object and reads its state (no number, size, address, direction, attrs, mask or parameter object)", ["dmaGetMask", "case04SameRun", "dmaGetMaxSegSize", "dmaGetSegBoundary", "useDmaIommu", "activeMappings", "iommuActiveMappings", "iommuDmaLastMapSgLayout", "iovaRanges", "iovaShift", "iovaMask", "iovaSize", "iovaDmaAddr", "putIovaDomain", "swiotlbOf", "swiotlbUsed", "swiotlbBootOf", "swiotlbBootDecision", "swiotlbHostOf", "swiotlbMaxMappingSize", "dmaGetMinAlignMask", "bounceCopier", "currentSwiotlbRules", "dmaStreamingLimit", "dmaDebugOf", "enableDmaDebug", "hostOf", "mmOfDevice", "machineCosts", "kernelLayout", "zoneConfigOf", "buddyOf", "vmallocArchOf", "vmalloc32PageGfpText", "kmallocMinAlign", "archDmaMinAlign", "kmallocClasses", "devCoherentUsedPages", "zoneDmaLimit", "dmaDirectOptimalGfpMask", "pageSourceOf", "archSyncRules", "armUsesLegacyOps", "sgFreeTable", "sgDmaAddress", "sgDmaLen", "isMangled", "forEachSgtableDmaSg", "forEachSgtableSg", "vb2DcGetBaseSgt", "vb2DcGetContiguousSize", "vb2DcPut", "vb2DcPutUserptr", "vb2DcGetDmabuf", "dmaBufRelease", "dmaBufDetach", "dmaBufAttach", "saa7146PgtableFree", "iommuDmaInitDomain", "attachDeviceIommu", "addDeviceToMemoryModel", "createMemoryModel", "dmaCoherentDeviceInit", "setPageSourceDelegate", "dmaVmapNoncontiguous", "dmaVunmapNoncontiguous", "dmaFreeNoncontiguous", "dmaFreePages"]),
  ...reason("no arguments, or only optional strings and seeds: constructs an empty object or lists files", ["emptyDmaOpCounts", "createSgTable", "createSgAppendTable", "sgInitEntry", "kernelChanges", "listPlatformProfiles", "platformsDir", "gfpKernelDma32", "gfp", "runTour"]),
  ...reason("kernel release names and gfp flag sets (strings, string sets): validated by parseKernelVersion / gfp, tested in test/kernel and test/mm", ["atLeast", "compareVersions", "defineChange", "inForce", "parseKernelVersion", "maxOrderOf", "fmtGfp", "gfpAtomic", "gfpHas", "gfpVmalloc", "gfpVmalloc32", "gfpWithout", "gfpZone", "vmallocPageGfp", "createPrng", "xorshift32", "parseSwiotlbParam", "parseSizeOrAddr", "parseVirtAddr", "loadPlatformProfile", "hasArm32Sidecar", "loadCosts", "costsForProfile", "costValues", "createIommu", "iommuDomainAlloc", "swiotlbInit", "rmemDmaDeviceInit"]),
  ...reason("viz / display: builds chart specs, tables or HTML from model results (no machine state, no kernel inputs)", ["dmaSegmentsSpec", "iommuGapsSpec", "iovaLayoutRows", "iovaLayoutSpec", "callCostChart", "lineStateChart", "memmapChartSpec", "outcomeGridSpec", "renderSvg", "showChart", "showMarkdown", "showTable", "costPerFrameChartSpec", "swiotlbSlotsChartSpec", "viptStaleChartSpec", "zoneMapChartSpec", "iommuGapsTable", "case02MemmapData", "case02OutcomeTable", "tourTailCells", "case04ZoneMap", "case04SweepRow", "case04SweepRowAs", "fmtVirtAddr", "pointerFacts", "mangledPageAddress"]),
  ...reason("viz / front page / tables: spec builders and rows from model results, or a reader of lib/'s own import graph (no machine state, no kernel inputs)", ["lineChartRows", "tourOutcomeChart", "boxOfFile", "edgeRoute", "layerDiagramSpec", "layerEdges", "libImports", "moduleRefs", "missingLayerFiles", "costBreakdownChartSpec", "iovaOverTimeChartSpec", "mapBenchmarkChartSpec", "runLabel", "case06CostBars", "mapBenchmarkComparison", "case06IovaRows", "arm32AttrCostSpec", "arm32MemoryMapSpec", "arm32PathGridSpec", "arm32PoolFillSpec", "tourCellsAround", "tourOutcome", "saa7146DriverTable"]),
  ...reason("notebook 06 live/builders: chart specs, tables and text from case 06 results, or the lists of run parameters the notebook and its live page run (no machine state, no kernel inputs; the runs themselves are runCase06's)", ["case06PlatformRuns", "case06ReleaseRuns", "case06IovaRuns", "case06SummaryText", "case06CostChart", "case06RunTable", "case06ReleaseChart", "case06IovaChart", "case06IovaTable", "case06TlbTable", "case06TlbChart", "iotlbMissChartSpec", "mapBenchmarkComparisonChart", "mapBenchmarkComparisonTable", "mapBenchmarkRunText", "case06CostFigureTable"]),
  ...reason("takes only a pool, CMA area, linear map, allocation state or device and reads its state (no number, size, address, direction, attrs, mask or parameter object)", ["genPoolAvail", "genPoolSize", "genPoolGranule", "cmaAvailablePages", "cmaGetBase", "cmaGetSize", "cmaLargestFreeRun", "staleSectionCopies", "atomicPoolWorkFn", "dmaGenericPoolsOf", "armDmaAllocStateOf", "iommuOwnDmaOps"]),
  ...reason("takes only driver objects (a dma-buf and the import result, a device) and releases or builds from them (no number, size, address, direction, attrs, mask or parameter object)", ["vb2DcReleaseImport", "saa7146PgtableAlloc"]),
  ...reason("board or architecture name (a string): loads or looks up a file or table, throws ProfileError / returns null for an unknown name (test/platform, test/dma)", ["loadArm32Sidecar", "archDmaAllocHooksOf"]),
  ...reason("validator of a change entry's bracket text: a predicate on a string (test/kernel/registry.test.ts)", ["isWellFormedBracket"]),
  ...reason("physToVirt's arithmetic on a layout already resolved, for an address its caller checked (dma-direct's map of every sg entry); physToVirt, in the table, is the checked entry and calls it", ["linearMapVa"]),
  ...reason("branded-type constructors: they check their number (test/core/addr-prng-trace.test.ts)", ["dmaAddr", "pfn", "physAddr", "virtAddr", "offsetIn"]),
  ...reason("live/notebook builders: texts, tables and chart specs of a notebook cell from model results already computed, and showing them (no machine state, no kernel inputs; test/pipeline/live-*.test.ts compare them with the executed notebooks)", ["showOutputs", "tourStaleCloseupOutputs", "tourCorrectOutputs", "tourCorrectChartOutputs", "tourMissingSyncOutputs", "tourMissingSyncChartOutputs", "tourSharedLineOutputs", "tourSharedLineChartOutputs", "tourVariantsOutputs", "tourCostOutputs", "tourReportOutputs", "tourSweepOutputs", "case01LayoutOutputs", "case01PiecesOutputs", "case01VerdictOutputs", "case01TableOutputs", "case01RaisedOutputs", "case02RunOutputs", "case02Pxs3Outputs", "case02Pxs3IommuOutputs", "case02ExynosOutputs", "case03BoardOutputs", "case03MemoryMapOutputs", "case03PathOutputs", "case03PoolOutputs", "case03CostOutputs", "case03RestrictedOutputs", "case03HazardOutputs", "case04RunOutputs", "case04BuffersOutputs", "case04SweepOutputs", "case04SwiotlbOutputs"]),
};

/**
 * Exports that do take such arguments but are not in the table yet: the
 * work left (listed so the completeness check still catches new exports).
 */
export const PENDING: Record<string, string> = {
};
