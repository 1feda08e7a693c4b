/**
 * GFP flags and gfp_zone(): which zone a page allocation starts from
 * (include/linux/gfp.h `gfp_zone`, GFP_ZONE_TABLE, GFP_ZONE_BAD;
 * include/linux/gfp_types.h for the flag definitions in v6.19, gfp.h before
 * the split). Read in chens37/linux-4.19.1 and matankalina/linux-6.19.10-fork.
 *
 * A gfp_t is modelled as a set of flag *names*, not a bit mask: the bit
 * values moved between releases (___GFP_ATOMIC went away, new flags were
 * inserted), and only the names carry meaning across them. Build sets with
 * {@link gfp}, test with {@link gfpHas}.
 *
 * gfp_zone() looks at four flags, __GFP_DMA, __GFP_HIGHMEM, __GFP_DMA32 and
 * __GFP_MOVABLE. The kernel packs one zone number per combination into
 * GFP_ZONE_TABLE and marks the forbidden combinations in GFP_ZONE_BAD (at
 * most one of DMA, DMA32, HIGHMEM; MOVABLE only selects ZONE_MOVABLE
 * together with HIGHMEM). A zone that is not configured is replaced by
 * ZONE_NORMAL (the OPT_ZONE_* macros). A bad combination trips
 * VM_BUG_ON under CONFIG_DEBUG_VM; without it the table entry, which no
 * term of the table sets, is zone number 0: the lowest configured zone
 * (ZONE_DMA if configured, else ZONE_DMA32, else ZONE_NORMAL).
 *
 * The 2017-2018 vmalloc story (case 04) is modelled by {@link vmallocPageGfp}
 * and {@link gfpVmalloc32}: see their docstrings and the registered changes
 * {@link VMALLOC_IMPLICIT_HIGHMEM}, {@link VMALLOC_HIGHMEM_ONLY_WITHOUT_DMA},
 * {@link VMALLOC32_DMA32_ON_32BIT}.
 */
import { ModelConfigError } from "../core/errors.js";
import { atLeast, defineChange, parseKernelVersion, type KernelVersion } from "../kernel/version.js";

/** The GFP flag names the model knows (include/linux/gfp_types.h, v6.19; __GFP_ATOMIC before v6.3). */
export type GfpFlagName =
  | "__GFP_DMA"
  | "__GFP_HIGHMEM"
  | "__GFP_DMA32"
  | "__GFP_MOVABLE"
  | "__GFP_RECLAIMABLE"
  | "__GFP_HIGH"
  | "__GFP_IO"
  | "__GFP_FS"
  | "__GFP_WRITE"
  | "__GFP_NOWARN"
  | "__GFP_RETRY_MAYFAIL"
  | "__GFP_NOFAIL"
  | "__GFP_NORETRY"
  | "__GFP_MEMALLOC"
  | "__GFP_COMP"
  | "__GFP_ZERO"
  | "__GFP_NOMEMALLOC"
  | "__GFP_HARDWALL"
  | "__GFP_THISNODE"
  | "__GFP_ATOMIC"
  | "__GFP_ACCOUNT"
  | "__GFP_DIRECT_RECLAIM"
  | "__GFP_KSWAPD_RECLAIM";

const ALL_NAMES: readonly GfpFlagName[] = [
  "__GFP_DMA", "__GFP_HIGHMEM", "__GFP_DMA32", "__GFP_MOVABLE", "__GFP_RECLAIMABLE", "__GFP_HIGH", "__GFP_IO", "__GFP_FS",
  "__GFP_WRITE", "__GFP_NOWARN", "__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL", "__GFP_NORETRY", "__GFP_MEMALLOC", "__GFP_COMP",
  "__GFP_ZERO", "__GFP_NOMEMALLOC", "__GFP_HARDWALL", "__GFP_THISNODE", "__GFP_ATOMIC", "__GFP_ACCOUNT",
  "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM",
];

/** A gfp_t: an immutable set of flag names. */
export type GfpFlags = ReadonlySet<GfpFlagName>;

/**
 * Build a gfp_t as the union (C `|`) of flag names and other sets:
 * gfp(GFP_KERNEL, "__GFP_ZERO").
 * @throws ModelConfigError for an unknown flag name.
 */
export function gfp(...parts: Array<GfpFlagName | GfpFlags>): GfpFlags {
  const s = new Set<GfpFlagName>();
  for (const p of parts) {
    if (typeof p === "string") {
      if (!ALL_NAMES.includes(p)) throw new ModelConfigError("gfp(flag)", p, `one of ${ALL_NAMES.join(", ")}`);
      s.add(p);
    } else {
      for (const f of p) {
        if (!ALL_NAMES.includes(f)) throw new ModelConfigError("gfp(flag)", f, `one of ${ALL_NAMES.join(", ")}`);
        s.add(f);
      }
    }
  }
  return s;
}

/** True iff `flags` contains the flag `name` (C `flags & name`). */
export function gfpHas(flags: GfpFlags, name: GfpFlagName): boolean {
  return flags.has(name);
}

/** `flags & ~(names...)`: a copy without the given flags. */
export function gfpWithout(flags: GfpFlags, ...names: GfpFlagName[]): GfpFlags {
  const s = new Set(flags);
  for (const n of names) s.delete(n);
  return s;
}

/** Flag names in a fixed order joined with "|" (for messages): "GFP_KERNEL" parts are listed individually. */
export function fmtGfp(flags: GfpFlags): string {
  const names = ALL_NAMES.filter((n) => flags.has(n));
  return names.length ? names.join("|") : "0";
}

// Single-flag constants.
export const __GFP_DMA: GfpFlags = gfp("__GFP_DMA");
export const __GFP_HIGHMEM: GfpFlags = gfp("__GFP_HIGHMEM");
export const __GFP_DMA32: GfpFlags = gfp("__GFP_DMA32");
export const __GFP_MOVABLE: GfpFlags = gfp("__GFP_MOVABLE");
export const __GFP_ZERO: GfpFlags = gfp("__GFP_ZERO");
export const __GFP_NOWARN: GfpFlags = gfp("__GFP_NOWARN");
export const __GFP_COMP: GfpFlags = gfp("__GFP_COMP");
/** __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM. */
export const __GFP_RECLAIM: GfpFlags = gfp("__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM");

/** GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS (same in v4.4..v6.19). */
export const GFP_KERNEL: GfpFlags = gfp(__GFP_RECLAIM, "__GFP_IO", "__GFP_FS");
/** GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL. */
export const GFP_USER: GfpFlags = gfp(GFP_KERNEL, "__GFP_HARDWALL");
/** GFP_DMA = __GFP_DMA. */
export const GFP_DMA: GfpFlags = __GFP_DMA;
/** GFP_DMA32 = __GFP_DMA32. */
export const GFP_DMA32: GfpFlags = __GFP_DMA32;
/** GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM. */
export const GFP_HIGHUSER: GfpFlags = gfp(GFP_USER, "__GFP_HIGHMEM");
/** GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE (v6.19 adds __GFP_SKIP_KASAN, not modelled). */
export const GFP_HIGHUSER_MOVABLE: GfpFlags = gfp(GFP_HIGHUSER, "__GFP_MOVABLE");
/** GFP_ATOMIC as of v6.3+: __GFP_HIGH | __GFP_KSWAPD_RECLAIM. Use {@link gfpAtomic} for older releases. */
export const GFP_ATOMIC: GfpFlags = gfp("__GFP_HIGH", "__GFP_KSWAPD_RECLAIM");

/** v6.3: __GFP_ATOMIC removed; GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM. */
export const GFP_DISCARD_GFP_ATOMIC = defineChange({
  id: "gfp-discard-gfp-atomic",
  since: "v6.3",
  commit: "(mainline hash not pinned; Mel Gorman, posted as 20221129151701.23261-7-mgorman@techsingularity.net)",
  subject: "mm: discard __GFP_ATOMIC",
  files: ["include/linux/gfp_types.h", "mm/page_alloc.c"],
  effect: "GFP_ATOMIC loses __GFP_ATOMIC (v4.19.1: __GFP_HIGH|__GFP_ATOMIC|__GFP_KSWAPD_RECLAIM; v6.19: __GFP_HIGH|__GFP_KSWAPD_RECLAIM). Zone selection is unaffected.",
  bracket: "absent in v6.2.1 (daniellucs2002/linux-6.2.1-customized, include/linux/gfp_types.h:GFP_ATOMIC with __GFP_ATOMIC), present in v6.3.8 (SToPire/linux-6.3.8, include/linux/gfp_types.h:GFP_ATOMIC without it)",
});

/**
 * GFP_ATOMIC of a release: __GFP_HIGH | __GFP_ATOMIC | __GFP_KSWAPD_RECLAIM
 * before v6.3 (include/linux/gfp.h, v4.19.1), __GFP_HIGH |
 * __GFP_KSWAPD_RECLAIM from v6.3 (include/linux/gfp_types.h, v6.19).
 * @throws ModelConfigError for a bad release name.
 */
export function gfpAtomic(kernel: string | KernelVersion): GfpFlags {
  return atLeast(parseKernelVersion(kernel), GFP_DISCARD_GFP_ATOMIC) ? GFP_ATOMIC : gfp(GFP_ATOMIC, "__GFP_ATOMIC");
}

// ---------------------------------------------------------------- zones

/** Zone names gfp_zone can return. */
export type ZoneName = "ZONE_DMA" | "ZONE_DMA32" | "ZONE_NORMAL" | "ZONE_HIGHMEM" | "ZONE_MOVABLE";

/** Which optional zones the kernel is built with (CONFIG_ZONE_DMA, CONFIG_ZONE_DMA32, CONFIG_HIGHMEM). */
export interface ZoneConfig {
  /** CONFIG_ZONE_DMA (x86: 16 MiB; arm64: below zone_dma_limit). */
  zoneDma: boolean;
  /** CONFIG_ZONE_DMA32 (64-bit only: below 4 GiB). */
  zoneDma32: boolean;
  /** CONFIG_HIGHMEM (32-bit only). */
  highmem: boolean;
}

/** x86-64 defconfig: ZONE_DMA and ZONE_DMA32, no HIGHMEM. */
export const ZONES_X86_64: ZoneConfig = { zoneDma: true, zoneDma32: true, highmem: false };
/** i386 with HIGHMEM (the 2018 saa7146 report): ZONE_DMA and HIGHMEM, no DMA32. */
export const ZONES_I386_HIGHMEM: ZoneConfig = { zoneDma: true, zoneDma32: false, highmem: true };

/** The result of {@link gfpZone}. */
export interface GfpZoneResult {
  /** The zone the allocation starts from (for a bad combination: what a kernel without CONFIG_DEBUG_VM uses). */
  readonly zone: ZoneName;
  /** True for a combination in GFP_ZONE_BAD: CONFIG_DEBUG_VM kernels hit VM_BUG_ON here. */
  readonly bad: boolean;
  /** The combination's index in the table: DMA = 1, HIGHMEM = 2, DMA32 = 4, MOVABLE = 8 (the ___GFP_* bit values, unchanged v4.4..v6.19). */
  readonly index: number;
}

/**
 * gfp_zone(flags): the zone for the zone-modifier flags, from the kernel's
 * GFP_ZONE_TABLE (include/linux/gfp.h, v4.19.1 and v6.19; the table is the
 * same in both):
 *
 *  | flags (other than MOVABLE)  | without MOVABLE  | with MOVABLE     |
 *  |-----------------------------|------------------|------------------|
 *  | none                        | ZONE_NORMAL      | ZONE_NORMAL      |
 *  | __GFP_DMA                   | OPT_ZONE_DMA     | OPT_ZONE_DMA     |
 *  | __GFP_HIGHMEM               | OPT_ZONE_HIGHMEM | ZONE_MOVABLE     |
 *  | __GFP_DMA32                 | OPT_ZONE_DMA32   | OPT_ZONE_DMA32   |
 *  | any two or three of DMA, DMA32, HIGHMEM | BAD  | BAD              |
 *
 * OPT_ZONE_X is ZONE_X when configured, else ZONE_NORMAL. BAD entries are
 * 0 in the table: the lowest configured zone.
 * @throws ModelConfigError if `config` is missing a field.
 */
export function gfpZone(flags: GfpFlags, config: ZoneConfig): GfpZoneResult {
  for (const k of ["zoneDma", "zoneDma32", "highmem"] as const) {
    if (typeof config?.[k] !== "boolean") throw new ModelConfigError(`gfpZone(config.${k})`, config?.[k], "a boolean");
  }
  const dma = flags.has("__GFP_DMA");
  const high = flags.has("__GFP_HIGHMEM");
  const dma32 = flags.has("__GFP_DMA32");
  const movable = flags.has("__GFP_MOVABLE");
  const index = (dma ? 1 : 0) + (high ? 2 : 0) + (dma32 ? 4 : 0) + (movable ? 8 : 0);
  const optDma: ZoneName = config.zoneDma ? "ZONE_DMA" : "ZONE_NORMAL";
  const optDma32: ZoneName = config.zoneDma32 ? "ZONE_DMA32" : "ZONE_NORMAL";
  const optHigh: ZoneName = config.highmem ? "ZONE_HIGHMEM" : "ZONE_NORMAL";
  const selectors = (dma ? 1 : 0) + (high ? 1 : 0) + (dma32 ? 1 : 0);
  if (selectors > 1) {
    const zone0: ZoneName = config.zoneDma ? "ZONE_DMA" : config.zoneDma32 ? "ZONE_DMA32" : "ZONE_NORMAL";
    return { zone: zone0, bad: true, index };
  }
  let zone: ZoneName = "ZONE_NORMAL";
  if (dma) zone = optDma;
  else if (dma32) zone = optDma32;
  else if (high) zone = movable ? "ZONE_MOVABLE" : optHigh;
  return { zone, bad: false, index };
}

// ---------------------------------------------------------------- the vmalloc story (case 04)

/** v4.12: __vmalloc_area_node ORs __GFP_HIGHMEM into every page allocation. */
export const VMALLOC_IMPLICIT_HIGHMEM = defineChange({
  id: "vmalloc-implicit-gfp-highmem",
  since: "v4.12",
  commit: "19809c2da28a",
  subject: "mm, vmalloc: use __GFP_HIGHMEM implicitly",
  files: ["mm/vmalloc.c"],
  effect: "vmalloc page allocations always carry __GFP_HIGHMEM (callers no longer pass it). vmalloc_32 on 64-bit passes GFP_DMA32 (or GFP_DMA), so the pages ask for DMA32|HIGHMEM: a GFP_ZONE_BAD combination; on 32-bit it passed plain GFP_KERNEL, so its pages may now come from ZONE_HIGHMEM. Posted 2017-03-07 as 20170307141020.29107-1-mhocko@kernel.org.",
  bracket: "absent in v4.11.0 (HCLS/linux-4.11, mm/vmalloc.c:__vmalloc_area_node: the caller's gfp only), present in v4.12.0 (jason50123/linux-4.12, mm/vmalloc.c:__vmalloc_area_node: alloc_mask = gfp_mask | __GFP_HIGHMEM | __GFP_NOWARN)",
});

/** v4.13: add __GFP_HIGHMEM only when neither GFP_DMA nor GFP_DMA32 was given. */
export const VMALLOC_HIGHMEM_ONLY_WITHOUT_DMA = defineChange({
  id: "vmalloc-highmem-only-without-dma",
  since: "v4.13",
  commit: "704b862f9efd",
  subject: "mm/vmalloc.c: don't unconditonally use __GFP_HIGHMEM",
  files: ["mm/vmalloc.c"],
  effect: "highmem_mask = (gfp & (GFP_DMA | GFP_DMA32)) ? 0 : __GFP_HIGHMEM (Laura Abbott, posted 2017-08-16 as 20170816220705.31374-1-labbott@redhat.com; Fixes: 19809c2da28a). So the vmalloc_32 DMA32|HIGHMEM bad-zone mix exists in v4.12 only.",
  bracket: "absent in v4.12.8 (liuzq71/linux-4.12.8-nanopi-m3, mm/vmalloc.c:__vmalloc_area_node; also v4.12.0 jason50123/linux-4.12), present in v4.13.4 (shizukanaskytree/linux-4.13.4, mm/vmalloc.c:__vmalloc_area_node: highmem_mask); v4.12.10 (benheberlein/linux-4.12.10-ECEN5013) has it as a stable backport released before v4.13, so the commit was in mainline before v4.13 (no v4.13.0 tree was found)",
});

/** 2018 fix: GFP_VMALLOC32 on 32-bit becomes GFP_DMA32 | GFP_KERNEL (was GFP_KERNEL). */
export const VMALLOC32_DMA32_ON_32BIT = defineChange({
  id: "vmalloc32-gfp-dma32-on-32bit",
  since: "v4.16",
  commit: "(hash not pinned; Michal Hocko's patch in the thread 20180211092652.GV21609@dhcp22.suse.cz, 2018-02-11)",
  subject: "vmalloc: fix __GFP_HIGHMEM usage for vmalloc_32 on 32b systems",
  files: ["mm/vmalloc.c"],
  effect: "GFP_VMALLOC32 on 32-bit (no ZONE_DMA32) is GFP_DMA32 | GFP_KERNEL instead of GFP_KERNEL, so the 704b862f9efd rule stops adding __GFP_HIGHMEM and gfp_zone maps DMA32 to ZONE_NORMAL (lowmem): saa7146's BUG_ON(PageHighMem) no longer fires on i386 (report: Kai-Heng Feng, 2018-02-08, 627DA40A-D0F6-41C1-BB5A-55830FBC9800@canonical.com).",
  bracket: "absent in v4.15.0 (Keitokuch/linux-4.15-lb, mm/vmalloc.c:GFP_VMALLOC32 #else branch GFP_KERNEL), present in v4.16.13 (lizuobin/linux-4.16.13_tiny4412, mm/vmalloc.c:GFP_VMALLOC32 = GFP_DMA32 | GFP_KERNEL); backported to v4.14.177, v4.15.15 and v4.15.18 (stable); the patch is dated after v4.15, so mainline v4.16",
});

/** What {@link gfpVmalloc32} and {@link vmallocPageGfp} need of the machine. */
export interface VmallocArch {
  /** CONFIG_64BIT. */
  is64bit: boolean;
  zones: ZoneConfig;
}

/**
 * GFP_VMALLOC32 (mm/vmalloc.c): the flags vmalloc_32() passes.
 * - 64-bit with ZONE_DMA32: GFP_DMA32 | GFP_KERNEL;
 * - 64-bit with ZONE_DMA only: GFP_DMA | GFP_KERNEL;
 * - otherwise (32-bit): GFP_KERNEL before the 2018 fix
 *   ({@link VMALLOC32_DMA32_ON_32BIT}), GFP_DMA32 | GFP_KERNEL after.
 * Sources: mm/vmalloc.c of v4.4.1 and v4.19.1.
 * @throws ModelConfigError for a bad release name.
 */
export function gfpVmalloc32(kernel: string | KernelVersion, arch: VmallocArch): GfpFlags {
  const v = parseKernelVersion(kernel);
  if (arch.is64bit && arch.zones.zoneDma32) return gfp(GFP_DMA32, GFP_KERNEL);
  if (arch.is64bit && arch.zones.zoneDma) return gfp(GFP_DMA, GFP_KERNEL);
  return atLeast(v, VMALLOC32_DMA32_ON_32BIT) ? gfp(GFP_DMA32, GFP_KERNEL) : GFP_KERNEL;
}

/**
 * The flags __vmalloc_area_node uses for each page, given the flags the
 * vmalloc caller passed down (`callerGfp`, e.g. GFP_KERNEL from vmalloc()
 * after v4.12, GFP_KERNEL | __GFP_HIGHMEM before, or {@link gfpVmalloc32}):
 * - before v4.12: callerGfp | __GFP_NOWARN (vmalloc() itself passed __GFP_HIGHMEM);
 * - v4.12 (19809c2da28a): callerGfp | __GFP_NOWARN | __GFP_HIGHMEM, always;
 * - v4.13 (704b862f9efd): __GFP_HIGHMEM only when callerGfp has neither __GFP_DMA nor __GFP_DMA32.
 * Sources: mm/vmalloc.c __vmalloc_area_node of v4.4.1 and v4.19.1, and the
 * two commits' diffs as posted.
 * @throws ModelConfigError for a bad release name.
 */
export function vmallocPageGfp(kernel: string | KernelVersion, callerGfp: GfpFlags): GfpFlags {
  const v = parseKernelVersion(kernel);
  const base = gfp(callerGfp, "__GFP_NOWARN");
  if (!atLeast(v, VMALLOC_IMPLICIT_HIGHMEM)) return base;
  if (atLeast(v, VMALLOC_HIGHMEM_ONLY_WITHOUT_DMA) && (callerGfp.has("__GFP_DMA") || callerGfp.has("__GFP_DMA32"))) return base;
  return gfp(base, "__GFP_HIGHMEM");
}

/**
 * The flags vmalloc() passes down: GFP_KERNEL | __GFP_HIGHMEM before v4.12,
 * GFP_KERNEL from v4.12 (the highmem flag moved into __vmalloc_area_node).
 * Sources: mm/vmalloc.c vmalloc() of v4.4.1 and v4.19.1.
 */
export function gfpVmalloc(kernel: string | KernelVersion): GfpFlags {
  return atLeast(parseKernelVersion(kernel), VMALLOC_IMPLICIT_HIGHMEM) ? GFP_KERNEL : gfp(GFP_KERNEL, "__GFP_HIGHMEM");
}
