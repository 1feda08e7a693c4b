/**
 * The DMA API's shared vocabulary: directions (enum dma_data_direction,
 * include/linux/dma-direction.h) and attributes (DMA_ATTR_*,
 * include/linux/dma-mapping.h). Values are the kernel's (v6.19; the
 * direction values are unchanged since they were introduced, and the
 * attribute bits used here are unchanged since v4.8, when DMA_ATTR_* became
 * plain bits of an unsigned long).
 */
import { ModelConfigError } from "./errors.js";

/** enum dma_data_direction: the kernel's numeric values. */
export const DMA_BIDIRECTIONAL = 0;
export const DMA_TO_DEVICE = 1;
export const DMA_FROM_DEVICE = 2;
export const DMA_NONE = 3;
/** Any dma_data_direction value, DMA_NONE included. */
export type DmaDataDirection = 0 | 1 | 2 | 3;
/** A direction a streaming mapping may use (valid_dma_direction: DMA_NONE is not). */
export type DmaStreamingDirection = 0 | 1 | 2;

/** DMA_ATTR_* bits (include/linux/dma-mapping.h, v6.19). */
export const DMA_ATTR_WEAK_ORDERING = 2;
export const DMA_ATTR_WRITE_COMBINE = 4;
export const DMA_ATTR_NO_KERNEL_MAPPING = 16;
export const DMA_ATTR_SKIP_CPU_SYNC = 32;
export const DMA_ATTR_FORCE_CONTIGUOUS = 64;
export const DMA_ATTR_ALLOC_SINGLE_PAGES = 128;
export const DMA_ATTR_NO_WARN = 256;
export const DMA_ATTR_PRIVILEGED = 512;
export const DMA_ATTR_MMIO = 1024;

/** True iff `attrs` has `bit` set (attrs are small bit sets below 2^31; tested without bitwise operators). */
export function hasAttr(attrs: number, bit: number): boolean {
  return Math.floor(attrs / bit) % 2 === 1;
}

/** `attrs | bit` without a bitwise operator: `attrs` with `bit` set (a no-op when it already is). */
export function withAttr(attrs: number, bit: number): number {
  return hasAttr(attrs, bit) ? attrs : attrs + bit;
}

/**
 * Check an attrs argument (unsigned long attrs of the DMA API): an integer in
 * [0, 2^31 - 1], the DMA_ATTR_* bits the model knows all lie below 2^11.
 * NaN, fractions, negatives (a C caller cannot pass them as unsigned long
 * without meaning ~0UL, which no driver does) are misuse of the model.
 * @returns attrs. @throws ModelConfigError naming `field`.
 */
export function checkAttrs(field: string, attrs: unknown): number {
  if (typeof attrs !== "number" || !Number.isSafeInteger(attrs) || attrs < 0 || attrs > 2 ** 31 - 1) {
    throw new ModelConfigError(field, attrs, "DMA_ATTR_* bits: an integer in [0, 2^31 - 1]");
  }
  return attrs;
}

/** valid_dma_direction(dir) (include/linux/dma-mapping.h): BIDIRECTIONAL, TO_DEVICE or FROM_DEVICE. */
export function validDmaDirection(dir: number): dir is DmaStreamingDirection {
  return dir === DMA_BIDIRECTIONAL || dir === DMA_TO_DEVICE || dir === DMA_FROM_DEVICE;
}

const DIR_NAMES = ["DMA_BIDIRECTIONAL", "DMA_TO_DEVICE", "DMA_FROM_DEVICE", "DMA_NONE"] as const;

/** The kernel's name for a direction ("DMA_FROM_DEVICE"), as dma-debug prints it (dir2name, kernel/dma/debug.c). */
export function dirName(dir: number): string {
  return DIR_NAMES[dir] ?? `DMA_dir(${dir})`;
}

/**
 * Check a direction argument. The kernel BUG()s on an invalid one
 * (BUG_ON(!valid_dma_direction(dir)) in kernel/dma/mapping.c); the model
 * rejects it as misuse.
 * @throws ModelConfigError naming `field` for anything but 0, 1 or 2.
 */
export function checkDirection(field: string, dir: unknown): DmaStreamingDirection {
  if (dir !== DMA_BIDIRECTIONAL && dir !== DMA_TO_DEVICE && dir !== DMA_FROM_DEVICE) {
    throw new ModelConfigError(field, dir, "DMA_BIDIRECTIONAL (0), DMA_TO_DEVICE (1) or DMA_FROM_DEVICE (2)");
  }
  return dir;
}
