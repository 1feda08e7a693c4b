/**
 * Platform profiles: JSON descriptions of real boards in data/platforms,
 * validated with zod. A bad profile is rejected with the file, the field path,
 * the value and what was expected ({@link ProfileError}); nothing is built
 * from it.
 *
 * Numbers that are addresses or sizes may be written as JSON numbers or as
 * strings in hex ("0xb0000000") or with a size suffix ("64K", "128M", "8G"),
 * because JSON has no hex literals and device trees are written in hex.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { MAX_ADDR, isPowerOf2 } from "../core/arith.js";
import { findDataDir } from "../core/data-dir.js";

const SUFFIX: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Parse "0xb0000000", "64K", "128M", "4096" or a number into an exact integer < 2^53, or NaN. */
export function parseSizeOrAddr(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v !== "string") return NaN;
  const s = v.trim();
  let m = /^0x([0-9a-fA-F]+)$/.exec(s);
  if (m) {
    const digits = m[1]!.replace(/^0+(?=.)/, "");
    if (digits.length > 14) return NaN;
    return parseInt(digits, 16);
  }
  m = /^(\d+)([KMGT])?$/.exec(s);
  if (m) return Number(m[1]) * (m[2] ? SUFFIX[m[2]]! : 1);
  return NaN;
}

/** An address or size: integer in [0, 2^53), as a number, hex string or size string. */
export const zAddr = z
  .union([z.number(), z.string()])
  .transform((v, ctx) => {
    const n = parseSizeOrAddr(v);
    if (!Number.isSafeInteger(n) || n < 0 || n > MAX_ADDR) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected an integer in [0, 2^53) as a number, "0x..." or "64K"/"128M"/"8G", got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return n;
  });

/** A size that must be a power of two (granules, line sizes, page sizes). */
const zPow2 = zAddr.refine((n) => isPowerOf2(n), { message: "expected a power of two" });

/** Where a fact in a profile comes from. Every profile needs at least one. */
export const zSource = z
  .object({
    /** What the source supports, e.g. "M4U is the IOMMU of the video codec". */
    what: z.string().min(1),
    /** A citation: kernel file and release, DT binding, datasheet, mailing-list Message-ID. */
    ref: z.string().min(1),
  })
  .strict();

const zArch = z.enum(["arm64", "arm", "x86_64", "parisc"]);
export type Arch = z.infer<typeof zArch>;

/** CPU data-cache description (used by the cache model). */
const zCpuCache = z
  .object({
    /** Cache line size in bytes (the kernel's L1_CACHE_BYTES / dma alignment): 32, 64 or 128. */
    lineSize: zPow2.refine((n) => n >= 16 && n <= 256, { message: "expected a line size from 16 to 256 bytes" }),
    /** "pipt": physically indexed (arm64, x86, ARMv7 data caches as Linux sees them); "vipt-aliasing": virtual colours matter. */
    indexing: z.enum(["pipt", "vipt-aliasing"]).default("pipt"),
    /** For VIPT-aliasing caches: bytes spanned by one way (colours = wayBytes / PAGE_SIZE). */
    wayBytes: zPow2.optional(),
    /** Total data cache size in bytes, for eviction modelling. */
    sizeBytes: zPow2.optional(),
  })
  .strict();

/** A RAM bank (memory node / memblock). */
const zRamBank = z.object({ base: zAddr, size: zAddr }).strict();

/** A /reserved-memory child node. */
const zReserved = z
  .object({
    name: z.string().min(1),
    base: zAddr,
    size: zAddr,
    /** compatible string, e.g. "shared-dma-pool". */
    compatible: z.string().optional(),
    /** `no-map`: removed from the linear map and from the memmap's usable memory. */
    noMap: z.boolean().default(false),
    /** `reusable`: CMA-style, pages usable by the buddy allocator when free. */
    reusable: z.boolean().default(false),
    /** `linux,cma-default`. */
    cmaDefault: z.boolean().default(false),
  })
  .strict();

/** An MMIO window (no struct page, never RAM). */
const zMmio = z.object({ name: z.string().min(1), base: zAddr, size: zAddr }).strict();

/** An IOMMU instance. */
const zIommu = z
  .object({
    name: z.string().min(1),
    /** Driver name as in the kernel, e.g. "mtk-iommu", "arm-smmu-v3", "intel-iommu". */
    driver: z.string().min(1),
    /** Smallest page size the IOMMU maps: the IOVA granule. */
    granule: zPow2,
    /**
     * Page sizes, bytes. For a driver in lib/iommu/io-pgtable.ts
     * IOMMU_DRIVER_PGSIZES (arm-smmu, arm-smmu-v3, intel-iommu, amd-iommu,
     * mtk-iommu, exynos-sysmmu) the driver's table decides and the field may
     * be left out; when given it must agree (else ModelConfigError naming
     * iommus(<name>).pageSizes): for intel-iommu it is the hardware's
     * super-page capability (4K plus 2M and/or 1G). Other drivers: required,
     * used as the pgsize_bitmap.
     */
    pageSizes: z.array(zPow2).min(1).optional(),
    /** Input address bits (aperture): IOVAs must be below 2^apertureBits. */
    apertureBits: z.number().int().min(20).max(52).default(32),
    /**
     * The board kernel's configured invalidation default for DMA domains:
     * true = strict (CONFIG_IOMMU_DEFAULT_DMA_STRICT / iommu.strict=1 in its
     * command line), false = lazy (CONFIG_IOMMU_DEFAULT_DMA_LAZY / iommu.strict=0).
     * Absent: the release's and driver's default (lib/iommu/domain.ts
     * iommuDmaDefaultStrict). Lazy only takes effect where the release and the
     * driver have a flush queue.
     */
    strict: z.boolean().optional(),
    /** Entries of the model IOTLB (lib/iommu/iotlb.ts); absent = IOTLB_DEFAULT_ENTRIES (an estimate, no source). */
    iotlbEntries: z.number().int().min(1).max(65536).optional(),
  })
  .strict();

/** dma_parms of a device (include/linux/device.h, struct device_dma_parameters). */
const zDmaParms = z
  .object({
    maxSegmentSize: zAddr.refine((n) => n >= 1 && n <= 0xffffffff, { message: "expected 1..0xffffffff (an unsigned int)" }),
    segmentBoundaryMask: zAddr,
  })
  .strict();

/** One dma-ranges entry: CPU physical range -> bus addresses. */
const zDmaRange = z.object({ cpuStart: zAddr, dmaStart: zAddr, size: zAddr }).strict();

/** A DMA master. */
const zDevice = z
  .object({
    name: z.string().min(1),
    /** Kernel driver or compatible, e.g. "mtk-vcodec-dec". */
    driver: z.string().min(1),
    bus: z.enum(["platform", "pci", "usb"]).default("platform"),
    /** Streaming DMA mask in bits (dma_set_mask). */
    dmaMaskBits: z.number().int().min(1).max(64),
    /** Coherent DMA mask in bits (dma_set_coherent_mask); defaults to dmaMaskBits. */
    coherentDmaMaskBits: z.number().int().min(1).max(64).optional(),
    /** Interconnect/bus limit in bits (bus_dma_limit); absent = no limit. */
    busDmaLimitBits: z.number().int().min(1).max(64).optional(),
    /** `dma-coherent` in the device tree (or a snooping PCI device). */
    dmaCoherent: z.boolean(),
    /** Name of the IOMMU the device sits behind, if any. */
    iommu: z.string().optional(),
    /** Explicit dma_parms; absent = the device has none (see dma_get_max_seg_size defaults per release). */
    dmaParms: zDmaParms.optional(),
    /** `memory-region` phandle: name of a reserved-memory node used as the device's coherent pool. */
    memoryRegion: z.string().optional(),
    /** dma-ranges; absent = identity. */
    dmaRanges: z.array(zDmaRange).optional(),
  })
  .strict();

/** Kernel virtual memory layout: where the linear map and vmalloc space sit. */
const zLayout = z
  .object({
    /** Virtual address bits: 32 (arm) or 48 (arm64 VA_BITS=48, x86-64 4-level). */
    vaBits: z.union([z.literal(32), z.literal(48)]),
    /** PAGE_OFFSET, written in full 64-bit form ("0xffff000000000000"); stored modulo 2^48. */
    pageOffset: z.string(),
    /** Physical address mapped at PAGE_OFFSET (PHYS_OFFSET / memstart_addr). */
    physOffset: zAddr,
    /** VMALLOC_START and VMALLOC_END, full form. */
    vmallocStart: z.string(),
    vmallocEnd: z.string(),
    /** Linear-map granularity: "page" (4K PTEs), "section" (ARM32 1M), "block" (arm64 2M/1G). */
    linearMapGranularity: z.enum(["page", "section", "block"]).default("block"),
    /** VMEMMAP_START (arm64, x86-64) or the mem_map array (arm), full form; absent = the arch default. */
    vmemmapStart: z.string().optional(),
  })
  .strict();

/** A whole platform profile (one board). */
export const zPlatformProfile = z
  .object({
    /** File-name stem, e.g. "mt8173-evb". */
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    name: z.string().min(1),
    description: z.string().min(1),
    arch: zArch,
    pageSize: zPow2.default(4096),
    /** Online CPUs (num_online_cpus()); absent = DEFAULT_MACHINE_CPUS of lib/platform/machine.ts. */
    cpus: z.number().int().min(1).max(1024).optional(),
    /** The kernel release the board's story is about; notebooks may override. */
    kernel: z.string().regex(/^v\d+\.\d+$/).optional(),
    cpuCache: zCpuCache,
    layout: zLayout.optional(),
    /** Zone limits this board's kernel config gives (bytes, exclusive end); absent = arch defaults. */
    zoneDmaLimit: zAddr.optional(),
    ram: z.array(zRamBank).min(1),
    reserved: z.array(zReserved).default([]),
    mmio: z.array(zMmio).default([]),
    iommus: z.array(zIommu).default([]),
    devices: z.array(zDevice).default([]),
    /** Cost calibration file stem in data/costs. */
    costs: z.string().optional(),
    sources: z.array(zSource).min(1),
  })
  .strict();

// The profile types are written out instead of `z.infer`: tslab compiles notebook code
// without strictNullChecks, and zod's inferred types then make every property optional.
// test/platform/profile.test.ts checks (under the strict tsconfig) that these match the schema.

/** A source citation of a profile (zSource). */
export interface SourceProfile {
  what: string;
  ref: string;
}
/** zCpuCache. */
export interface CpuCacheProfile {
  lineSize: number;
  indexing: "pipt" | "vipt-aliasing";
  wayBytes?: number | undefined;
  sizeBytes?: number | undefined;
}
/** zRamBank: bytes. */
export interface RamBankProfile {
  base: number;
  size: number;
}
/** zReserved: a /reserved-memory child node (bytes). */
export interface ReservedProfile {
  name: string;
  base: number;
  size: number;
  compatible?: string | undefined;
  noMap: boolean;
  reusable: boolean;
  cmaDefault: boolean;
}
/** zMmio (bytes). */
export interface MmioProfile {
  name: string;
  base: number;
  size: number;
}
/** zIommu. */
export interface IommuProfile {
  name: string;
  driver: string;
  granule: number;
  pageSizes?: number[] | undefined;
  apertureBits: number;
  strict?: boolean | undefined;
  iotlbEntries?: number | undefined;
}
/** zDmaParms. */
export interface DmaParmsProfile {
  maxSegmentSize: number;
  segmentBoundaryMask: number;
}
/** zDmaRange (bytes). */
export interface DmaRangeProfile {
  cpuStart: number;
  dmaStart: number;
  size: number;
}
/** zDevice. */
export interface DeviceProfile {
  name: string;
  driver: string;
  bus: "platform" | "pci" | "usb";
  dmaMaskBits: number;
  coherentDmaMaskBits?: number | undefined;
  busDmaLimitBits?: number | undefined;
  dmaCoherent: boolean;
  iommu?: string | undefined;
  dmaParms?: DmaParmsProfile | undefined;
  memoryRegion?: string | undefined;
  dmaRanges?: DmaRangeProfile[] | undefined;
}
/** zLayout: kernel VAs in full 64-bit hex form. */
export interface LayoutProfile {
  vaBits: 32 | 48;
  pageOffset: string;
  physOffset: number;
  vmallocStart: string;
  vmallocEnd: string;
  linearMapGranularity: "page" | "section" | "block";
  vmemmapStart?: string | undefined;
}
/** A validated platform profile (zPlatformProfile). Addresses and sizes in bytes. */
export interface PlatformProfile {
  id: string;
  name: string;
  description: string;
  arch: Arch;
  pageSize: number;
  cpus?: number | undefined;
  kernel?: string | undefined;
  cpuCache: CpuCacheProfile;
  layout?: LayoutProfile | undefined;
  zoneDmaLimit?: number | undefined;
  ram: RamBankProfile[];
  reserved: ReservedProfile[];
  mmio: MmioProfile[];
  iommus: IommuProfile[];
  devices: DeviceProfile[];
  costs?: string | undefined;
  sources: SourceProfile[];
}

/** A profile failed validation: names the file, the field path, the value and what was expected. */
export class ProfileError extends RangeError {
  readonly file: string;
  readonly issues: ReadonlyArray<{ path: string; message: string; value: unknown }>;
  constructor(file: string, issues: ReadonlyArray<{ path: string; message: string; value: unknown }>) {
    super(
      `${file}: invalid platform profile\n` +
        issues.map((i) => `  at ${i.path || "(root)"}: ${i.message} (value: ${JSON.stringify(i.value)})`).join("\n"),
    );
    this.name = "ProfileError";
    this.file = file;
    this.issues = issues;
  }
}

function valueAt(obj: unknown, path: ReadonlyArray<string | number>): unknown {
  let cur: unknown = obj;
  for (const k of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

/**
 * Validate a parsed profile object.
 * @param file used in error messages.
 * @throws ProfileError listing every invalid field, plus cross-field checks
 * (device iommu / memory-region names must exist; RAM banks must not overlap;
 * `id` must match the file name when loaded from a file).
 */
export function validatePlatformProfile(raw: unknown, file = "<profile>"): PlatformProfile {
  const r = zPlatformProfile.safeParse(raw);
  if (!r.success) {
    throw new ProfileError(
      file,
      r.error.issues.map((i) => ({ path: i.path.join("."), message: i.message, value: valueAt(raw, i.path) })),
    );
  }
  const p = r.data as PlatformProfile;
  const problems: Array<{ path: string; message: string; value: unknown }> = [];
  const iommuNames = new Set(p.iommus.map((i) => i.name));
  const resNames = new Set(p.reserved.map((x) => x.name));
  p.devices.forEach((d, i) => {
    if (d.iommu !== undefined && !iommuNames.has(d.iommu)) {
      problems.push({ path: `devices.${i}.iommu`, message: `no IOMMU named ${JSON.stringify(d.iommu)} in iommus`, value: d.iommu });
    }
    if (d.memoryRegion !== undefined && !resNames.has(d.memoryRegion)) {
      problems.push({ path: `devices.${i}.memoryRegion`, message: `no reserved-memory node named ${JSON.stringify(d.memoryRegion)}`, value: d.memoryRegion });
    }
  });
  const banks = [...p.ram].sort((a, b) => a.base - b.base);
  for (let i = 1; i < banks.length; i++) {
    if (banks[i]!.base < banks[i - 1]!.base + banks[i - 1]!.size) {
      problems.push({ path: "ram", message: "RAM banks overlap", value: raw && (raw as Record<string, unknown>)["ram"] });
    }
  }
  p.ram.forEach((b, i) => {
    if (b.size === 0 || b.base % p.pageSize !== 0 || b.size % p.pageSize !== 0) {
      problems.push({ path: `ram.${i}`, message: `expected a non-empty bank aligned to pageSize ${p.pageSize}`, value: valueAt(raw, ["ram", i]) });
    }
  });
  // Reserved-memory nodes carve out RAM: each must lie inside one RAM bank, and they must not overlap.
  p.reserved.forEach((x, i) => {
    if (x.size === 0 || !p.ram.some((b) => x.base >= b.base && x.base + x.size <= b.base + b.size)) {
      problems.push({ path: `reserved.${i}`, message: "expected a non-empty region inside one RAM bank", value: valueAt(raw, ["reserved", i]) });
    }
  });
  const res = p.reserved.map((x, i) => ({ x, i })).sort((a, b) => a.x.base - b.x.base);
  for (let k = 1; k < res.length; k++) {
    if (res[k]!.x.base < res[k - 1]!.x.base + res[k - 1]!.x.size) {
      problems.push({ path: `reserved.${res[k]!.i}`, message: `overlaps reserved region ${JSON.stringify(res[k - 1]!.x.name)}`, value: valueAt(raw, ["reserved", res[k]!.i]) });
    }
  }
  // MMIO windows are never RAM.
  p.mmio.forEach((m, i) => {
    if (p.ram.some((b) => m.base < b.base + b.size && b.base < m.base + m.size)) {
      problems.push({ path: `mmio.${i}`, message: "expected an MMIO window outside every RAM bank", value: valueAt(raw, ["mmio", i]) });
    }
  });
  const names = new Map<string, number>();
  p.devices.forEach((d, i) => {
    if (names.has(d.name)) problems.push({ path: `devices.${i}.name`, message: `duplicate device name (also devices.${names.get(d.name)})`, value: d.name });
    names.set(d.name, i);
  });
  if (p.layout) {
    const hexOf = (v: string) => (/^0x[0-9a-fA-F]{1,16}$/.test(v.trim()) ? BigInt(v.trim()) : null);
    const a = hexOf(p.layout.vmallocStart);
    const b = hexOf(p.layout.vmallocEnd);
    if (a === null || b === null || a >= b) {
      problems.push({ path: "layout.vmallocEnd", message: "expected hex addresses with vmallocStart < vmallocEnd", value: valueAt(raw, ["layout", "vmallocEnd"]) });
    }
  }
  if (problems.length) throw new ProfileError(file, problems);
  return p;
}

/**
 * data/platforms of this repository. Found from this module's folder where the
 * module system gives one (CommonJS under tslab, vitest), else by walking up
 * from the working directory to the folder that holds data/platforms.
 * @throws ProfileError if no such folder is found.
 */
export function platformsDir(): string {
  const dir = findDataDir("platforms");
  if (dir) return dir;
  throw new ProfileError("data/platforms", [{ path: "", message: "cannot find the data/platforms folder above the working directory", value: process.cwd() }]);
}


/**
 * The ids of the platform profiles in data/platforms (file names without
 * .json), sorted.
 * @throws ProfileError if the folder cannot be found.
 */
export function listPlatformProfiles(): string[] {
  return readdirSync(platformsDir())
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -".json".length))
    .sort();
}

/**
 * Load and validate data/platforms/<id>.json (or a path ending in .json).
 * @throws ProfileError for an unreadable file, bad JSON, an invalid field,
 * or an `id` that does not match the file name.
 */
export function loadPlatformProfile(idOrPath: string): PlatformProfile {
  const file = idOrPath.endsWith(".json") ? idOrPath : join(platformsDir(), `${idOrPath}.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new ProfileError(file, [{ path: "", message: `cannot read JSON: ${(e as Error).message}`, value: idOrPath }]);
  }
  const p = validatePlatformProfile(raw, file);
  const stem = file.replace(/^.*[\\/]/, "").replace(/\.json$/, "");
  if (p.id !== stem) throw new ProfileError(file, [{ path: "id", message: `expected the file name stem ${JSON.stringify(stem)}`, value: p.id }]);
  return p;
}
