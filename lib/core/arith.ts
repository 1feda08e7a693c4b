/**
 * Exact address arithmetic, safe for every integer below 2^53.
 *
 * JavaScript bitwise operators convert their operands to 32-bit integers, so
 * `addr & mask` silently drops the top of any address above 4 GiB. Nothing in
 * the model uses them on addresses, sizes or masks: every helper here works
 * with division, multiplication and comparisons on exact integers instead.
 *
 * Conventions:
 * - "mask" values are low masks of the form 2^k - 1 (DMA masks, segment
 *   boundary masks, granule masks). A mask of 53 bits or more is saturated to
 *   {@link MAX_ADDR} (2^53 - 1): every model address is below 2^53, so such a
 *   mask means "no limit", exactly like the kernel's DMA_BIT_MASK(64).
 * - "alignment" values are powers of two >= 1.
 *
 * Source: the kernel's include/linux/align.h (ALIGN, ALIGN_DOWN, IS_ALIGNED),
 * include/linux/bitops.h (fls, __fls), include/linux/log2.h (ilog2,
 * roundup_pow_of_two, rounddown_pow_of_two, is_power_of_2),
 * include/linux/dma-mapping.h (DMA_BIT_MASK). Re-implemented from their
 * documented meaning, not copied.
 */
import { ModelConfigError } from "./errors.js";

/** Largest address the model represents: 2^53 - 1 (also "no limit" for masks). */
export const MAX_ADDR = Number.MAX_SAFE_INTEGER;
/** 2^32, the first address a 32-bit DMA mask cannot reach. */
export const SZ_4G = 4294967296;
export const SZ_1K = 1024;
export const SZ_2K = 2048;
export const SZ_4K = 4096;
export const SZ_8K = 8192;
export const SZ_16K = 16384;
export const SZ_32K = 32768;
export const SZ_64K = 65536;
export const SZ_128K = 131072;
export const SZ_256K = 262144;
export const SZ_512K = 524288;
export const SZ_1M = 1048576;
export const SZ_2M = 2097152;
export const SZ_4M = 4194304;
export const SZ_16M = 16777216;
export const SZ_32M = 33554432;
export const SZ_64M = 67108864;
export const SZ_128M = 134217728;
export const SZ_256M = 268435456;
export const SZ_1G = 1073741824;
export const SZ_2G = 2147483648;

/**
 * Check that `x` is an integer in [min, max] and return it.
 * @throws ModelConfigError naming `field`, the value and the allowed range.
 */
export function checkInt(field: string, x: number, min = 0, max = MAX_ADDR): number {
  if (typeof x !== "number" || !Number.isSafeInteger(x) || x < min || x > max) {
    throw new ModelConfigError(field, x, `an integer in [${fmtNum(min)}, ${fmtNum(max)}]`);
  }
  return x;
}

/** 2^0 .. 2^52, ascending: the powers of two {@link isPowerOf2} looks up. */
const POWERS_OF_2: readonly number[] = Array.from({ length: 53 }, (_, k) => 2 ** k);

/** The last power of two {@link isPowerOf2} found (it answers it without a search). */
let lastPowerOf2 = 4096;

/** True iff `x` is a power of two (1, 2, 4, ...) below 2^53. */
export function isPowerOf2(x: number): boolean {
  // the last power of two found (page sizes, granules: the same one is asked per page); powers of two are a fixed set
  if (x === lastPowerOf2) return true;
  if (!Number.isSafeInteger(x) || x < 1) return false;
  // binary search of the table (exact comparisons; no logarithm)
  let lo = 0;
  let hi = POWERS_OF_2.length - 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (POWERS_OF_2[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  if (POWERS_OF_2[lo] !== x) return false;
  lastPowerOf2 = x;
  return true;
}

/**
 * Check that `x` is a power of two in [min, max] and return it.
 * @throws ModelConfigError naming `field`.
 */
export function checkPowerOf2(field: string, x: number, min = 1, max = 2 ** 52): number {
  if (!isPowerOf2(x) || x < min || x > max) {
    throw new ModelConfigError(field, x, `a power of two in [${fmtNum(min)}, ${fmtNum(max)}]`);
  }
  return x;
}

function ilog2Unchecked(x: number): number {
  // Math.log2 is exact for powers of two and within one for other integers
  // below 2^53; correct the estimate with exact comparisons.
  let n = Math.floor(Math.log2(x));
  if (2 ** n > x) n -= 1;
  else if (2 ** (n + 1) <= x) n += 1;
  return n;
}

/**
 * fls: find last set bit, 1-based; fls(0) = 0, fls(1) = 1, fls(2^40) = 41.
 * Source: include/asm-generic/bitops/fls.h semantics.
 * @throws ModelConfigError if `x` is not an integer in [0, 2^53).
 */
export function fls(x: number): number {
  checkInt("fls(x)", x);
  return x === 0 ? 0 : ilog2Unchecked(x) + 1;
}

/**
 * __fls: 0-based index of the last set bit. Undefined for 0 in the kernel;
 * here it throws.
 * @throws ModelConfigError if `x` is not an integer in [1, 2^53).
 */
export function __fls(x: number): number {
  checkInt("__fls(x)", x, 1);
  return ilog2Unchecked(x);
}

/**
 * ilog2: floor(log2(x)) for x >= 1 (include/linux/log2.h).
 * @throws ModelConfigError for x < 1 or non-integers.
 */
export function ilog2(x: number): number {
  checkInt("ilog2(x)", x, 1);
  return ilog2Unchecked(x);
}

/**
 * roundup_pow_of_two: the smallest power of two >= x, for 1 <= x <= 2^52.
 * roundupPowOfTwo(81920) = 131072.
 * @throws ModelConfigError outside [1, 2^52].
 */
export function roundupPowOfTwo(x: number): number {
  checkInt("roundupPowOfTwo(x)", x, 1, 2 ** 52);
  return x === 1 ? 1 : 2 ** (ilog2Unchecked(x - 1) + 1);
}

/**
 * rounddown_pow_of_two: the largest power of two <= x, for x >= 1.
 * @throws ModelConfigError for x < 1.
 */
export function rounddownPowOfTwo(x: number): number {
  checkInt("rounddownPowOfTwo(x)", x, 1);
  return 2 ** ilog2Unchecked(x);
}

/**
 * ALIGN(x, a): round `x` up to a multiple of the power of two `a`.
 * @throws ModelConfigError if `a` is not a power of two, or the result would
 * not be below 2^53.
 */
export function alignUp(x: number, a: number): number {
  checkInt("alignUp(x)", x);
  checkPowerOf2("alignUp(a)", a);
  const r = Math.ceil(x / a) * a;
  if (r > MAX_ADDR) throw new ModelConfigError("alignUp(x)", x, `a value whose alignment to ${a} stays below 2^53`);
  return r;
}

/**
 * ALIGN_DOWN(x, a): round `x` down to a multiple of the power of two `a`.
 * @throws ModelConfigError if `a` is not a power of two.
 */
export function alignDown(x: number, a: number): number {
  checkInt("alignDown(x)", x);
  checkPowerOf2("alignDown(a)", a);
  return Math.floor(x / a) * a;
}

/** IS_ALIGNED(x, a) for a power of two `a`. */
export function isAligned(x: number, a: number): boolean {
  checkInt("isAligned(x)", x);
  checkPowerOf2("isAligned(a)", a);
  return x % a === 0;
}

/** offset_in_page-style remainder: x mod a, for a power of two `a` (x & (a - 1)). */
export function offsetIn(x: number, a: number): number {
  checkInt("offsetIn(x)", x);
  checkPowerOf2("offsetIn(a)", a);
  return x % a;
}

/**
 * DMA_BIT_MASK(n) as an inclusive limit: 2^n - 1 for n in [1, 52]; for
 * n in [53, 64] the saturated {@link MAX_ADDR}, meaning "no limit" (all model
 * addresses are below 2^53). DMA_BIT_MASK(32) = 0xffffffff.
 * Source: include/linux/dma-mapping.h, DMA_BIT_MASK.
 * @throws ModelConfigError for n outside [1, 64].
 */
export function DMA_BIT_MASK(n: number): number {
  checkInt("DMA_BIT_MASK(n)", n, 1, 64);
  return n >= 53 ? MAX_ADDR : 2 ** n - 1;
}

/**
 * True iff `mask` is a low mask 2^k - 1 (k >= 0), including the saturated
 * {@link MAX_ADDR}.
 */
export function isLowMask(mask: number): boolean {
  // the last four low masks seen answer at once (a DMA path checks the same few masks at every page: the segment
  // boundary, the slot and alignment masks of a swiotlb search)
  const seen = LOW_MASKS_SEEN;
  if (mask === seen[0] || mask === seen[1] || mask === seen[2] || mask === seen[3]) return true;
  const ok = Number.isSafeInteger(mask) && mask >= 0 && (mask === MAX_ADDR || isPowerOf2(mask + 1));
  if (ok) {
    seen[3] = seen[2]!;
    seen[2] = seen[1]!;
    seen[1] = seen[0]!;
    seen[0] = mask;
  }
  return ok;
}
/** The last four masks {@link isLowMask} accepted, newest first (numbers: the test is on the value alone). */
const LOW_MASKS_SEEN = new Float64Array(4);

/**
 * Check that `mask` is a low mask 2^k - 1 and return it.
 * @throws ModelConfigError naming `field`.
 */
export function checkLowMask(field: string, mask: number): number {
  if (!isLowMask(mask)) throw new ModelConfigError(field, mask, "a mask of the form 2^k - 1 (e.g. 0xffffffff)");
  return mask;
}

/** Number of bits in a low mask: bitsOfMask(0xffffffff) = 32, saturated mask = 53. */
export function bitsOfMask(mask: number): number {
  checkLowMask("bitsOfMask(mask)", mask);
  return mask === MAX_ADDR ? 53 : ilog2Unchecked(mask + 1);
}

/**
 * x & mask for a low mask 2^k - 1: the low k bits of x.
 * @throws ModelConfigError if `mask` is not a low mask.
 */
export function andMask(x: number, mask: number): number {
  checkInt("andMask(x)", x);
  checkLowMask("andMask(mask)", mask);
  if (mask === MAX_ADDR) return x;
  // x mod 2^k, exact below 2^53 (dividing by a power of two only shifts the exponent); quicker than % on
  // a value above 2^31, which the engine computes in floating point (fmod)
  const m = mask + 1;
  return x - Math.floor(x / m) * m;
}

/**
 * x & ~mask for a low mask 2^k - 1: x with its low k bits cleared.
 * @throws ModelConfigError if `mask` is not a low mask.
 */
export function clearMask(x: number, mask: number): number {
  return x - andMask(x, mask);
}

/**
 * (x + 1) & mask-style wrap of a possibly negative value into [0, mask]:
 * the value modulo mask + 1, as unsigned C arithmetic would give it.
 * Example: wrapToMask(-81920, 0xffffffff) = 0xfffec000.
 */
export function wrapToMask(x: number, mask: number): number {
  if (!Number.isSafeInteger(x)) throw new ModelConfigError("wrapToMask(x)", x, "a safe integer");
  checkLowMask("wrapToMask(mask)", mask);
  const m = mask === MAX_ADDR ? 2 ** 53 : mask + 1;
  return ((x % m) + m) % m;
}

/**
 * Wrap to unsigned 32-bit arithmetic (C `unsigned int`), e.g. an sg length.
 * @throws ModelConfigError for a value that is not a safe integer.
 */
export function u32(x: number): number {
  // a value already in [0, 2^32) is its own u32 (no checks: this runs per table entry); -0 becomes 0 as the wrap makes it
  if (x >= 0 && x <= 0xffffffff && Number.isInteger(x)) return x + 0;
  return wrapToMask(x, 0xffffffff);
}

/**
 * True iff the range [start, start + len) crosses a boundary of
 * `boundaryMask + 1` bytes (the segment-boundary rule of dma_parms). A
 * saturated mask has no boundary below 2^53.
 * @throws ModelConfigError for a zero length or a bad mask.
 */
export function crossesBoundary(start: number, len: number, boundaryMask: number): boolean {
  checkInt("crossesBoundary(start)", start);
  checkInt("crossesBoundary(len)", len, 1);
  checkLowMask("crossesBoundary(boundaryMask)", boundaryMask);
  if (boundaryMask === MAX_ADDR) return false;
  const b = boundaryMask + 1;
  return Math.floor(start / b) !== Math.floor((start + len - 1) / b);
}

/** min_not_zero(a, b): the smaller, ignoring a zero operand (include/linux/minmax.h). */
export function minNotZero(a: number, b: number): number {
  checkInt("minNotZero(a)", a);
  checkInt("minNotZero(b)", b);
  if (a === 0) return b;
  if (b === 0) return a;
  return Math.min(a, b);
}

/** DIV_ROUND_UP(n, d) for positive integers. */
export function divRoundUp(n: number, d: number): number {
  checkInt("divRoundUp(n)", n);
  checkInt("divRoundUp(d)", d, 1);
  return Math.ceil(n / d);
}

/** Two-digit lower-case hex of 0..255 ("00".."ff"). */
const HEX2: string[] = Array.from({ length: 256 }, (_, i) => (i < 16 ? "0" : "") + i.toString(16));

/**
 * Format a number as 0x-hex (exact up to 2^53): "0x" + x.toString(16) for a
 * safe integer >= 0, String(x) otherwise. Built a byte at a time from a table
 * (plain division, no bitwise operators): Number#toString(16) is several
 * times slower, and trace messages print addresses per cache line.
 */
export function hex(x: number): string {
  if (!Number.isSafeInteger(x) || x < 0) return String(x);
  let s = "";
  let v = x;
  while (v >= 256) {
    const q = Math.floor(v / 256);
    s = HEX2[v - q * 256]! + s;
    v = q;
  }
  return "0x" + (v < 16 ? HEX2[v]![1]! : HEX2[v]!) + s;
}

/** Human size: 65536 -> "64K", 1048576 -> "1M", 81920 -> "80K", 1000 -> "1000". */
export function fmtSize(bytes: number): string {
  const units: Array<[number, string]> = [
    [SZ_1G, "G"],
    [SZ_1M, "M"],
    [SZ_1K, "K"],
  ];
  for (const [u, s] of units) {
    if (bytes >= u && bytes % u === 0) return `${bytes / u}${s}`;
  }
  return String(bytes);
}

function fmtNum(x: number): string {
  return x >= 65536 ? hex(x) : String(x);
}

/**
 * order_base_2(n) (include/linux/log2.h): ceil(log2 n) for n >= 1 (1 -> 0,
 * 3 -> 2, 4 -> 2, 5 -> 3), exact to 2^53 without bit operators.
 * @throws ModelConfigError for n not an integer in [1, 2^53).
 */
export function orderBase2(n: number): number {
  checkInt("orderBase2(n)", n, 1);
  return isPowerOf2(n) ? ilog2(n) : ilog2(n) + 1;
}
