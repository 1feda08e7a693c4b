/**
 * Case 01: iommu-dma map_sg gaps vs videobuf2-dma-contig (2015, MT8173).
 *
 * A V4L2 codec on MediaTek MT8173 imports a user buffer (USERPTR) made of
 * physically scattered, page-aligned pieces. videobuf2-dma-contig maps it
 * with dma_map_sg through the M4U IOMMU and then insists that the DMA
 * addresses form one contiguous run. With v4.4's iommu-dma the pieces
 * {64K, 16K, 64K} are laid out with a padding gap before the third piece,
 * and the import fails with "contiguous mapping is too small 81920/147456";
 * from v4.7 the same pieces are laid out back to back.
 *
 * The scenario builds the machine from data/platforms/mt8173-evb.json,
 * places each piece at its own physical address (seeded, or given), pins
 * them as one user buffer, calls vb2DcGetUserptr on the decoder and
 * returns the IOVA layout, the DMA segments, the contiguity check and the
 * driver's outcome, per kernel release.
 */
import { alignUp, checkInt, checkLowMask, checkPowerOf2, fmtSize, hex } from "../core/arith.js";
import type { Pfn } from "../core/addr.js";
import { errnoName } from "../core/errno.js";
import { ModelConfigError } from "../core/errors.js";
import { createPrng } from "../core/prng.js";
import { atLeast, parseKernelVersion } from "../kernel/version.js";
import { createMachine } from "../platform/machine.js";
import { loadPlatformProfile, type PlatformProfile } from "../platform/profile.js";
import { iommuDmaLastMapSgLayout } from "../iommu/dma-iommu.js";
import { dmaGetMaxSegSize, dmaGetSegBoundary } from "../dma/parms.js";
import { DMA_FROM_DEVICE } from "../core/dma-types.js";
import { parseScenarioParams, zInt, zKernel, zSeed } from "./params.js";
import { z } from "zod";
import { iovaRangesInUse } from "../iommu/iova-rcache.js";
import { CHANGE_VB2_SET_MAX_SEG, vb2DcGetUserptr, vb2DcPutUserptr, vb2DmaContigSetMaxSegSize } from "../drivers/videobuf2-dma-contig.js";

/** Parameters of {@link runIommuGapsCase}. */
export interface IommuGapsParams {
  /** Sizes of the physically separate pieces of the user buffer, bytes, each a positive multiple of the page size. The thread: [65536, 16384, 65536]. */
  segments: number[];
  /** Kernel release, "vX.Y". */
  kernel: string;
  /** IOVA granule, bytes (default: the profile IOMMU's, 4 KiB); at most the page size. */
  granule?: number;
  /** PAGE_SIZE, bytes (default: the profile's, 4 KiB); 4K, 16K or 64K. */
  pageSize?: number;
  /** null/undefined = the device default (no dma_parms: 64 KiB); a number = what the driver sets (vb2_dma_contig_set_max_seg_size from v4.8, own dma_parms before). */
  maxSegSize?: number | null;
  /** null/undefined = the release's default; a mask 2^k - 1 = what the driver sets in dma_parms. */
  segBoundaryMask?: number | null;
  /** Seed for the physical placement (default 1). */
  seed?: number;
  /** Explicit physical base of each piece (page-aligned, in RAM); overrides the seeded placement. */
  physAddrs?: number[] | null;
  /** Device name in the profile (default the decoder, "16020000.vcodec"). */
  device?: string;
  /** User virtual address of the buffer (page-aligned; default 0x7f80000000). */
  vaddr?: number;
  /** Profile id (default "mt8173-evb"). */
  profile?: string;
}

/** One piece of the buffer as laid out in IOVA space. Bytes. */
export interface IommuGapsSegment {
  index: number;
  phys: number;
  length: number;
  /** IOVA of the piece, absolute, and relative to the allocation base. */
  iova: number;
  iovaOffset: number;
  /** Granule-aligned length in IOVA space. */
  iovaLength: number;
  /** Padding iommu-dma put after this piece. */
  padding: number;
}

/** The outcome of the case on one release. */
export interface IommuGapsResult {
  kernel: string;
  /** "natural-align" (v4.4..v4.6) or "boundary-merge" (v4.7+). */
  form: string;
  device: string;
  pageSize: number;
  granule: number;
  /** dma_get_max_seg_size / dma_get_seg_boundary in force during the map. */
  maxSegSize: number;
  segBoundaryMask: number;
  /** How max_seg_size was set: "device default", "vb2_dma_contig_set_max_seg_size", "driver dma_parms", or the helper's error. */
  maxSegSizeSource: string;
  segments: IommuGapsSegment[];
  /** IOVA allocation base (0 if the map failed), bytes laid out, bytes allocated. */
  iovaBase: number;
  iovaLen: number;
  iovaAllocBytes: number;
  /** DMA segments after __finalise_sg (absolute address, offset from base, length). */
  dmaSegments: Array<{ dmaAddress: number; offset: number; length: number }>;
  /** vb2_dc_get_contiguous_size, and the buffer size requested. */
  contiguousSize: number;
  requestedSize: number;
  /** vb2_dc_get_userptr succeeded. */
  ok: boolean;
  /** 0 or -errno, and its name. */
  err: number;
  errName: string;
  /** The driver's pr_err, if any ("contiguous mapping is too small 81920/147456"). */
  message: string | null;
  /** PTE writes of the map. */
  pteWrites: number;
  /** After the buffer is released (or the failed import cleaned up), no IOVA range is in use (a range parked in an rcache magazine, v4.12+, counts as free). */
  iovaEmptyAfter: boolean;
}

/** The thread's buffer: {64K, 16K, 64K}. */
export const THREAD_SEGMENTS: readonly number[] = [65536, 16384, 65536];

function profileFor(params: IommuGapsParams): { profile: PlatformProfile; pageSize: number; granule: number } {
  const base = loadPlatformProfile(params.profile ?? "mt8173-evb");
  const pageSize = checkPowerOf2("pageSize", params.pageSize ?? base.pageSize, 4096, 65536);
  if (![4096, 16384, 65536].includes(pageSize)) throw new ModelConfigError("pageSize", pageSize, "4096, 16384 or 65536 (arm64 page sizes)");
  const iommu0 = base.iommus[0];
  if (!iommu0) throw new ModelConfigError("profile.iommus", base.iommus, "at least one IOMMU");
  const granule = checkPowerOf2("granule", params.granule ?? iommu0.granule, 4096, pageSize);
  const profile: PlatformProfile = JSON.parse(JSON.stringify(base));
  profile.pageSize = pageSize;
  // A granule the board's driver does not run with (the M4U has 4 KiB only) is a hypothetical IOMMU: it gets its own
  // driver name so the page sizes given here are used as they are (lib/iommu/io-pgtable.ts checkIommuPgsizes).
  profile.iommus = profile.iommus.map((i) => {
    const sizes = i.pageSizes ?? [i.granule];
    if (granule === i.granule) return { ...i };
    return { ...i, driver: `${i.driver} (hypothetical ${granule}-byte granule)`, granule, pageSizes: [granule, ...sizes.filter((p) => p > granule)] };
  });
  return { profile, pageSize, granule };
}

/**
 * Physical placement: each piece gets its own slot of
 * alignUp(max piece + one page, 1 MiB) bytes in the first RAM bank, slots
 * chosen at random (seeded) without repetition, so no piece is physically
 * adjacent to another (as in the thread's user buffer).
 */
function placePieces(profile: PlatformProfile, segments: number[], seed: number): number[] {
  const bank = profile.ram[0]!;
  const slot = alignUp(Math.max(...segments) + profile.pageSize, 1048576);
  const slots = Math.floor(bank.size / slot);
  if (slots < segments.length) throw new ModelConfigError("segments", segments, `pieces that fit ${slots} slots of ${fmtSize(slot)} in RAM`);
  const prng = createPrng(seed);
  const used = new Set<number>();
  return segments.map(() => {
    let k = prng.nextInt(slots);
    while (used.has(k)) k = (k + 1) % slots;
    used.add(k);
    return bank.base + k * slot;
  });
}

/** Types and ranges of {@link IommuGapsParams} (lib/scenarios/params.ts); the finer rules (multiples of the page size, pieces inside RAM) are checked by {@link runIommuGapsCase}. */
export const CASE01_PARAMS = z
  .object({
    segments: z.array(zInt(1, 2 ** 31, "bytes per piece of the user buffer, a multiple of the page size")).min(1).describe("a non-empty list of piece sizes in bytes, each a multiple of the page size"),
    kernel: zKernel,
    granule: zInt(1, 65536, "IOVA granule in bytes, a power of two up to the page size").optional(),
    pageSize: zInt(4096, 65536, "PAGE_SIZE in bytes: 4096, 16384 or 65536").optional(),
    maxSegSize: zInt(1, 0xffffffff, "max_seg_size in bytes (dma_parms), or null for the device default").nullable().optional(),
    segBoundaryMask: zInt(0, Number.MAX_SAFE_INTEGER, "segment boundary mask 2^k - 1, or null for the release default").nullable().optional(),
    seed: zSeed.optional(),
    physAddrs: z.array(zInt(0, Number.MAX_SAFE_INTEGER, "physical base of a piece, bytes")).nullable().optional(),
    device: z.string().min(1).describe("a device behind an IOMMU in the profile (devices[].name with an iommu)").optional(),
    vaddr: zInt(0, Number.MAX_SAFE_INTEGER, "user virtual address of the buffer, page-aligned").optional(),
    profile: z.string().min(1).describe("a platform profile id with an IOMMU device (data/platforms)").optional(),
  })
  .strict();

/**
 * Run case 01 on one release.
 * @throws ModelConfigError for pieces that are not positive multiples of
 * the page size, a granule above the page size, explicit physical
 * addresses that are unaligned, outside RAM or overlapping, or a bad mask.
 */
export function runIommuGapsCase(params: IommuGapsParams): IommuGapsResult {
  parseScenarioParams(CASE01_PARAMS, params, "runIommuGapsCase");
  const kv = parseKernelVersion(params.kernel);
  const { profile, pageSize, granule } = profileFor(params);
  if (!Array.isArray(params.segments) || params.segments.length === 0) throw new ModelConfigError("segments", params.segments, "a non-empty list of sizes");
  params.segments.forEach((s, i) => {
    checkInt(`segments.${i}`, s, pageSize, 2 ** 31);
    if (s % pageSize !== 0) throw new ModelConfigError(`segments.${i}`, s, `a multiple of the page size ${pageSize}`);
  });
  const total = params.segments.reduce((a, b) => a + b, 0);
  if (total > 2 ** 31) throw new ModelConfigError("segments", total, "a total of at most 2 GiB");
  if (params.segBoundaryMask !== undefined && params.segBoundaryMask !== null) checkLowMask("segBoundaryMask", params.segBoundaryMask);
  if (params.maxSegSize !== undefined && params.maxSegSize !== null) checkInt("maxSegSize", params.maxSegSize, 1, 0xffffffff);
  const seed = checkInt("seed", params.seed ?? 1, 0, 0xffffffff);
  let phys: number[];
  if (params.physAddrs) {
    if (params.physAddrs.length !== params.segments.length) throw new ModelConfigError("physAddrs", params.physAddrs, `${params.segments.length} addresses, one per piece`);
    const bank = profile.ram[0]!;
    params.physAddrs.forEach((p, i) => {
      checkInt(`physAddrs.${i}`, p);
      if (p % pageSize !== 0 || p < bank.base || p + params.segments[i]! > bank.base + bank.size) {
        throw new ModelConfigError(`physAddrs.${i}`, p, `a page-aligned address with the piece inside RAM [${hex(bank.base)}, ${hex(bank.base + bank.size)})`);
      }
    });
    const order = params.physAddrs.map((p, i) => [p, p + params.segments[i]!] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < order.length; i++) {
      if (order[i]![0] < order[i - 1]![1]) throw new ModelConfigError("physAddrs", params.physAddrs, "non-overlapping pieces");
    }
    phys = [...params.physAddrs];
  } else {
    phys = placePieces(profile, params.segments, seed);
  }

  const machine = createMachine(profile, { kernel: kv.name, seed });
  const dev = machine.device(params.device ?? "16020000.vcodec");
  if (!dev.iommuDomain) throw new ModelConfigError("device", dev.name, "a device behind an IOMMU");

  let maxSegSizeSource = "device default";
  if (params.maxSegSize !== undefined && params.maxSegSize !== null) {
    if (atLeast(kv, CHANGE_VB2_SET_MAX_SEG)) {
      const r = vb2DmaContigSetMaxSegSize(dev, params.maxSegSize);
      maxSegSizeSource = r === 0 ? "vb2_dma_contig_set_max_seg_size" : `vb2_dma_contig_set_max_seg_size failed: ${errnoName(r)}`;
    } else {
      dev.dmaParms = { maxSegmentSize: params.maxSegSize, segmentBoundaryMask: dev.dmaParms?.segmentBoundaryMask ?? 0 };
      maxSegSizeSource = "driver dma_parms";
    }
  }
  if (params.segBoundaryMask !== undefined && params.segBoundaryMask !== null) {
    dev.dmaParms = { maxSegmentSize: dev.dmaParms?.maxSegmentSize ?? 0, segmentBoundaryMask: params.segBoundaryMask };
  }

  const pfns: Pfn[] = [];
  params.segments.forEach((len, i) => {
    for (let off = 0; off < len; off += pageSize) pfns.push(((phys[i]! + off) / pageSize) as Pfn);
  });
  const vaddr = checkInt("vaddr", params.vaddr ?? 0x7f80000000);
  if (vaddr % pageSize !== 0) throw new ModelConfigError("vaddr", vaddr, `a multiple of the page size ${pageSize}`);

  const maxSegSize = dmaGetMaxSegSize(dev);
  const segBoundaryMask = dmaGetSegBoundary(dev);
  const res = vb2DcGetUserptr(dev, { pfns, vaddr, size: total, dir: DMA_FROM_DEVICE, dmaAlign: profile.cpuCache.lineSize, pageSize });
  const layout = iommuDmaLastMapSgLayout(dev);
  let contiguousSize = 0;
  if (!res.ok) {
    // The driver's own number, from its pr_err.
    const ev = machine.trace.ofKind("pr_err").filter((e) => typeof e.data["contigSize"] === "number");
    contiguousSize = ev.length ? (ev[ev.length - 1]!.data["contigSize"] as number) : 0;
  }
  if (res.ok && res.buf) vb2DcPutUserptr(res.buf);
  const iovad = dev.iommuDomain.iovad!;
  const base = layout ? layout.iovaBase : 0;
  // Contiguous size of a success: recomputed by the driver's rule on the segments.
  if (res.ok && layout) {
    let expected = layout.dmaSegments.length ? layout.dmaSegments[0]!.dmaAddress : 0;
    let sz = 0;
    for (const s of layout.dmaSegments) {
      if (s.dmaAddress !== expected) break;
      expected += s.dmaLength;
      sz += s.dmaLength;
    }
    contiguousSize = sz;
  }
  return {
    kernel: kv.name,
    form: layout ? layout.form : "n/a",
    device: dev.name,
    pageSize,
    granule,
    maxSegSize,
    segBoundaryMask,
    maxSegSizeSource,
    segments: layout
      ? layout.segments.map((s) => ({
          index: s.index,
          phys: s.phys ?? 0,
          length: s.length,
          iova: s.iovaStart,
          iovaOffset: s.iovaStart - base,
          iovaLength: s.iovaLength,
          padding: s.padding,
        }))
      : [],
    iovaBase: base,
    iovaLen: layout ? layout.iovaLen : 0,
    iovaAllocBytes: layout ? layout.iovaAllocBytes : 0,
    dmaSegments: layout ? layout.dmaSegments.map((s) => ({ dmaAddress: s.dmaAddress, offset: s.dmaAddress - base, length: s.dmaLength })) : [],
    contiguousSize,
    requestedSize: total,
    ok: res.ok,
    err: res.err,
    errName: errnoName(res.err),
    message: res.message,
    pteWrites: layout ? layout.pteWrites : 0,
    // Freed ranges may stay allocated in the rbtree while parked in an rcache magazine (v4.12+): not in use.
    iovaEmptyAfter: iovaRangesInUse(iovad).length === 0 && dev.iommuDomain.pgtable.ptes.size === 0,
  };
}

/**
 * Run the case on several releases with the same pieces and placement.
 * @throws ModelConfigError as {@link runIommuGapsCase}, or for an empty list.
 */
export function runIommuGapsReleases(params: Omit<IommuGapsParams, "kernel">, kernels: readonly string[]): IommuGapsResult[] {
  if (!kernels.length) throw new ModelConfigError("kernels", kernels, "at least one release");
  return kernels.map((k) => runIommuGapsCase({ ...params, kernel: k }));
}

/** One table row per release (for showTable): sizes in bytes and KiB, addresses in hex. */
export function iommuGapsTable(results: readonly IommuGapsResult[]): Array<Record<string, string | number | boolean | null>> {
  return results.map((r) => ({
    kernel: r.kernel,
    layout: r.form,
    "IOVA base": hex(r.iovaBase),
    "laid out": fmtSize(r.iovaLen),
    padding: fmtSize(r.segments.reduce((a, s) => a + s.padding, 0)),
    "piece offsets": r.segments.map((s) => "+" + hex(s.iovaOffset)).join(" "),
    "max_seg_size": r.maxSegSize % 1024 === 0 ? fmtSize(r.maxSegSize) : hex(r.maxSegSize),
    "DMA segments": r.dmaSegments.map((s) => fmtSize(s.length)).join(" + "),
    "contiguous/requested": `${r.contiguousSize}/${r.requestedSize}`,
    result: r.ok ? "ok" : r.errName,
    message: r.message,
  }));
}
