/**
 * A checker equivalent to CONFIG_DMA_API_DEBUG (kernel/dma/debug.c) for the
 * streaming calls the model implements. It keeps one entry per active
 * mapping (device, DMA address, physical address, size, direction, type,
 * whether dma_mapping_error() was called) and reports misuse with the
 * kernel's message texts, prefixed "DMA-API: <driver> <device>: " as
 * err_printk does. Reports are trace events at level "warn" and are kept in
 * {@link DmaDebug.reports}; the checker throws ({@link DmaDebugError}) only
 * when created strict.
 *
 * Sources read: kernel/dma/debug.c of v6.19 (matankalina/linux-6.19.10-fork)
 * and v5.4.6 (hxb-gt/linux-5.4.6): check_unmap, check_sync,
 * debug_dma_map_single, check_for_stack, add_dma_entry /
 * active_cacheline_insert (only the cache line of a mapping's *start* is
 * tracked, and DMA_TO_DEVICE mappings are not tracked at all),
 * debug_dma_mapping_error. Type names: v5.4 registers dma_map_single and
 * dma_map_page as "single" and spells sg "scather-gather"; v6.19 registers
 * both single-buffer maps as "phy" (dma_map_phys) and spells
 * "scatter-gather". "phy" arrives with dma_map_phys in v6.18
 * (CHANGE_DMA_MAP_PHYS: absent in v6.17.0, present in v6.18.2); the
 * spelling fix is between v6.5.3 and v6.8.0, modelled at v6.6
 * (DMA_DEBUG_SG_SPELLING). Older type names (v4.x "page", the shifted
 * names of v5.0..v5.6) are not modelled.
 *
 * Our own addition (not in the kernel): "CPU access to a buffer the device
 * owns" when the CPU reads or writes a mapped buffer between map (or
 * sync_for_device) and unmap (or sync_for_cpu).
 */
import { hex } from "../core/arith.js";
import type { Trace } from "../core/trace.js";
import { atLeast, defineChange } from "../kernel/version.js";
import { CHANGE_DMA_MAP_PHYS } from "../kernel/api-changes.js";

/** dma-debug's type name of scatterlist entries loses its typo. */
export const DMA_DEBUG_SG_SPELLING = defineChange({
  id: "dma-debug-scatter-gather-spelling",
  since: "v6.6",
  commit: "unverified (not found)",
  subject: "dma-debug: spell the sg type name \"scatter-gather\" (the kernel subject was not found)",
  files: ["kernel/dma/debug.c"],
  effect: "dma-debug reports name sg entries \"scatter-gather\" instead of \"scather-gather\".",
  bracket: "absent in v6.5.3 (christian-bendiksen/ubuntu-linux-6.5.3, an Ubuntu tree, kernel/dma/debug.c:type2name \"scather-gather\"), present in v6.8.0 (vivo50kff/linux-6.8, kernel/dma/debug.c:type2name \"scatter-gather\"); loose: v6.6, v6.7 or v6.8, no v6.6/v6.7 tree with kernel/dma/debug.c was readable (sndrzt/linux-6.5 and Salpadding/linux-6.6-strip lack it); the model switches at v6.6",
});
import { dirName } from "../core/dma-types.js";
import { inVmallocRange, kernelLayout, type LayoutHost } from "../mm/layout.js";
import { isLinearMapAddr, virtToPhys } from "../mm/linear-map.js";
import type { MemoryModel } from "../mm/memory.js";
import { isStackPhys } from "../mm/slab.js";

/** The kind of mapping an entry records (dma_debug_entry.type). */
export type DebugMapType = "single" | "sg";

/** One active mapping as dma-debug tracks it. */
export interface DebugEntry {
  readonly devName: string;
  readonly driver: string;
  readonly type: DebugMapType;
  readonly dmaAddr: number;
  readonly paddr: number;
  readonly size: number;
  readonly dir: number;
  /** "not-checked" until dma_mapping_error() is called on it; sg entries "n/a". */
  mapErr: "not-checked" | "checked" | "n/a";
  /** nents passed to dma_map_sg, for sg entries. */
  readonly sgCallEnts: number;
}

/** One report. */
export interface DebugReport {
  /** Short id: "free-not-allocated", "free-wrong-size", ... */
  readonly id: string;
  /** The full message as the kernel prints it (with the DMA-API prefix). */
  readonly message: string;
  readonly device: string;
  /** Trace sequence number. */
  readonly seq: number;
  /** True for checks the kernel does not have (our additions). */
  readonly modelOnly: boolean;
}

/** Thrown by a strict checker on the first report. */
export class DmaDebugError extends Error {
  readonly report: DebugReport;
  constructor(r: DebugReport) {
    super(r.message);
    this.name = "DmaDebugError";
    this.report = r;
  }
}

/** What the checker needs to know about the device. */
export interface DebugDevice {
  readonly name: string;
  readonly driver: string;
}

/** Options of {@link DmaDebug}. */
export interface DmaDebugOptions {
  /** Throw a {@link DmaDebugError} on the first report. Default false. */
  strict?: boolean;
  /** Cache line size used for cacheline tracking (L1_CACHE_BYTES), bytes. */
  lineSize: number;
  /** Kernel release (type names differ, see the module comment). */
  kernel: string;
}

/** The checker of one machine. */
export class DmaDebug {
  readonly strict: boolean;
  readonly reports: DebugReport[] = [];
  private readonly entries: DebugEntry[] = [];
  private readonly trace: Trace;
  private readonly lineSize: number;
  private readonly kernel: string;
  /** Active cacheline tracking: line number -> count of overlapping mappings. */
  private readonly activeLines = new Map<number, number>();

  constructor(trace: Trace, opts: DmaDebugOptions) {
    this.trace = trace;
    this.strict = opts.strict ?? false;
    this.lineSize = opts.lineSize;
    this.kernel = opts.kernel;
  }

  /** Number of active entries. */
  get activeEntries(): number {
    return this.entries.length;
  }

  private typeName(t: DebugMapType): string {
    if (t === "sg") return atLeast(this.kernel, DMA_DEBUG_SG_SPELLING) ? "scatter-gather" : "scather-gather";
    return atLeast(this.kernel, CHANGE_DMA_MAP_PHYS) ? "phy" : "single";
  }

  private report(dev: DebugDevice, id: string, text: string, modelOnly = false): DebugReport {
    const message = `DMA-API: ${dev.driver} ${dev.name}: ${text}`;
    const ev = this.trace.record({ fn: "dma_debug", kind: "dma_debug", level: "warn", msg: message, data: { id, device: dev.name, modelOnly } });
    const r: DebugReport = { id, message, device: dev.name, seq: ev.seq, modelOnly };
    this.reports.push(r);
    if (this.strict) throw new DmaDebugError(r);
    return r;
  }

  /**
   * debug_dma_map_single: a pointer from vmalloc space, or one that is not
   * a valid linear-map address, is reported.
   */
  checkMapSingle(dev: DebugDevice, va: number, len: number, where: { vmalloc: boolean; validLinear: boolean; vaText: string }): void {
    if (!where.validLinear && !where.vmalloc) this.report(dev, "map-invalid-area", `device driver maps memory from invalid area [addr=${where.vaText}] [len=${len}]`);
    if (where.vmalloc) this.report(dev, "map-vmalloc", `device driver maps memory from vmalloc area [addr=${where.vaText}] [len=${len}]`);
    void va;
  }

  /** check_for_stack (direct-mapped stack form). */
  checkStack(dev: DebugDevice, onStack: boolean, vaText: string): void {
    if (onStack) this.report(dev, "map-stack", `device driver maps memory from stack [addr=${vaText}]`);
  }

  /**
   * debug_dma_map_phys / debug_dma_map_sg: record an entry (nothing for a
   * failed map) and do the cacheline overlap check of add_dma_entry.
   */
  addEntry(dev: DebugDevice, e: Omit<DebugEntry, "devName" | "driver" | "mapErr">, attrsSkipCpuSync: boolean): void {
    const entry: DebugEntry = { ...e, devName: dev.name, driver: dev.driver, mapErr: e.type === "sg" ? "n/a" : "not-checked" };
    this.entries.push(entry);
    if (entry.dir === 1) return; // DMA_TO_DEVICE: active_cacheline_insert does not track it
    const cln = Math.floor(entry.paddr / this.lineSize);
    const n = this.activeLines.get(cln) ?? 0;
    this.activeLines.set(cln, n + 1);
    if (n > 0 && !attrsSkipCpuSync) {
      this.report(dev, "cacheline-eexist", "cacheline tracking EEXIST, overlapping mappings aren't supported");
    }
  }

  private removeEntry(e: DebugEntry): void {
    const i = this.entries.indexOf(e);
    if (i >= 0) this.entries.splice(i, 1);
    if (e.dir === 1) return;
    const cln = Math.floor(e.paddr / this.lineSize);
    const n = this.activeLines.get(cln) ?? 0;
    if (n <= 1) this.activeLines.delete(cln);
    else this.activeLines.set(cln, n - 1);
  }

  /** debug_dma_mapping_error: mark the first unchecked entry with this address checked. */
  mappingErrorChecked(dev: DebugDevice, dmaAddr: number): void {
    const e = this.entries.find((x) => x.devName === dev.name && x.dmaAddr === dmaAddr && x.mapErr === "not-checked");
    if (e) e.mapErr = "checked";
  }

  /**
   * check_unmap: the entry must exist (same device and DMA address) and
   * match in size, type and direction; an entry never passed to
   * dma_mapping_error() is reported too. The entry is removed.
   */
  checkUnmap(dev: DebugDevice, ref: { type: DebugMapType; dmaAddr: number; size: number; dir: number; isMappingError: boolean; sgCallEnts?: number }): void {
    const e = this.entries.find((x) => x.devName === dev.name && x.dmaAddr === ref.dmaAddr);
    if (!e) {
      if (ref.isMappingError) this.report(dev, "free-invalid", "device driver tries to free an invalid DMA memory address");
      else this.report(dev, "free-not-allocated", `device driver tries to free DMA memory it has not allocated [device address=${hex16(ref.dmaAddr)}] [size=${ref.size} bytes]`);
      return;
    }
    if (ref.size !== e.size) {
      this.report(dev, "free-wrong-size", `device driver frees DMA memory with different size [device address=${hex16(ref.dmaAddr)}] [map size=${e.size} bytes] [unmap size=${ref.size} bytes]`);
    }
    if (ref.type !== e.type) {
      this.report(dev, "free-wrong-function", `device driver frees DMA memory with wrong function [device address=${hex16(ref.dmaAddr)}] [size=${ref.size} bytes] [mapped as ${this.typeName(e.type)}] [unmapped as ${this.typeName(ref.type)}]`);
    }
    if (ref.sgCallEnts !== undefined && ref.type === "sg" && e.type === "sg" && ref.sgCallEnts !== e.sgCallEnts) {
      this.report(dev, "free-sg-count", `device driver frees DMA sg list with different entry count [map count=${e.sgCallEnts}] [unmap count=${ref.sgCallEnts}]`);
    }
    if (ref.dir !== e.dir) {
      this.report(dev, "free-wrong-direction", `device driver frees DMA memory with different direction [device address=${hex16(ref.dmaAddr)}] [size=${ref.size} bytes] [mapped with ${dirName(e.dir)}] [unmapped with ${dirName(ref.dir)}]`);
    }
    if (e.mapErr === "not-checked") {
      this.report(dev, "map-error-not-checked", `device driver failed to check map error[device address=${hex16(ref.dmaAddr)}] [size=${ref.size} bytes] [mapped as ${this.typeName(e.type)}]`);
    }
    this.removeEntry(e);
  }

  /**
   * check_sync: the synced range must lie in an active entry of the device
   * (found by containment), not beyond its size, in the mapped direction
   * (a DMA_BIDIRECTIONAL mapping may be synced either way), and not for cpu
   * on a device-read-only mapping / for device on a device-write-only one.
   */
  checkSync(dev: DebugDevice, ref: { dmaAddr: number; size: number; dir: number; toCpu: boolean }): void {
    // containing_match (bucket_find_contain, kernel/dma/debug.c v5.4.6 / v6.19): a 0-byte entry holds only a 0-byte sync at its own address
    const e = this.entries.find((x) => x.devName === dev.name && ref.dmaAddr >= x.dmaAddr && (ref.dmaAddr < x.dmaAddr + x.size || (x.size === 0 && ref.size === 0 && ref.dmaAddr === x.dmaAddr)));
    if (!e) {
      this.report(dev, "sync-not-allocated", `device driver tries to sync DMA memory it has not allocated [device address=${hex16(ref.dmaAddr)}] [size=${ref.size} bytes]`);
      return;
    }
    const offPlusSize = ref.dmaAddr - e.dmaAddr + ref.size;
    if (offPlusSize > e.size) {
      this.report(dev, "sync-outside", `device driver syncs DMA memory outside allocated range [device address=${hex16(e.dmaAddr)}] [allocation size=${e.size} bytes] [sync offset+size=${offPlusSize}]`);
    }
    if (e.dir === 0) return;
    if (ref.dir !== e.dir) {
      this.report(dev, "sync-wrong-direction", `device driver syncs DMA memory with different direction [device address=${hex16(ref.dmaAddr)}] [size=${e.size} bytes] [mapped with ${dirName(e.dir)}] [synced with ${dirName(ref.dir)}]`);
    }
    if (ref.toCpu && e.dir !== 2 && ref.dir !== 1) {
      this.report(dev, "sync-readonly-for-cpu", `device driver syncs device read-only DMA memory for cpu [device address=${hex16(ref.dmaAddr)}] [size=${e.size} bytes] [mapped with ${dirName(e.dir)}] [synced with ${dirName(ref.dir)}]`);
    }
    if (!ref.toCpu && e.dir !== 1 && ref.dir !== 2) {
      this.report(dev, "sync-writeonly-for-device", `device driver syncs device write-only DMA memory to device [device address=${hex16(ref.dmaAddr)}] [size=${e.size} bytes] [mapped with ${dirName(e.dir)}] [synced with ${dirName(ref.dir)}]`);
    }
  }

  /** Our addition: the CPU touched a buffer while the device owns it. */
  cpuAccessWhileDeviceOwns(dev: DebugDevice, access: "reads" | "writes", paddr: number, dmaAddr: number, size: number, dir: number): void {
    this.report(
      dev,
      "cpu-access-device-owned",
      `CPU ${access} DMA memory the device owns (no dma_sync_*_for_cpu / unmap since the map) [phys=${hex(paddr)}] [device address=${hex16(dmaAddr)}] [size=${size} bytes] [mapped with ${dirName(dir)}] (model check, not in kernel/dma/debug.c)`,
      true,
    );
  }

  /** The active entries (copies), as debug_dma_dump_mappings lists them. */
  dump(): DebugEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }
}

function hex16(x: number): string {
  return "0x" + x.toString(16).padStart(16, "0");
}

/**
 * What turning the checker on needs of a machine: its trace, line size and
 * release, and the typed field that holds its checker (lib/platform/machine.ts
 * `dmaDebug`, null while CONFIG_DMA_API_DEBUG is off).
 */
export interface DebugHost {
  readonly trace: Trace;
  readonly kernel: { readonly name: string };
  readonly profile: { readonly cpuCache: { readonly lineSize: number } };
  dmaDebug: DmaDebug | null;
}

/**
 * Turn on the dma-debug checker for a machine (CONFIG_DMA_API_DEBUG); a
 * second call replaces the checker with a fresh one.
 * @returns the checker, whose `reports` collect every message.
 */
export function enableDmaDebug(machine: DebugHost, opts: { strict?: boolean } = {}): DmaDebug {
  machine.dmaDebug = new DmaDebug(machine.trace, { strict: opts.strict ?? false, lineSize: machine.profile.cpuCache.lineSize, kernel: machine.kernel.name });
  return machine.dmaDebug;
}

/** The machine's checker, or null when dma-debug is off. */
export function dmaDebugOf(machine: DebugHost): DmaDebug | null {
  return machine.dmaDebug;
}

/**
 * Facts dma-debug's debug_dma_map_single needs about a pointer: whether it
 * is in vmalloc space, a valid linear-map address (virt_addr_valid), on a
 * task stack. Model-side input of the checker: the kernel computes them
 * inside debug_dma_map_single (is_vmalloc_addr, virt_addr_valid,
 * object_is_on_stack).
 */
export function pointerFacts(machine: LayoutHost & { readonly mm: MemoryModel }, va: number): { vmalloc: boolean; validLinear: boolean; onStack: boolean; vaText: string } {
  const l = kernelLayout(machine);
  const vmalloc = inVmallocRange(l, va);
  const linear = isLinearMapAddr(machine, va);
  const pa = linear ? virtToPhys(machine, va) : -1;
  const validLinear = linear && machine.mm.isRam(pa);
  return { vmalloc, validLinear, onStack: validLinear && isStackPhys(machine, pa), vaText: machine.mm.fmtVa(va) };
}
