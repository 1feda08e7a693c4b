/**
 * Model errors. Three kinds are kept apart (docs/ARCHITECTURE.md, "Errors"):
 *
 * 1. The kernel's own results (DMA_MAPPING_ERROR, 0 nents, -ENOMEM, NULL) are
 *    returned as values, never thrown.
 * 2. Modelled faults (oops, IOMMU fault, stale read, lost write) are trace
 *    events; where the kernel would crash, {@link KernelOops} is thrown too.
 * 3. Misuse of the model itself (bad parameter, invalid profile) throws
 *    {@link ModelConfigError} at once, before any state changes.
 */

/**
 * Misuse of the model: a parameter outside its allowed range, a malformed
 * profile. Names the field, the value and what was allowed.
 */
export class ModelConfigError extends RangeError {
  readonly field: string;
  readonly value: unknown;
  readonly allowed: string;
  constructor(field: string, value: unknown, allowed: string) {
    super(`${field}: got ${describe(value)}, expected ${allowed}`);
    this.name = "ModelConfigError";
    this.field = field;
    this.value = value;
    this.allowed = allowed;
  }
}

/**
 * A modelled kernel crash ("Unable to handle kernel paging request at
 * virtual address ..."), thrown where the kernel would oops. The same facts
 * are recorded as an `oops` trace event before it is thrown.
 */
export class KernelOops extends Error {
  /** The faulting (virtual) address. */
  readonly address: number;
  /** Innermost first, kernel function names (e.g. ["sg_page", "dma_map_sg_attrs", ...]). */
  readonly callChain: readonly string[];
  constructor(message: string, address: number, callChain: readonly string[]) {
    super(`${message}\nCall trace:\n${callChain.map((f) => ` ${f}`).join("\n")}`);
    this.name = "KernelOops";
    this.address = address;
    this.callChain = callChain;
  }
}

function describe(v: unknown): string {
  if (typeof v === "number") {
    return Number.isSafeInteger(v) && v > 65535 ? `${v} (0x${v.toString(16)})` : String(v);
  }
  if (typeof v === "string") return JSON.stringify(v);
  if (v === undefined) return "undefined";
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}
