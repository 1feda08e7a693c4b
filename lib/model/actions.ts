/**
 * MODEL-ONLY: the actions a notebook or test uses to act out a driver and
 * its device, which the kernel has no function for. Not kernel code, and
 * nothing in lib/dma or lib/iommu calls it:
 * - the device side: {@link deviceRead} / {@link deviceWrite} (routed to
 *   iommu-dma's page-table walk, lib/iommu/dma-iommu.ts iommuDeviceRead /
 *   iommuDeviceWrite, for a device behind an IOMMU DMA domain, else to
 *   {@link dmaDirectDeviceRead} / {@link dmaDirectDeviceWrite} over the
 *   machine's active dma-direct mappings);
 * - the CPU side: {@link cpuRead} / {@link cpuWrite} at a kernel virtual
 *   address, through the CPU cache model, with dma-debug's ownership check
 *   (a CPU access to a buffer the device owns) when the checker is on.
 * After each action the CPU cache takes one seeded speculation step. The
 * costs charged are the profile's cachedByteNs / uncachedByteNs per byte.
 */
import type { DmaAddr, VirtAddr } from "../core/addr.js";
import { hex } from "../core/arith.js";
import { checkIntArg } from "../core/arg-checks.js";
import { ModelConfigError } from "../core/errors.js";
import type { Device } from "../platform/device.js";
import type { MappingAttr, TokenRun } from "../cache/model.js";
import { dmaMachineOf, mappingContaining, step, streamingOf, type ActiveMapping, type DmaMachine, type DmaStreamingState } from "../dma/state.js";
import { iommuDeviceRead, iommuDeviceWrite } from "../iommu/dma-iommu.js";

function mappingForRange(s: DmaStreamingState, dev: Device, dmaAddr: number, size: number, fn: string): ActiveMapping {
  checkIntArg(fn, "dmaAddr", dmaAddr);
  checkIntArg(fn, "size", size, 1);
  const rec = mappingContaining(s, dev, dmaAddr, size);
  if (!rec) {
    const mine = [...s.mappings].filter((x) => x.dev === dev).map((x) => `${hex(x.dmaAddr)}+${x.size}`);
    throw new ModelConfigError(`${fn}(dmaAddr, size)`, `${hex(dmaAddr)}+${size}`, `a range inside an active mapping of ${dev.name} (${mine.join(", ") || "none"})`);
  }
  return rec;
}

/**
 * dma-direct device side (use {@link deviceRead}, which also
 * handles devices behind an IOMMU): the device reads `size` bytes at DMA
 * address `dmaAddr` (inside one of its active mappings). A coherent device snoops; a non-coherent one reads
 * memory (and a newer dirty CPU line is a "device_read_stale" hazard).
 * @returns the tokens the device got, as runs of physical bytes.
 * @throws ModelConfigError for a range outside every active mapping of the device (nothing changes).
 */
function dmaDirectDeviceRead(dev: Device, dmaAddr: DmaAddr | number, size: number): TokenRun[] {
  const m = dmaMachineOf(dev);
  const s = streamingOf(m);
  const rec = mappingForRange(s, dev, dmaAddr, size, "deviceRead");
  const paddr = rec.paddr + (dmaAddr - rec.dmaAddr);
  const runs = m.cpuCache.deviceRead(paddr, size, dev.dmaCoherent);
  if (!m.trace.detailed) m.trace.recordBare("device", "device_read");
  else m.trace.record({ fn: "device", kind: "device_read", msg: `${dev.name} reads ${size} bytes at ${hex(dmaAddr)} (phys ${hex(paddr)}): ${runs.map((r) => r.label).join(", ")}`, data: { dmaAddr, paddr, size } });
  step(m, "during DMA");
  return runs;
}

/**
 * dma-direct device side (use {@link deviceWrite}): the
 * device writes `size` bytes at `dmaAddr` (inside one of its active
 * mappings): memory gets a new "dev:n" token; a coherent device's write
 * also invalidates cached copies.
 * @returns the new token's label ("dev:3").
 * @throws ModelConfigError for a range outside every active mapping of the device (nothing changes).
 */
function dmaDirectDeviceWrite(dev: Device, dmaAddr: DmaAddr | number, size: number): string {
  const m = dmaMachineOf(dev);
  const s = streamingOf(m);
  const rec = mappingForRange(s, dev, dmaAddr, size, "deviceWrite");
  const paddr = rec.paddr + (dmaAddr - rec.dmaAddr);
  const t = m.cpuCache.deviceWrite(paddr, size, dev.dmaCoherent);
  const lbl = m.cpuCache.label(t);
  if (!m.trace.detailed) m.trace.recordBare("device", "device_write");
  else m.trace.record({ fn: "device", kind: "device_write", msg: `${dev.name} writes ${size} bytes at ${hex(dmaAddr)} (phys ${hex(paddr)}) as ${lbl}${rec.dir === 1 ? " (the mapping is DMA_TO_DEVICE)" : ""}`, data: { dmaAddr, paddr, size, token: lbl } });
  step(m, "during DMA");
  return lbl;
}

/** One physically contiguous piece of a CPU access. */
interface CpuPiece {
  pa: number;
  len: number;
  va: number;
  attr: MappingAttr;
}

function resolveVa(m: DmaMachine, va: number, size: number, fn: string): CpuPiece[] {
  checkIntArg(fn, "va", va);
  checkIntArg(fn, "size", size, 1);
  const page = m.profile.pageSize;
  const pieces: CpuPiece[] = [];
  let cur = va;
  const end = va + size;
  while (cur < end) {
    const t = m.mm.translate(cur as VirtAddr);
    if (!t) throw new ModelConfigError(`${fn}(va)`, m.mm.fmtVa(cur), "a mapped kernel virtual address (linear map or a live vmalloc/vmap/ioremap area)");
    const attr: MappingAttr = t.prot === "normal" ? "cacheable" : t.prot === "wc" ? "write-combine" : t.prot === "device" ? "device" : "uncached";
    const n = t.area === null ? end - cur : Math.min(end - cur, page - (cur % page));
    pieces.push({ pa: t.pa, len: n, va: cur, attr });
    cur += n;
  }
  return pieces;
}

function checkOwnership(m: DmaMachine, s: DmaStreamingState, pieces: CpuPiece[], access: "reads" | "writes"): void {
  const dbg = m.dmaDebug;
  if (!dbg) return;
  for (const p of pieces) {
    for (const x of s.mappings) {
      if (x.owner === "device" && p.pa < x.origPaddr + x.size && x.origPaddr < p.pa + p.len) {
        dbg.cpuAccessWhileDeviceOwns(x.dev, access, Math.max(p.pa, x.origPaddr), x.dmaAddr, x.size, x.dir);
      }
    }
  }
}

/**
 * The CPU reads `size` bytes at kernel virtual address `va` (linear map:
 * cacheable; vmalloc/ioremap areas: their protection).
 * @returns the tokens seen, as runs of physical bytes.
 * @throws ModelConfigError for an unmapped address (nothing changes).
 */
export function cpuRead(machine: DmaMachine, va: VirtAddr | number, size: number): TokenRun[] {
  const pieces = resolveVa(machine, va, size, "cpuRead");
  const s = streamingOf(machine);
  checkOwnership(machine, s, pieces, "reads");
  const runs: TokenRun[] = [];
  let cost = 0;
  for (const p of pieces) {
    runs.push(...machine.cpuCache.cpuRead(p.pa, p.len, { va: p.va, attr: p.attr }));
    cost += p.len * (p.attr === "cacheable" ? machine.costs.cachedByteNs : machine.costs.uncachedByteNs);
  }
  if (!machine.trace.detailed) machine.trace.recordBare("cpu", "cpu_read", cost);
  else machine.trace.record({ fn: "cpu", kind: "cpu_read", msg: `CPU reads ${size} bytes at ${machine.mm.fmtVa(va)}: ${runs.map((r) => r.label).join(", ")}`, costNs: cost, data: { va, paddr: pieces[0]!.pa, size } });
  step(machine, "after a CPU read");
  return runs;
}

/**
 * The CPU writes `size` bytes at `va`: cacheable lines become dirty with a
 * new "cpu:n" token; other mappings write memory.
 * @returns the new token's label.
 * @throws ModelConfigError for an unmapped address (nothing changes).
 */
export function cpuWrite(machine: DmaMachine, va: VirtAddr | number, size: number): string {
  const pieces = resolveVa(machine, va, size, "cpuWrite");
  const s = streamingOf(machine);
  checkOwnership(machine, s, pieces, "writes");
  let lbl = "";
  let cost = 0;
  for (const p of pieces) {
    lbl = machine.cpuCache.label(machine.cpuCache.cpuWrite(p.pa, p.len, { va: p.va, attr: p.attr }));
    cost += p.len * (p.attr === "cacheable" ? machine.costs.cachedByteNs : machine.costs.uncachedByteNs);
  }
  if (!machine.trace.detailed) machine.trace.recordBare("cpu", "cpu_write", cost);
  else machine.trace.record({ fn: "cpu", kind: "cpu_write", msg: `CPU writes ${size} bytes at ${machine.mm.fmtVa(va)} as ${lbl}`, costNs: cost, data: { va, paddr: pieces[0]!.pa, size, token: lbl } });
  step(machine, "after a CPU write");
  return lbl;
}

function behindIommuDma(dev: Device): boolean {
  return !!dev.iommuDomain && dev.iommuDomain.type === "DMA";
}

/**
 * The device reads `size` bytes at DMA address `dmaAddr`. For a device
 * behind an IOMMU DMA domain the IOVA is translated through the domain's
 * page table (an unmapped IOVA is an IOMMU fault event and the device gets
 * nothing: []); otherwise the address must lie in one of the device's
 * dma-direct mappings. A coherent device snoops the CPU cache; a
 * non-coherent one reads memory.
 * @returns the tokens the device got, as runs of physical bytes.
 * @throws ModelConfigError (dma-direct) for a range outside every active mapping.
 */
export function deviceRead(dev: Device, dmaAddr: DmaAddr | number, size: number): TokenRun[] {
  if (behindIommuDma(dev)) return iommuDeviceRead(dev, dmaAddr, size) ?? [];
  return dmaDirectDeviceRead(dev, dmaAddr, size);
}

/**
 * The device writes `size` bytes at DMA address `dmaAddr`, routed like
 * {@link deviceRead}. An IOMMU fault writes nothing and returns "".
 * @returns the label of the new device token ("dev:3"), or "" after an IOMMU fault.
 * @throws ModelConfigError (dma-direct) for a range outside every active mapping.
 */
export function deviceWrite(dev: Device, dmaAddr: DmaAddr | number, size: number): string {
  if (behindIommuDma(dev)) return iommuDeviceWrite(dev, dmaAddr, size) ?? "";
  return dmaDirectDeviceWrite(dev, dmaAddr, size);
}
