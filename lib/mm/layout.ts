/**
 * The kernel virtual address-space layout of a machine: where the linear map,
 * the vmalloc area and the vmemmap (the struct page array) sit, per
 * architecture and per kernel release.
 *
 * All 64-bit kernel virtual addresses are stored modulo 2^48 (lib/core/addr.ts:
 * `fmtVirtAddr` prints them sign-extended). Ends are exclusive.
 *
 * Sources (read for this model):
 * - arm64, before v5.4 (v4.19.1 arch/arm64/include/asm/memory.h, pgtable.h):
 *   VA_START = 0xffff000000000000, PAGE_OFFSET = 0xffff800000000000 (the
 *   linear map is the TOP half of the kernel space), MODULES_VADDR = VA_START
 *   (+ KASAN shadow, not modelled), MODULES_VSIZE = 128M, VMALLOC_START =
 *   MODULES_END, VMALLOC_END = PAGE_OFFSET - PUD_SIZE - VMEMMAP_SIZE - 64K,
 *   VMEMMAP_START = PAGE_OFFSET - VMEMMAP_SIZE, VMEMMAP_SIZE = 2^(48-12-1+6).
 *   v5.0 put a 128M BPF JIT region before the modules (91fc957c9b1d
 *   "arm64/bpf: don't allocate BPF JIT programs in module memory").
 * - arm64, v5.4 on: 14c127c957c1 "arm64: mm: Flip kernel VA space":
 *   PAGE_OFFSET = -(1 << VA_BITS) = 0xffff000000000000 (the linear map is the
 *   BOTTOM half), PAGE_END = 0xffff800000000000, then the BPF JIT region
 *   (128M), the modules (128M) and VMALLOC_START; VMEMMAP_START =
 *   -VMEMMAP_SIZE - 2M, VMALLOC_END = -PUD_SIZE - VMEMMAP_SIZE - 64K.
 * - arm64, v6.19 (v6.19 arch/arm64/include/asm/memory.h, pgtable.h):
 *   MODULES_VADDR = PAGE_END, MODULES_VSIZE = 2G (3e35d303ab7d "arm64:
 *   module: rework module VA range selection", v6.5), VMEMMAP_END = -1G,
 *   VMEMMAP_START = VMEMMAP_END - VMEMMAP_SIZE, VMALLOC_END = VMEMMAP_START - 8M.
 *   Between v5.17 (the BPF region went away: b89ddf4cca43 "arm64/bpf: Remove
 *   128MB limit for BPF JIT programs"; absent in v5.15.16, present in
 *   v5.17-rc5) and v6.5, VMALLOC_START is PAGE_END + 128M. The vmemmap and
 *   vmalloc end move twice: v5.11 (VMEMMAP_START = -(1 << (VA_BITS -
 *   VMEMMAP_SHIFT)) = -2^42, VMALLOC_END = VMEMMAP_START - 256M; absent in
 *   v5.10.89, present in v5.11.0) and v6.9 (VMEMMAP_END = -1G; absent in
 *   v6.8.0, present in v6.9.0).
 * - x86-64 4-level (arch/x86/include/asm/page_64_types.h, pgtable_64_types.h):
 *   PAGE_OFFSET 0xffff888000000000 since v4.20 (d52888aa2753 "x86/mm: Move LDT
 *   remap out of KASLR region on 5-level paging"), 0xffff880000000000 before;
 *   VMALLOC_START 0xffffc90000000000, 32 TiB; VMEMMAP_START 0xffffea0000000000;
 *   __START_KERNEL_map 0xffffffff80000000. KASLR is off in the model.
 * - arm (32-bit, 3G/1G split; arch/arm/include/asm/pgtable.h, arch/arm/mm/mmu.c
 *   v4.19): PAGE_OFFSET 0xc0000000, VMALLOC_END 0xff800000, VMALLOC_OFFSET 8M,
 *   default vmalloc reserve 240M so lowmem ends at most at vmalloc_min =
 *   VMALLOC_END - 240M - 8M = 0xf0000000; VMALLOC_START = high_memory + 8M
 *   rounded down to 8M.
 * - PHYS_OFFSET: arm64 memstart_addr = the lowest RAM address rounded down to
 *   ARM64_MEMSTART_ALIGN (1 GiB with 4K pages: arch/arm64/mm/init.c
 *   arm64_memblock_init); arm: the RAM start (16 MiB aligned, the
 *   ARM_PATCH_PHYS_VIRT granule); x86-64: 0.
 *
 * Model simplifications: no KASAN shadow, no KASLR (linear map and image not
 * randomised), the kernel image is loaded at the start of RAM
 * (kimage_voffset = KIMAGE_VADDR - PHYS_OFFSET), struct page is 64 bytes.
 */
import { SZ_128M, SZ_16M, SZ_1G, SZ_256M, SZ_2G, SZ_2M, SZ_64K, alignDown } from "../core/arith.js";

const SZ_8M = 8 * 1048576;
import { VA_BITS_48_SPAN, parseVirtAddr } from "../core/addr.js";
import { ModelConfigError } from "../core/errors.js";
import { atLeast, defineChange, type KernelVersion } from "../kernel/version.js";
import type { PlatformProfile } from "../platform/profile.js";

/** What the layout functions need from a machine (structurally: {@link Machine} satisfies it). */
export interface LayoutHost {
  readonly profile: PlatformProfile;
  readonly kernel: KernelVersion;
}

/** The resolved kernel VA layout. Virtual addresses stored modulo 2^48 on 64-bit arches; ends exclusive. */
export interface KernelLayout {
  readonly arch: PlatformProfile["arch"];
  readonly vaBits: 32 | 48;
  /** PAGE_OFFSET: start of the linear map. */
  readonly pageOffset: number;
  /** Size of the VA window reserved for the linear map, bytes (PAGE_END - PAGE_OFFSET; arm: up to VMALLOC_START). */
  readonly linearSpan: number;
  /** PHYS_OFFSET: the physical address mapped at PAGE_OFFSET. */
  readonly physOffset: number;
  readonly vmallocStart: number;
  readonly vmallocEnd: number;
  /** VMEMMAP_START: the struct page of pfn PHYS_OFFSET/PAGE_SIZE sits here (arm64, x86-64; arm: the mem_map array). */
  readonly vmemmapStart: number;
  /** sizeof(struct page), bytes (64 on every modelled arch). */
  readonly structPageSize: number;
  /** Start of the kernel image mapping (KIMAGE_VADDR / __START_KERNEL_map). */
  readonly kimageVaddr: number;
  /** Modulus of VA arithmetic: 2^48 (stored form of 64-bit VAs) or 2^32. */
  readonly vaSpan: number;
  /** Lowmem end (arm high_memory's physical address, exclusive); Infinity where all RAM is linear-mapped. */
  readonly lowmemLimitPhys: number;
  /** Where the numbers came from. */
  readonly source: string;
}

/** arm64 "Flip kernel VA space": linear map moves to the bottom half of the kernel VA range. */
export const ARM64_FLIP_VA = defineChange({
  id: "arm64-flip-kernel-va",
  since: "v5.4",
  commit: "14c127c957c1",
  subject: "arm64: mm: Flip kernel VA space",
  files: ["arch/arm64/include/asm/memory.h", "arch/arm64/include/asm/pgtable.h"],
  effect: "PAGE_OFFSET becomes 0xffff000000000000 and vmalloc space starts above PAGE_END (0xffff800000000000); virt_to_page is computed from (va - PAGE_OFFSET)",
  bracket: "absent in v5.3.1 (github-lvbing/linux-5.3.1, arch/arm64/include/asm/memory.h:PAGE_OFFSET, virt_to_page by mask-and-OR), present in v5.4.0 (MrJu/linux-5.4, arch/arm64/include/asm/memory.h:PAGE_OFFSET = -(1 << VA_BITS), PAGE_END)",
});

/** x86-64 4-level PAGE_OFFSET moves from 0xffff880000000000 to 0xffff888000000000. */
/** arm64: a 128 MiB BPF JIT region below the modules area. */
export const ARM64_BPF_JIT_REGION = defineChange({
  id: "arm64-bpf-jit-region",
  since: "v5.0",
  commit: "91fc957c9b1d (recalled, unverified)",
  subject: "arm64/bpf: don't allocate BPF JIT programs in module memory",
  files: ["arch/arm64/include/asm/memory.h"],
  effect: "the modules area (and vmalloc after it) moves up by the 128 MiB BPF JIT region.",
  bracket: "absent in v4.20.0 (a4913994/linux-4.20, arch/arm64/include/asm/memory.h:MODULES_VADDR = VA_START + KASAN_SHADOW_SIZE), present in v5.0.1 (VVvector/linux-5.0.1, arch/arm64/include/asm/memory.h:BPF_JIT_REGION_START, MODULES_VADDR = BPF_JIT_REGION_END)",
});

/** arm64: the BPF JIT region is gone; modules start at the end of the linear map again. */
export const ARM64_BPF_JIT_REGION_REMOVED = defineChange({
  id: "arm64-bpf-jit-region-removed",
  since: "v5.17",
  commit: "b89ddf4cca43 (full hash from stable mails \"commit b89ddf4cca43... upstream\")",
  subject: "arm64/bpf: Remove 128MB limit for BPF JIT programs",
  files: ["arch/arm64/include/asm/memory.h"],
  effect: "vmalloc starts 128 MiB lower (modules directly after PAGE_END).",
  bracket: "absent in v5.15.16 (yashlala/fastswap-linux-5.16.16, Makefile 5.15.16, arch/arm64/include/asm/memory.h:BPF_JIT_REGION_START = _PAGE_END(VA_BITS_MIN)), present in v5.17-rc5 (dunli/linux-5.17, arch/arm64/include/asm/memory.h:MODULES_VADDR = _PAGE_END(VA_BITS_MIN)); loose: no v5.16 tree, v5.17 from the merge-window log; backported to v5.16.4, v5.15.18 (wowk/linux-5.15 at 5.15.55 lacks the region), 5.4.y and 5.10.y",
});

/** arm64: a 2 GiB modules area. */
export const ARM64_MODULES_2G = defineChange({
  id: "arm64-modules-2g",
  since: "v6.5",
  commit: "3e35d303ab7d (\"arm64: module: rework module VA range selection\", as cited in this file's header; not re-verified)",
  subject: "arm64: module: rework module VA range selection",
  files: ["arch/arm64/include/asm/memory.h"],
  effect: "MODULES_VSIZE is 2 GiB: vmalloc starts at PAGE_END + 2 GiB.",
  bracket: "absent in v6.4.6 (lewisevans2007/linux-6.4, arch/arm64/include/asm/memory.h:MODULES_VSIZE SZ_128M), present in v6.5.3 (christian-bendiksen/ubuntu-linux-6.5.3, an Ubuntu tree, arch/arm64/include/asm/memory.h:MODULES_VSIZE SZ_2G; also v6.8.0)",
});

/** arm64: VMEMMAP_START = -(1 << (VA_BITS - VMEMMAP_SHIFT)); vmalloc ends 256 MiB below it. */
export const ARM64_VMEMMAP_SHIFT = defineChange({
  id: "arm64-vmemmap-start-vmemmap-shift",
  since: "v5.11",
  commit: "not pinned (the likely source, Ard Biesheuvel's linear-region work for 52-bit VA, is not verified)",
  subject: "arm64: VMEMMAP_START from VMEMMAP_SHIFT, VMALLOC_END = VMEMMAP_START - SZ_256M",
  files: ["arch/arm64/include/asm/memory.h", "arch/arm64/include/asm/pgtable.h"],
  effect: "VMEMMAP_SHIFT = PAGE_SHIFT - STRUCT_PAGE_MAX_SHIFT; VMEMMAP_START = -(1 << (VA_BITS - VMEMMAP_SHIFT)) (-2^42 for 48-bit VA, 4K pages) and VMALLOC_END = VMEMMAP_START - SZ_256M; before, VMEMMAP_START = -VMEMMAP_SIZE - SZ_2M and VMALLOC_END = -PUD_SIZE - VMEMMAP_SIZE - SZ_64K.",
  bracket: "absent in v5.10.89 (Prashant446/linux-5.10.89, arch/arm64/include/asm/memory.h:VMEMMAP_START = -VMEMMAP_SIZE - SZ_2M, arch/arm64/include/asm/pgtable.h:VMALLOC_END), present in v5.11.0 (CompressionDuck/linux-5.11, arch/arm64/include/asm/memory.h:VMEMMAP_START = -(1UL << (VA_BITS - VMEMMAP_SHIFT)), pgtable.h:VMALLOC_END = VMEMMAP_START - SZ_256M)",
});

/** arm64: vmemmap ends 1 GiB below the top; vmalloc ends 8 MiB below vmemmap. */
export const ARM64_VMEMMAP_BELOW_1G = defineChange({
  id: "arm64-vmemmap-below-1g",
  since: "v6.9",
  commit: "not pinned (the arm64 LPA2 / memory-map rework of v6.9)",
  subject: "arm64: mm: place vmemmap below the top gigabyte",
  files: ["arch/arm64/include/asm/memory.h", "arch/arm64/include/asm/pgtable.h"],
  effect: "VMEMMAP_END = -1 GiB, VMEMMAP_START = VMEMMAP_END - VMEMMAP_SIZE, VMALLOC_END = VMEMMAP_START - 8 MiB.",
  bracket: "absent in v6.8.0 (vivo50kff/linux-6.8, arch/arm64/include/asm/memory.h:VMEMMAP_START = -(1 << (VA_BITS - VMEMMAP_SHIFT)); also v6.5.3), present in v6.9.0 (ec-jt/linux-6.9.0, arch/arm64/include/asm/memory.h:VMEMMAP_END = -SZ_1G, VMEMMAP_START = VMEMMAP_END - VMEMMAP_SIZE, pgtable.h:VMALLOC_END = VMEMMAP_START - SZ_8M)",
});

export const X86_PAGE_OFFSET_888 = defineChange({
  id: "x86-page-offset-888",
  since: "v4.20",
  commit: "d52888aa2753",
  subject: "x86/mm: Move LDT remap out of KASLR region on 5-level paging",
  files: ["arch/x86/include/asm/page_64_types.h"],
  effect: "the direct map starts at 0xffff888000000000",
  bracket: "absent in v4.19.1 (chens37/linux-4.19.1, arch/x86/include/asm/page_64_types.h:__PAGE_OFFSET_BASE_L4 0xffff880000000000), present in v4.20.0 (a4913994/linux-4.20, same: 0xffff888000000000)",
});

const STRUCT_PAGE = 64;
const M48 = VA_BITS_48_SPAN;

/** -x modulo 2^48: the stored form of a kernel address written as "-(something)". */
function neg48(x: number): number {
  return M48 - x;
}

function arm64Default(p: PlatformProfile, k: KernelVersion): KernelLayout {
  const ramBase = Math.min(...p.ram.map((b) => b.base));
  const physOffset = alignDown(ramBase, SZ_1G);
  const vmemmapSize = 2 ** (48 - 12 - 1 + 6); // VA_BITS - PAGE_SHIFT - 1 + STRUCT_PAGE_MAX_SHIFT
  if (!atLeast(k, ARM64_FLIP_VA)) {
    // VA_START = 0xffff000000000000 -> stored 0; PAGE_OFFSET = 0xffff800000000000 -> stored 2^47.
    const pageOffset = 2 ** 47;
    const modules = 0 + (atLeast(k, ARM64_BPF_JIT_REGION) ? SZ_128M : 0);
    const vmallocStart = modules + SZ_128M;
    const vmemmapStart = pageOffset - vmemmapSize;
    return {
      arch: "arm64", vaBits: 48, pageOffset, linearSpan: 2 ** 47, physOffset,
      vmallocStart, vmallocEnd: pageOffset - SZ_1G - vmemmapSize - SZ_64K,
      vmemmapStart, structPageSize: STRUCT_PAGE, kimageVaddr: vmallocStart - SZ_128M, vaSpan: M48,
      lowmemLimitPhys: Infinity,
      source: "arm64 VA_BITS=48 before v5.4 (v4.19 arch/arm64/include/asm/memory.h)",
    };
  }
  const pageOffset = 0; // 0xffff000000000000
  const pageEnd = 2 ** 47; // 0xffff800000000000
  let vmallocStart: number;
  let kimage: number;
  let vmemmapStart: number;
  let vmallocEnd: number;
  if (atLeast(k, ARM64_MODULES_2G)) {
    vmallocStart = pageEnd + SZ_2G;
    kimage = vmallocStart;
  } else if (atLeast(k, ARM64_BPF_JIT_REGION_REMOVED)) {
    vmallocStart = pageEnd + SZ_128M;
    kimage = vmallocStart;
  } else {
    vmallocStart = pageEnd + SZ_128M + SZ_128M; // BPF JIT region + modules
    kimage = vmallocStart;
  }
  if (atLeast(k, ARM64_VMEMMAP_BELOW_1G)) {
    vmemmapStart = neg48(SZ_1G) - vmemmapSize;
    vmallocEnd = vmemmapStart - SZ_8M;
  } else if (atLeast(k, ARM64_VMEMMAP_SHIFT)) {
    vmemmapStart = neg48(2 ** (48 - (12 - 6))); // VMEMMAP_SHIFT = PAGE_SHIFT 12 - STRUCT_PAGE_MAX_SHIFT 6
    vmallocEnd = vmemmapStart - SZ_256M;
  } else {
    vmemmapStart = neg48(vmemmapSize + SZ_2M);
    vmallocEnd = neg48(SZ_1G + vmemmapSize + SZ_64K);
  }
  return {
    arch: "arm64", vaBits: 48, pageOffset, linearSpan: pageEnd - pageOffset, physOffset,
    vmallocStart, vmallocEnd, vmemmapStart, structPageSize: STRUCT_PAGE, kimageVaddr: kimage, vaSpan: M48,
    lowmemLimitPhys: Infinity,
    source: "arm64 VA_BITS=48 from v5.4 (14c127c957c1 flipped VA space; v6.19 arch/arm64/include/asm/memory.h)",
  };
}

function x86Default(k: KernelVersion): KernelLayout {
  const pageOffset = atLeast(k, X86_PAGE_OFFSET_888) ? 0x888000000000 : 0x880000000000;
  const vmallocStart = 0xc90000000000;
  return {
    arch: "x86_64", vaBits: 48, pageOffset, linearSpan: 2 ** 46, physOffset: 0,
    vmallocStart, vmallocEnd: vmallocStart + 32 * 2 ** 40,
    vmemmapStart: 0xea0000000000, structPageSize: STRUCT_PAGE, kimageVaddr: 0xffff80000000, vaSpan: M48,
    lowmemLimitPhys: Infinity,
    source: "x86-64 4-level (arch/x86/include/asm/page_64_types.h, pgtable_64_types.h), KASLR off",
  };
}

function armDefault(p: PlatformProfile): KernelLayout {
  const ramBase = Math.min(...p.ram.map((b) => b.base));
  const ramEnd = Math.max(...p.ram.map((b) => b.base + b.size));
  const physOffset = alignDown(ramBase, SZ_16M);
  const pageOffset = 0xc0000000;
  const vmallocEndArm = 0xff800000;
  const vmallocMin = vmallocEndArm - 240 * 2 ** 20 - SZ_8M; // 0xf0000000
  const lowmemLimitPhys = Math.min(ramEnd, physOffset + (vmallocMin - pageOffset));
  const highMemory = lowmemLimitPhys - physOffset + pageOffset;
  const vmallocStart = alignDown(highMemory + SZ_8M, SZ_8M);
  return {
    arch: "arm", vaBits: 32, pageOffset, linearSpan: vmallocMin - pageOffset, physOffset,
    vmallocStart, vmallocEnd: vmallocEndArm,
    // FLATMEM: mem_map is one array in lowmem, allocated from memblock at boot. The model
    // places it 2 MiB into the linear map (a model choice; the kernel's spot depends on memblock).
    vmemmapStart: pageOffset + SZ_2M, structPageSize: 32, kimageVaddr: pageOffset, vaSpan: 2 ** 32,
    lowmemLimitPhys,
    source: "arm 3G/1G split (arch/arm/include/asm/pgtable.h, arch/arm/mm/mmu.c v4.19: VMALLOC_END 0xff800000, 240M vmalloc reserve)",
  };
}

const cache = new WeakMap<object, KernelLayout>();

/**
 * The kernel VA layout of a machine: the profile's `layout` block if it has one
 * (then it pins the layout whatever the kernel release), else the per-arch,
 * per-release default described in this module's header.
 * @throws ModelConfigError for an arch without a modelled layout (parisc) and no
 * `layout` block, or a `layout` whose addresses are not canonical.
 */
export function kernelLayout(host: LayoutHost): KernelLayout {
  const hit = cache.get(host);
  if (hit) return hit;
  const p = host.profile;
  let l: KernelLayout;
  if (p.layout) {
    const lay = p.layout;
    const vaBits = lay.vaBits;
    const pageOffset = parseVirtAddr(lay.pageOffset, vaBits, "layout.pageOffset");
    const vmallocStart = parseVirtAddr(lay.vmallocStart, vaBits, "layout.vmallocStart");
    const vmallocEnd = parseVirtAddr(lay.vmallocEnd, vaBits, "layout.vmallocEnd");
    const def = p.arch === "parisc" ? null : defaultFor(p, host.kernel);
    const ramEnd = Math.max(...p.ram.map((b) => b.base + b.size));
    const vaSpan = vaBits === 48 ? M48 : 2 ** 32;
    // The linear map ends where the next region above PAGE_OFFSET starts (vmalloc
    // space, or the end of the VA space when vmalloc lies below it), and is no
    // larger than the architecture's own linear region (x86-64 4-level: 64 TiB).
    const gapAbove = vmallocStart > pageOffset ? vmallocStart - pageOffset : vaSpan - pageOffset;
    const linearSpan = Math.min(def ? def.linearSpan : gapAbove, gapAbove);
    l = {
      arch: p.arch,
      vaBits,
      pageOffset,
      linearSpan,
      physOffset: lay.physOffset,
      vmallocStart,
      vmallocEnd,
      vmemmapStart: lay.vmemmapStart !== undefined ? parseVirtAddr(lay.vmemmapStart, vaBits, "layout.vmemmapStart") : def ? def.vmemmapStart : pageOffset,
      structPageSize: def ? def.structPageSize : STRUCT_PAGE,
      kimageVaddr: def ? def.kimageVaddr : pageOffset,
      vaSpan,
      lowmemLimitPhys: vaBits === 32 ? Math.min(ramEnd, lay.physOffset + linearSpan) : Infinity,
      source: `profile ${p.id} layout block`,
    };
  } else {
    if (p.arch === "parisc") throw new ModelConfigError(`profile(${p.id}).layout`, undefined, "a layout block (no default layout is modelled for parisc)");
    l = defaultFor(p, host.kernel);
  }
  cache.set(host, l);
  return l;
}

function defaultFor(p: PlatformProfile, k: KernelVersion): KernelLayout {
  switch (p.arch) {
    case "arm64":
      return arm64Default(p, k);
    case "x86_64":
      return x86Default(k);
    case "arm":
      return armDefault(p);
    default:
      throw new ModelConfigError(`profile(${p.id}).arch`, p.arch, "arm64, x86_64 or arm for a default layout");
  }
}

/**
 * Wrap a VA computation into [0, vaSpan) the way unsigned C arithmetic on unsigned long does.
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function wrapVa(l: KernelLayout, x: number): number {
  if (!Number.isSafeInteger(x)) throw new ModelConfigError("wrapVa(x)", x, "an integer of magnitude below 2^53 (negative values wrap)");
  const m = l.vaSpan;
  // already in [0, vaSpan): no division (the linear map's addresses of every mapped page are)
  if (x > 0 && x < m) return x;
  return ((x % m) + m) % m;
}

/**
 * True iff `va` lies in the linear map's VA window [pageOffset, pageOffset +
 * linearSpan) of a resolved layout (see lib/mm/linear-map.ts isLinearMapAddr,
 * which resolves the layout first).
 */
export function inLinearRange(l: KernelLayout, va: number): boolean {
  return va >= l.pageOffset && va - l.pageOffset < l.linearSpan;
}

/** True iff `va` lies in [vmallocStart, vmallocEnd): is_vmalloc_addr (include/linux/mm.h). */
export function inVmallocRange(l: KernelLayout, va: number): boolean {
  return va >= l.vmallocStart && va < l.vmallocEnd;
}
