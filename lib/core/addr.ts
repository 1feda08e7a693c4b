/**
 * Branded address types. Physical addresses, DMA (bus or IOVA) addresses and
 * kernel-virtual addresses are all plain numbers at run time, but the brands
 * make passing one where another is expected a compile error: confusing them
 * is exactly the bug class of the threads this workbook covers.
 *
 * Values are exact integers in [0, 2^53). Build them with {@link physAddr},
 * {@link dmaAddr}, {@link virtAddr}, which validate.
 */
import { checkInt } from "./arith.js";
import { ModelConfigError } from "./errors.js";

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A CPU physical address (phys_addr_t), bytes. */
export type PhysAddr = Brand<number, "PhysAddr">;
/** A device-visible address (dma_addr_t): bus address or IOVA, bytes. */
export type DmaAddr = Brand<number, "DmaAddr">;
/** A kernel virtual address (void *), bytes. */
export type VirtAddr = Brand<number, "VirtAddr">;
/** A page frame number: physical address / PAGE_SIZE. */
export type Pfn = Brand<number, "Pfn">;

/**
 * Validate and brand a physical address.
 * @throws ModelConfigError if `x` is not an integer in [0, 2^53).
 */
export function physAddr(x: number, field = "physAddr"): PhysAddr {
  return checkInt(field, x) as PhysAddr;
}
/**
 * Validate and brand a DMA address.
 * @throws ModelConfigError if `x` is not an integer in [0, 2^53).
 */
export function dmaAddr(x: number, field = "dmaAddr"): DmaAddr {
  return checkInt(field, x) as DmaAddr;
}
/**
 * Validate and brand a kernel virtual address.
 * @throws ModelConfigError if `x` is not an integer in [0, 2^53).
 */
export function virtAddr(x: number, field = "virtAddr"): VirtAddr {
  return checkInt(field, x) as VirtAddr;
}
/**
 * Validate and brand a pfn.
 * @throws ModelConfigError if `x` is not an integer in [0, 2^53).
 */
export function pfn(x: number, field = "pfn"): Pfn {
  return checkInt(field, x) as Pfn;
}

/**
 * DMA_MAPPING_ERROR: the all-ones dma_addr_t the kernel returns from a failed
 * streaming map. All ones does not fit below 2^53, so the model uses a
 * sentinel that is never a valid address: compare with {@link dmaMappingError}.
 * Source: include/linux/dma-mapping.h.
 */
export const DMA_MAPPING_ERROR = -1 as DmaAddr;

/** dma_mapping_error(dev, addr): true iff the map call failed. */
export function dmaMappingError(addr: DmaAddr): boolean {
  return addr === DMA_MAPPING_ERROR;
}

/**
 * Kernel virtual addresses on 64-bit architectures live in the top of a
 * 48-bit address space (arm64 VA_BITS=48 translates them through TTBR1,
 * x86-64 4-level paging sign-extends them): bits 63..48 are all ones, e.g.
 * arm64's PAGE_OFFSET 0xffff000000000000 (v5.4+) or x86-64's direct map at
 * 0xffff888000000000, all above 2^53. A {@link VirtAddr} is always a kernel
 * address, so the model stores only its low 48 bits (0x0000_8880_0000_0000
 * for 0xffff_8880_0000_0000) and {@link fmtVirtAddr} prints it with the
 * 0xffff top restored. Note that bit 47 may be clear on arm64 (PAGE_OFFSET
 * 0xffff000000000000), so the rule is "top 16 bits set", not "sign-extended
 * bit 47". 32-bit addresses are stored as they are.
 */
export const VA_BITS_48_SPAN = 2 ** 48;

/**
 * Format a kernel virtual address as the kernel prints it (%px):
 * fmtVirtAddr(0x888000000000, 48) = "0xffff888000000000",
 * fmtVirtAddr(0, 48) = "0xffff000000000000",
 * fmtVirtAddr(0xc0000000, 32) = "0xc0000000".
 * @throws ModelConfigError for vaBits other than 32 or 48, or an out-of-range address.
 */
export function fmtVirtAddr(va: number, vaBits: 32 | 48): string {
  if (vaBits === 32) {
    checkInt("fmtVirtAddr(va)", va, 0, 0xffffffff);
    return "0x" + va.toString(16).padStart(8, "0");
  }
  if (vaBits !== 48) throw new ModelConfigError("fmtVirtAddr(vaBits)", vaBits, "32 or 48");
  checkInt("fmtVirtAddr(va)", va, 0, VA_BITS_48_SPAN - 1);
  return "0xffff" + va.toString(16).padStart(12, "0");
}

/**
 * Parse a kernel virtual address written in full 64-bit form
 * ("0xffff000000000000") into the model's 48-bit representation; 32-bit
 * addresses pass through.
 * @throws ModelConfigError for a malformed string, or a 64-bit address whose
 * top 16 bits are not all ones (not a kernel address).
 */
export function parseVirtAddr(s: string, vaBits: 32 | 48, field = "virtAddr"): VirtAddr {
  const m = /^0x([0-9a-fA-F]{1,16})$/.exec(s.trim());
  if (!m) throw new ModelConfigError(field, s, "a hex address such as 0xffff000000000000");
  const digits = m[1]!.toLowerCase().padStart(16, "0");
  if (vaBits === 32) {
    if (digits.slice(0, 8) !== "00000000") throw new ModelConfigError(field, s, "a 32-bit address");
    return virtAddr(parseInt(digits.slice(8), 16), field);
  }
  if (digits.slice(0, 4) !== "ffff") {
    throw new ModelConfigError(field, s, "a 48-bit kernel address (top 16 bits all ones, 0xffff...)");
  }
  return virtAddr(parseInt(digits.slice(4), 16), field);
}
