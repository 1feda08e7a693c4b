/**
 * Linear-map translations: __va / phys_to_virt and __pa / virt_to_phys.
 *
 * Like the kernel, both are pure arithmetic on the machine's layout
 * ({@link kernelLayout}): they compute an answer for ANY input. The answer is
 * only meaningful for a physical address that has a linear-map alias (RAM
 * that is mapped: not `no-map` reserved memory, not MMIO, not arm32 highmem)
 * and, in the other direction, for a virtual address inside the linear map.
 * Use {@link isLinearMapAddr} / the memory model's `hasLinearAlias` to ask.
 *
 * Sources: arm64 __phys_to_virt, __virt_to_phys_nodebug, __is_lm_address,
 * __lm_to_phys, __kimg_to_phys (arch/arm64/include/asm/memory.h, v4.19 and
 * v6.19; the linear-map test changed with 14c127c957c1 in v5.4); x86-64
 * __va, __phys_addr_nodebug (arch/x86/include/asm/page.h, page_64.h); arm
 * __virt_to_phys / __phys_to_virt (arch/arm/include/asm/memory.h, the
 * non-patched form: va - PAGE_OFFSET + PHYS_OFFSET).
 */
import { checkInt } from "../core/arith.js";
import type { PhysAddr, VirtAddr } from "../core/addr.js";
import { inLinearRange, kernelLayout, wrapVa, type KernelLayout, type LayoutHost } from "./layout.js";

export { kernelLayout, type KernelLayout, type LayoutHost } from "./layout.js";

/**
 * __va(pa) / phys_to_virt(pa): PAGE_OFFSET + (pa - PHYS_OFFSET), wrapped to the
 * VA width (64-bit VAs in the model's stored form, modulo 2^48).
 * Meaningful only for RAM with a linear alias; for any other address it still
 * returns a number, as the kernel does.
 * @throws ModelConfigError if `pa` is not an integer in [0, 2^53).
 */
export function physToVirt(machine: LayoutHost, pa: PhysAddr | number): VirtAddr {
  checkInt("physToVirt(pa)", pa);
  return linearMapVa(kernelLayout(machine), pa);
}

/**
 * {@link physToVirt} on a layout already resolved (kernelLayout) for an
 * address the caller checked (an integer in [0, 2^53)): PAGE_OFFSET +
 * (pa - PHYS_OFFSET) wrapped to the VA width. For a caller converting many
 * addresses of one machine (dma-direct's map of every sg entry).
 */
export function linearMapVa(l: KernelLayout, pa: number): VirtAddr {
  return wrapVa(l, l.pageOffset + (pa - l.physOffset)) as VirtAddr;
}

/**
 * True iff `va` is inside the linear map's VA window (arm64 __is_lm_address;
 * x86-64: below __START_KERNEL_map and at or above PAGE_OFFSET; arm: between
 * PAGE_OFFSET and the lowmem end). Says nothing about whether RAM is mapped there.
 */
export function isLinearMapAddr(machine: LayoutHost, va: VirtAddr | number): boolean {
  return inLinearRange(kernelLayout(machine), va);
}

/**
 * __pa(va) / virt_to_phys(va). For a linear-map address: va - PAGE_OFFSET +
 * PHYS_OFFSET. For any other address the kernel still computes something:
 * arm64 treats it as a kernel-image address (va - kimage_voffset), x86-64
 * likewise above __START_KERNEL_map and as a direct-map address below it, and
 * arm subtracts PAGE_OFFSET. That result is garbage (a physical address that
 * has nothing to do with what `va` maps), wrapped to [0, 2^48) (64-bit) or
 * [0, 2^32) (arm) so it stays a model number. Only meaningful for linear-map
 * addresses: see {@link isLinearMapAddr}.
 * @throws ModelConfigError if `va` is not an integer in [0, 2^53).
 */
export function virtToPhys(machine: LayoutHost, va: VirtAddr | number): PhysAddr {
  checkInt("virtToPhys(va)", va);
  const l = kernelLayout(machine);
  return rawVirtToPhys(l, va) as PhysAddr;
}

/**
 * The arithmetic of {@link virtToPhys} on a resolved layout.
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function rawVirtToPhys(l: KernelLayout, va: number): number {
  checkInt("rawVirtToPhys(va)", va);
  const inLinear = va >= l.pageOffset && va - l.pageOffset < l.linearSpan;
  if (l.arch === "arm") return wrapVa(l, va - l.pageOffset + l.physOffset);
  if (inLinear) return va - l.pageOffset + l.physOffset;
  if (l.arch === "x86_64" && va < l.kimageVaddr) {
    // __phys_addr: below __START_KERNEL_map the direct-map formula is applied regardless.
    return wrapVa(l, va - l.pageOffset + l.physOffset);
  }
  // arm64 __kimg_to_phys / x86 kernel text: va - kimage_voffset, the image loaded at PHYS_OFFSET.
  return wrapVa(l, va - l.kimageVaddr + l.physOffset);
}
