/**
 * 32-bit ARM board facts the platform profile schema (lib/platform/profile.ts)
 * has no fields for, kept in data/platforms/arm32/<id>.json beside the
 * profile: the kernel configuration that decides the page-table format
 * (CONFIG_ARM_LPAE, VMSPLIT, HIGHMEM), the default CMA area and how it was
 * chosen, `coherent_pool=`, a restricted-dma-pool if the board has one, and
 * the assumptions made. Validated with zod like the profiles; a bad file is a
 * {@link ProfileError} naming the field.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ProfileError, platformsDir, zAddr, zSource, type SourceProfile } from "./profile.js";

/** The sidecar schema. Sizes and addresses in bytes (hex strings or "64M" accepted). */
export const zArm32Sidecar = z
  .object({
    /** Same as the profile id. */
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    /** The data/platforms profile this completes. */
    profile: z.string().min(1),
    /** The kernel configuration the facts assume. */
    defconfig: z.string().min(1),
    /** CONFIG_ARM_LPAE: 3-level tables, 2 MiB blocks; else 2-level, 1 MiB sections. */
    lpae: z.boolean(),
    /** CONFIG_VMSPLIT_*: user/kernel split. */
    vmsplit: z.enum(["3G", "2G", "1G"]),
    /** PAGE_OFFSET for that split. */
    pageOffset: zAddr,
    /** CONFIG_HIGHMEM. */
    highmem: z.boolean(),
    /** arm_lowmem_limit (physical, exclusive). */
    lowmemLimit: zAddr,
    /** CONFIG_CMA_SIZE_MBYTES of the defconfig. */
    cmaSizeMbytesConfig: z.number().int().min(0),
    /** The default CMA area: where its size came from, its base (bytes) and size. Null without CMA. */
    cma: z
      .object({
        source: z.enum(["dt", "config", "cmdline"]),
        base: zAddr,
        size: zAddr,
        /** True when the base is the model's placement, not read from the board. */
        baseIsAssumption: z.boolean(),
      })
      .strict()
      .nullable(),
    /** CONFIG_CMA_ALIGNMENT. */
    cmaAlignment: z.number().int().min(4).max(12),
    /** The ARM atomic pool size (coherent_pool=), bytes. */
    coherentPool: zAddr,
    coherentPoolIsDefault: z.boolean(),
    /** A restricted-dma-pool reserved-memory node used by a device, or null. */
    restrictedDmaPool: z.object({ name: z.string().min(1), base: zAddr, size: zAddr, device: z.string().min(1) }).strict().nullable(),
    assumptions: z.array(z.string().min(1)),
    sources: z.array(zSource).min(1),
  })
  .strict();

/** A validated sidecar (zArm32Sidecar), written out for tslab's non-strict compiler. */
export interface Arm32Sidecar {
  id: string;
  profile: string;
  defconfig: string;
  lpae: boolean;
  vmsplit: "3G" | "2G" | "1G";
  pageOffset: number;
  highmem: boolean;
  lowmemLimit: number;
  cmaSizeMbytesConfig: number;
  cma: { source: "dt" | "config" | "cmdline"; base: number; size: number; baseIsAssumption: boolean } | null;
  cmaAlignment: number;
  coherentPool: number;
  coherentPoolIsDefault: boolean;
  restrictedDmaPool: { name: string; base: number; size: number; device: string } | null;
  assumptions: string[];
  sources: SourceProfile[];
}

/** PAGE_OFFSET of each CONFIG_VMSPLIT_* (arch/arm/Kconfig PAGE_OFFSET defaults). */
const SPLIT_OFFSET: Record<Arm32Sidecar["vmsplit"], number> = { "3G": 0xc0000000, "2G": 0x80000000, "1G": 0x40000000 };

/**
 * Validate a parsed sidecar object: the schema, plus PAGE_OFFSET matching
 * the split.
 * @throws ProfileError listing the bad fields.
 */
export function validateArm32Sidecar(raw: unknown, file = "<arm32 sidecar>"): Arm32Sidecar {
  const r = zArm32Sidecar.safeParse(raw);
  if (!r.success) {
    throw new ProfileError(file, r.error.issues.map((i) => ({ path: i.path.join("."), message: i.message, value: undefined })));
  }
  const s = r.data as Arm32Sidecar;
  if (SPLIT_OFFSET[s.vmsplit] !== s.pageOffset) {
    throw new ProfileError(file, [{ path: "pageOffset", message: `expected ${SPLIT_OFFSET[s.vmsplit]} for VMSPLIT_${s.vmsplit}`, value: s.pageOffset }]);
  }
  return s;
}

/** True iff data/platforms/arm32/<id>.json exists (the board has an ARM32 sidecar). */
export function hasArm32Sidecar(id: string): boolean {
  return existsSync(join(platformsDir(), "arm32", `${id}.json`));
}

/**
 * Load data/platforms/arm32/<id>.json.
 * @throws ProfileError for a missing file, bad JSON or an invalid field.
 */
export function loadArm32Sidecar(id: string): Arm32Sidecar {
  const file = join(platformsDir(), "arm32", `${id}.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new ProfileError(file, [{ path: "", message: `cannot read JSON: ${(e as Error).message}`, value: id }]);
  }
  const s = validateArm32Sidecar(raw, file);
  if (s.id !== id) throw new ProfileError(file, [{ path: "id", message: `expected ${JSON.stringify(id)}`, value: s.id }]);
  return s;
}
