/**
 * Case 00, the tour: the streaming DMA contract acted out by one small
 * driver. A receive buffer the device fills and a transmit buffer the CPU
 * fills, mapped with dma_map_single, synced (or not) and unmapped, on any
 * platform profile. The result carries what the CPU and the device saw,
 * the hazards the cache model found, the dma-debug report, per-line states
 * after every step (for the chart) and the modelled cost of each call.
 *
 * The driver (our own sketch of a NIC/USB receive path, not a kernel driver):
 * RX: the CPU has touched the buffer before (previous packet); map
 * DMA_FROM_DEVICE; [CPU updates a stats field]; the device writes the packet
 * in two bursts; [dma_sync_single_for_cpu]; the CPU reads the packet;
 * [dma_unmap_single].
 * TX: the CPU fills the buffer; map DMA_TO_DEVICE; [the CPU patches the
 * header after the map]; [dma_sync_single_for_device]; the device reads;
 * unmap.
 */
import type { VirtAddr } from "../core/addr.js";
import { ModelConfigError } from "../core/errors.js";
import { alignDown, checkInt, hex } from "../core/arith.js";
import type { Hazard } from "../cache/model.js";
import { DMA_FROM_DEVICE, DMA_TO_DEVICE } from "../core/dma-types.js";
import { loadCosts } from "../cost/schema.js";
import { enableDmaDebug } from "../dma/debug.js";
import { cpuRead, cpuWrite, deviceRead, deviceWrite } from "../model/actions.js";
import { dmaMapSingle, dmaMappingErrorFor, dmaSyncSingleForCpu, dmaSyncSingleForDevice, dmaUnmapSingle } from "../dma/mapping.js";
import { kmalloc } from "../mm/slab.js";
import { virtToPhys } from "../mm/linear-map.js";
import { createMachine, type Machine } from "../platform/machine.js";
import type { Device } from "../platform/device.js";
import { listPlatformProfiles } from "../platform/profile.js";
import { parseScenarioParams, zBool, zInt, zKernel, zSeed } from "./params.js";
import { z } from "zod";

/** Parameters of the tour. */
export interface TourParams {
  /** Platform profile id (data/platforms). */
  platform: string;
  /** Kernel release; default the profile's. */
  kernel?: string;
  /** Device name; default the profile's first non-IOMMU device. */
  device?: string;
  /** Size of each buffer, bytes (1..65536). */
  bufferSize: number;
  /** Offset of the RX buffer inside its kmalloc object, bytes (0..4096): a non-zero offset makes it share its first cache line. */
  offset: number;
  /** Which sync calls the driver makes. */
  syncs: {
    /** dma_sync_single_for_cpu before the CPU reads the received packet. */
    rxSyncForCpu: boolean;
    /** dma_unmap_single of the RX buffer at the end. */
    rxUnmap: boolean;
    /** dma_sync_single_for_device after patching the TX header post-map. */
    txSyncForDevice: boolean;
  };
  /** The CPU writes a stats field in the same cache line as the RX buffer while the device owns it. */
  sharedLine: boolean;
  /** The CPU patches the TX header after dma_map_single. */
  txLateWrite: boolean;
  /** Seed of the speculative fills and evictions. */
  seed: number;
  /** Probability of a speculative line fill per step, [0, 1]. */
  specFillProb: number;
}

/** Defaults: a correct driver on the BeagleBone Black. */
export const TOUR_DEFAULTS: TourParams = {
  platform: "am335x-beaglebone-black",
  bufferSize: 1536,
  offset: 0,
  syncs: { rxSyncForCpu: true, rxUnmap: true, txSyncForDevice: true },
  sharedLine: false,
  txLateWrite: false,
  seed: 1,
  specFillProb: 0.5,
};

/**
 * The driver's sync and unmap calls the tour can leave out, each a boolean
 * (true: the call is made); TOUR_PARAMS takes any of them (partial), notebook
 * 00's parameters cell all three (lib/scenarios/live/00.ts).
 */
export const TOUR_SYNCS = z
  .object({
    rxSyncForCpu: zBool("dma_sync_single_for_cpu before the CPU reads"),
    rxUnmap: zBool("dma_unmap_single of the RX buffer"),
    txSyncForDevice: zBool("dma_sync_single_for_device after the late TX write"),
  })
  .strict();

/**
 * The tour's parameters: types and ranges (lib/scenarios/params.ts). Every
 * field is optional; {@link TOUR_DEFAULTS} fills the rest.
 */
export const TOUR_PARAMS = z
  .object({
    platform: z.string().min(1).describe("a platform profile id: the name of a file in data/platforms without .json"),
    kernel: zKernel.optional(),
    device: z.string().min(1).describe("a device name of the platform profile (data/platforms/<platform>.json, devices[].name)").optional(),
    bufferSize: zInt(1, 65536, "bytes per buffer"),
    offset: zInt(0, 4096, "byte offset of the RX buffer inside its kmalloc object"),
    syncs: TOUR_SYNCS.partial(),
    sharedLine: zBool("the CPU writes a field in the RX buffer's cache line"),
    txLateWrite: zBool("the CPU patches the TX header after mapping"),
    seed: zSeed,
    specFillProb: z.number().min(0).max(1).describe("probability of a speculative line fill per step: a number in [0, 1]"),
  })
  .strict()
  .partial();

/** One step of the driver. */
export interface TourStep {
  readonly step: number;
  /** What happened, in kernel terms. */
  readonly label: string;
  /** Modelled cost of the step, ns. */
  readonly costNs: number;
}

/** One cell of the line-state chart. */
export interface TourLineCell {
  readonly step: number;
  readonly stepLabel: string;
  /** Line address, hex. */
  readonly line: string;
  readonly view: "CPU cache" | "memory" | "device view";
  /** Token label ("init", "cpu:2", "dev:1") or "-" for a line not cached. */
  readonly token: string;
  /** Who wrote it: init / cpu / dev / none; "dirty" marks a dirty CPU line. */
  readonly who: string;
}

/** What a tour run returns. */
export interface TourResult {
  readonly params: TourParams;
  readonly platform: string;
  readonly kernel: string;
  readonly device: string;
  readonly coherent: boolean;
  readonly lineSize: number;
  readonly rxVa: string;
  readonly rxPhys: number;
  readonly steps: TourStep[];
  readonly cells: TourLineCell[];
  /** Token labels the CPU read from the RX buffer. */
  readonly rxSeen: string[];
  /** Token labels the device read from the TX buffer. */
  readonly txSeenByDevice: string[];
  readonly rxOk: boolean;
  readonly txOk: boolean;
  readonly hazards: Hazard[];
  /** The hazards placed on the line-state chart: the step whose events include the hazard, and each affected line (hex, as in `cells`). */
  readonly hazardCells: Array<{ step: number; line: string; kind: string }>;
  readonly checker: string[];
  /** Cost per API call, ns: one row per call. */
  readonly callCosts: Array<{ call: string; ns: number }>;
}

function pickDevice(m: Machine, name?: string): Device {
  if (name) return m.device(name);
  for (const d of m.profile.devices) if (!d.iommu) return m.device(d.name);
  throw new ModelConfigError("device", undefined, `a device without an IOMMU in ${m.profile.id}`);
}

/**
 * Run the tour's driver once.
 * @throws ModelConfigError for a bad parameter (unknown platform, size or
 * offset out of range), before anything runs.
 */
export function runTour(p: Partial<TourParams> = {}): TourResult {
  parseScenarioParams(TOUR_PARAMS, p, "runTour");
  const params: TourParams = { ...TOUR_DEFAULTS, ...p, syncs: { ...TOUR_DEFAULTS.syncs, ...(p.syncs ?? {}) } };
  const platforms = listPlatformProfiles();
  if (!platforms.includes(params.platform)) throw new ModelConfigError("platform", params.platform, `one of ${platforms.join(", ")} (the profiles in data/platforms)`);
  const m = createMachine(params.platform, { seed: params.seed, ...(params.kernel ? { kernel: params.kernel } : {}) });
  const dev = pickDevice(m, params.device);
  const cache = m.cpuCache;
  cache.specFillProb = params.specFillProb;
  const dbg = enableDmaDebug(m);
  const S = params.bufferSize;
  const L = cache.lineSize;

  // Allocation: the RX object holds [offset bytes of header][S bytes buffer][stats field].
  const rxObj = kmalloc(m, params.offset + S + 8)!;
  const txObj = kmalloc(m, S)!;
  const rx = (rxObj + params.offset) as VirtAddr;
  const rxPa = virtToPhys(m, rx);
  // The stats field: in the line shared with the buffer's end if there is one, else with its start, else the next line.
  const endPa = rxPa + S;
  const fieldVa = (endPa % L !== 0 ? rx + S : params.offset >= 4 ? rx - 4 : rx + S) as VirtAddr;

  const steps: TourStep[] = [];
  /** Trace sequence number of each step's first event (the step covers [stepFrom[i], stepFrom[i+1])). */
  const stepFrom: number[] = [];
  const cells: TourLineCell[] = [];
  const firstLine = Math.floor(Math.min(rxPa, virtToPhys(m, fieldVa)) / L) * L;
  const lastEnd = Math.ceil(Math.max(endPa, virtToPhys(m, fieldVa) + 4) / L) * L;
  const shownLines = Math.min((lastEnd - firstLine) / L, 64);
  const record = (label: string, fromSeq: number) => {
    const step = steps.length;
    stepFrom.push(fromSeq);
    steps.push({ step, label, costNs: m.trace.costSince(fromSeq) });
    const st = cache.lineStates(firstLine, shownLines * L, { va: m.mm.linearAddress(firstLine), coherent: dev.dmaCoherent });
    for (const s of st) {
      const line = hex(s.paddr);
      cells.push({ step, stepLabel: `${step}. ${label}`, line, view: "CPU cache", token: s.cpu ?? "-", who: s.cpu === null ? "none" : s.dirty ? "dirty" : whoOf(s.cpu) });
      cells.push({ step, stepLabel: `${step}. ${label}`, line, view: "memory", token: s.memory, who: whoOf(s.memory) });
      cells.push({ step, stepLabel: `${step}. ${label}`, line, view: "device view", token: s.deviceView, who: whoOf(s.deviceView) });
    }
  };
  const callCosts: Array<{ call: string; ns: number }> = [];
  const act = <T>(label: string, f: () => T, isCall = false): T => {
    const from = m.trace.length;
    const r = f();
    record(label, from);
    if (isCall) callCosts.push({ call: label.replace(/\((rx|tx).*\)$/, " $1"), ns: m.trace.costSince(from) });
    return r;
  };

  // ---- RX ----
  act("CPU reads rx (previous packet)", () => cpuRead(m, rx, S));
  const rxDma = act("dma_map_single(rx, DMA_FROM_DEVICE)", () => dmaMapSingle(dev, rx, S, DMA_FROM_DEVICE), true);
  const rxMapped = !dmaMappingErrorFor(dev, rxDma);
  let rxSeen: string[] = [];
  if (rxMapped) {
    if (params.sharedLine) act("CPU writes rx_stats (same line)", () => cpuWrite(m, fieldVa, 4));
    const half = Math.max(1, Math.floor(S / 2));
    act("device writes packet, burst 1", () => deviceWrite(dev, rxDma, half));
    if (S - half > 0) act("device writes packet, burst 2", () => deviceWrite(dev, rxDma + half, S - half));
    if (params.syncs.rxSyncForCpu) act("dma_sync_single_for_cpu(rx)", () => dmaSyncSingleForCpu(dev, rxDma, S, DMA_FROM_DEVICE), true);
    rxSeen = act("CPU reads the packet", () => cpuRead(m, rx, S)).map((r) => r.label);
    if (params.syncs.rxUnmap) act("dma_unmap_single(rx)", () => dmaUnmapSingle(dev, rxDma, S, DMA_FROM_DEVICE), true);
  }
  // ---- TX ----
  const txPayload = act("CPU fills tx", () => cpuWrite(m, txObj, S));
  const txDma = act("dma_map_single(tx, DMA_TO_DEVICE)", () => dmaMapSingle(dev, txObj, S, DMA_TO_DEVICE), true);
  let txSeen: string[] = [];
  let txExpect = txPayload;
  if (!dmaMappingErrorFor(dev, txDma)) {
    if (params.txLateWrite) txExpect = act("CPU patches tx header after map", () => cpuWrite(m, txObj, Math.min(S, 64)));
    if (params.syncs.txSyncForDevice && params.txLateWrite) act("dma_sync_single_for_device(tx)", () => dmaSyncSingleForDevice(dev, txDma, S, DMA_TO_DEVICE), true);
    txSeen = act("device reads tx", () => deviceRead(dev, txDma, S)).map((r) => r.label);
    act("dma_unmap_single(tx)", () => dmaUnmapSingle(dev, txDma, S, DMA_TO_DEVICE), true);
  }
  const devTokens = m.trace.ofKind("device_write").map((e) => String(e.data["token"]));
  const rxOk = rxMapped && rxSeen.length > 0 && rxSeen.every((t) => devTokens.includes(t));
  const txOk = txSeen.length > 0 && (params.txLateWrite ? txSeen.includes(txExpect) && txSeen.every((t) => t === txExpect || t === txPayload) : txSeen.every((t) => t === txPayload));
  const hazards = cache.hazards.slice();
  const hazardCells: Array<{ step: number; line: string; kind: string }> = [];
  for (const h of hazards) {
    let step = -1;
    for (let i = 0; i < stepFrom.length; i++) if (stepFrom[i]! <= h.seq) step = i;
    if (step < 0) continue;
    for (let k = 0; k < h.lines; k++) hazardCells.push({ step, line: hex(h.paddr + k * L), kind: h.kind });
  }
  return {
    params,
    platform: m.profile.id,
    kernel: m.kernel.name,
    device: dev.name,
    coherent: dev.dmaCoherent,
    lineSize: L,
    rxVa: m.mm.fmtVa(rx),
    rxPhys: rxPa,
    steps,
    cells,
    rxSeen,
    txSeenByDevice: txSeen,
    rxOk,
    txOk,
    hazards,
    hazardCells,
    checker: dbg.reports.map((r) => r.message),
    callCosts,
  };
}

function whoOf(label: string): string {
  return label.startsWith("cpu") ? "cpu" : label.startsWith("dev") ? "dev" : "init";
}

/** One row of the per-platform cost table. */
export interface TourCostRow {
  readonly platform: string;
  readonly call: string;
  readonly ns: number;
  /** True when the figure rests on estimated parameters (see data/costs). */
  readonly estimate: boolean;
}

/**
 * The correct driver on each platform: the cost of each DMA API call and of
 * the CPU's read of the packet, ns.
 * @throws ModelConfigError for an unknown platform or a bad size.
 */
export function tourCosts(platforms: string[], bufferSize = 1536, seed = 1): TourCostRow[] {
  const rows: TourCostRow[] = [];
  for (const platform of platforms) {
    const r = runTour({ platform, bufferSize, seed, specFillProb: 0 });
    const m = createMachine(platform);
    const costs = m.profile.costs ? loadCosts(m.profile.costs).params : null;
    const callEst = !costs || costs.mapCallNs.estimate || costs.lineInvalidateNs.estimate;
    for (const c of r.callCosts) rows.push({ platform, call: c.call, ns: Math.round(c.ns), estimate: callEst });
    const read = r.steps.find((s) => s.label === "CPU reads the packet");
    if (read) rows.push({ platform, call: "CPU reads the packet", ns: Math.round(read.costNs), estimate: !costs || costs.cachedByteNs.estimate });
  }
  return rows;
}

/**
 * The end of the RX buffer for the line-state chart: `sharedLine` is the
 * cache line holding the buffer's last bytes (ALIGN_DOWN(rxPhys +
 * bufferSize, lineSize); in the shared-line variant the CPU's counter sits
 * right after the buffer in that same line), and `cells` are the chart cells
 * of that line and the `linesBefore` lines below it.
 * @throws ModelConfigError for linesBefore outside [0, 64].
 */
export function tourTailCells(r: TourResult, linesBefore = 3): { sharedLine: number; cells: TourLineCell[] } {
  checkInt("linesBefore", linesBefore, 0, 64);
  const sharedLine = alignDown(r.rxPhys + r.params.bufferSize, r.lineSize);
  const first = sharedLine - linesBefore * r.lineSize;
  return { sharedLine, cells: r.cells.filter((c) => parseInt(c.line, 16) >= first) };
}


/**
 * The chart cells of the lines around the hazards of a run: every line
 * within `around` lines of a line in {@link TourResult.hazardCells} (for a
 * short picture of where the hazard happens); all cells when the run has no
 * hazard on the RX lines.
 * @throws ModelConfigError for `around` outside [0, 64].
 */
export function tourCellsAround(r: TourResult, around = 2): TourLineCell[] {
  checkInt("around", around, 0, 64);
  const hazardLines = r.hazardCells.map((h) => parseInt(h.line, 16));
  const near = (line: string) => hazardLines.some((h) => Math.abs(parseInt(line, 16) - h) <= around * r.lineSize);
  const cells = r.cells.filter((c) => near(c.line));
  return cells.length ? cells : r.cells;
}

/** One cell of the outcome chart: a driver variant on a platform and what went wrong. */
export interface TourOutcome {
  readonly variant: string;
  readonly platform: string;
  /** "correct" when the CPU and the device each read the other's data and no hazard was found, else the hazard kinds (e.g. "stale_read, lost_write"). */
  readonly outcome: string;
}

/** The outcome of a run for {@link TourOutcome}: "correct", or its hazard kinds in order of first occurrence. */
export function tourOutcome(variant: string, r: TourResult): TourOutcome {
  const kinds = [...new Set(r.hazards.map((h) => h.kind))];
  return { variant, platform: r.platform, outcome: kinds.length ? kinds.join(", ") : r.rxOk && r.txOk ? "correct" : "wrong data" };
}
