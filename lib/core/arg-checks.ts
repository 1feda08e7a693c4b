/**
 * Argument checks for hot paths (per page, per cache line, per DMA call):
 * the same tests as lib/core/arith.ts checkInt / checkPowerOf2, with the
 * field name (a template string such as `${fn}(size)`) built only for a value
 * that is rejected. Internal to the model: not part of the public API
 * (lib/core/index.ts does not re-export this file).
 */
import { MAX_ADDR, checkInt, checkPowerOf2, isPowerOf2 } from "./arith.js";

/**
 * True iff {@link checkInt} accepts `x`: an integer in [min, max]. A hot path
 * tests this first and builds checkInt's field name (a template string) only
 * for a value checkInt will reject.
 */
export function isIntIn(x: unknown, min = 0, max = MAX_ADDR): boolean {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= min && x <= max;
}

/**
 * checkInt(`${fn}(${arg})`, x, min, max), the field name built only for a
 * rejected value: for checks on hot paths that name their caller's function.
 * @returns x. @throws ModelConfigError naming `${fn}(${arg})`.
 */
export function checkIntArg(fn: string, arg: string, x: number, min = 0, max = MAX_ADDR): number {
  if (typeof x === "number" && Number.isSafeInteger(x) && x >= min && x <= max) return x;
  return checkInt(`${fn}(${arg})`, x, min, max);
}

/**
 * checkPowerOf2(`${fn}(${arg})`, x, min, max), the field name built only
 * for a rejected value (see {@link checkIntArg}).
 * @returns x. @throws ModelConfigError naming `${fn}(${arg})`.
 */
export function checkPowerOf2Arg(fn: string, arg: string, x: number, min = 1, max = 2 ** 52): number {
  if (isPowerOf2(x) && x >= min && x <= max) return x;
  return checkPowerOf2(`${fn}(${arg})`, x, min, max);
}

