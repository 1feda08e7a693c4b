/**
 * Case 06: what does a DMA mapping cost, on which machine, with which
 * backend?
 *
 * Two model workloads on three platforms (data/platforms: x86-64 with
 * VT-d, an arm64 server with SMMUv3, MediaTek MT8173 with its M4U), each
 * run through the model's real DMA API calls (lib/dma/mapping.ts) with one
 * of four backends: dma-direct, swiotlb bounce (swiotlb=force), iommu-dma
 * strict, iommu-dma lazy (flush queue):
 *
 * - {@link dmaMapBenchmark}: the kernel's DMA map benchmark
 *   (kernel/dma/map_benchmark.c, v5.11+; granule from v5.14: absent in
 *   5.12.9 zhangyinjun/linux-5.12.9, present in 5.14.2
 *   Kingdo777/linux-5.14.2-faascale-host; read in v6.19
 *   matankalina/linux-6.19.10-fork): `threads` kthreads each map and unmap
 *   `granule` pages with dma_map_single / dma_unmap_single in a loop for
 *   `seconds`; each latency is taken in whole 100 ns units (div64_ul by
 *   100), summed with its square, and the result is the average
 *   (sum / loops) and the standard deviation int_sqrt64(sum_sq / loops -
 *   avg^2), all integer divisions, in 100 ns units as the ioctl returns
 *   them. Here the threads run on the machine's CPUs round-robin on a
 *   simulated clock, and a latency is the model's charged cost of the call
 *   (lib/cost/dma-op.ts); the kernel's `memset` of the buffer before a
 *   non-FROM_DEVICE map is not modelled, and nothing models lock or
 *   command-queue contention between CPUs.
 * - {@link runCase06}: a device's steady stream of buffers (a NIC
 *   receiving 1500-byte packets, a storage device doing 4 KiB or 128 KiB
 *   reads, a camera streaming 4 MiB frames): a ring of `inflight` buffers
 *   kept mapped; each operation completes the oldest (the device writes it,
 *   then dma_unmap_page) and maps the next (dma_map_page). Output: cost per
 *   operation by component, IOVA space over time, IOTLB hits and misses.
 *
 * Counts come from the model: the trace (call costs the DMA code charged:
 * mapCallNs, cache maintenance, swiotlb copies) and the IOMMU domain
 * (page-table counters in lib/iommu/io-pgtable.ts). Costs are those counts
 * at the platform's figures (data/costs/<id>.json).
 */
import { z } from "zod";
import type { DmaAddr } from "../core/addr.js";
import { checkInt, fmtSize } from "../core/arith.js";
import { DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE } from "../core/dma-types.js";
import { ModelConfigError } from "../core/errors.js";
import { addDmaOpCounts, chargeDmaOp, DMA_COST_COMPONENTS, emptyDmaOpCounts, type DmaCostBreakdown, type DmaOpCounts } from "../cost/dma-op.js";
import { loadCosts, type CostValues } from "../cost/schema.js";
import { dmaMapPage, dmaMappingErrorFor, dmaUnmapPage, useDmaIommu } from "../dma/mapping.js";
import type { IommuDomain } from "../iommu/domain.js";
import { iommuDeviceWrite, IOVA_RANGE_CACHE_MAX_SIZE } from "../iommu/dma-iommu.js";
import { iommuDomainCounters, iommuDomainStrict, type IommuDomainCounters } from "../iommu/domain.js";
import { iovaRanges, iovaSize } from "../iommu/iova.js";
import { GFP_KERNEL } from "../mm/gfp.js";
import { allocPages } from "../mm/page-alloc.js";
import type { Device } from "../platform/device.js";
import { createMachine, machineAdvanceTime, type Machine } from "../platform/machine.js";
import { loadPlatformProfile, type PlatformProfile } from "../platform/profile.js";
import { parseScenarioParams, zInt, zKernel, zOneOf, zSeed } from "./params.js";
import { costBreakdownChartSpec, iovaOverTimeChartSpec, mapBenchmarkChartSpec, type BenchmarkRow, type CostBarRow, type IovaSampleRow, iotlbMissChartSpec, type IotlbBarRow } from "../viz/mapping-cost.js";
import type { VlSpec } from "../viz/types.js";

/** The platforms of case 06 (data/platforms ids) and the device each workload drives. */
export const CASE06_PLATFORMS = ["x86-64-pc-8g-vtd", "arm64-server", "mt8173-evb"] as const;
export type Case06Platform = (typeof CASE06_PLATFORMS)[number];
const DEVICE_OF: Record<Case06Platform, string> = {
  "x86-64-pc-8g-vtd": "0000:03:00.0",
  "arm64-server": "0000:02:00.0",
  "mt8173-evb": "16020000.vcodec",
};

/** The DMA backends compared. */
export const CASE06_BACKENDS = ["dma-direct", "swiotlb", "iommu-strict", "iommu-lazy"] as const;

/** One workload's shape: buffer size, direction, ring depth, and the interval between operations. */
export interface Case06WorkloadSpec {
  label: string;
  /** Bytes mapped per buffer. */
  size: number;
  /** DMA_FROM_DEVICE etc. (lib/core/dma-types.ts). */
  dir: number;
  /** Buffers kept mapped at once (an RX ring, a queue depth, a vb2 queue). */
  inflight: number;
  /** Simulated time between two operations, ns (the arrival rate). */
  gapNs: number;
  /** Operations the notebook runs by default. */
  ops: number;
}

/**
 * The workloads: a NIC's RX ring of 256 page buffers receiving 1500-byte
 * frames at 10 Gb/s (1538 bytes on the wire = 1230 ns each); a storage
 * queue of depth 32 doing 4 KiB reads at 100k IOPS or 128 KiB reads at
 * 20k IOPS; a camera with 4 buffers of 4 MiB at 30 frames/s.
 */
export const CASE06_WORKLOADS: Record<"nic-rx" | "storage-4k" | "storage-128k" | "camera-4m", Case06WorkloadSpec> = {
  "nic-rx": { label: "NIC RX, 1500 B", size: 1500, dir: DMA_FROM_DEVICE, inflight: 256, gapNs: 1230, ops: 1024 },
  "storage-4k": { label: "storage 4 KiB reads", size: 4096, dir: DMA_FROM_DEVICE, inflight: 32, gapNs: 10000, ops: 512 },
  "storage-128k": { label: "storage 128 KiB reads", size: 131072, dir: DMA_FROM_DEVICE, inflight: 32, gapNs: 50000, ops: 256 },
  "camera-4m": { label: "camera 4 MiB frames", size: 4 * 1048576, dir: DMA_FROM_DEVICE, inflight: 4, gapNs: 33333333, ops: 24 },
};
export type Case06Workload = keyof typeof CASE06_WORKLOADS;
const WORKLOAD_IDS = Object.keys(CASE06_WORKLOADS) as [Case06Workload, ...Case06Workload[]];

// --- machines

/**
 * A machine for one platform, release and backend, and the workload's device.
 * dma-direct and swiotlb: the device is taken out of its IOMMU (as with
 * iommu.passthrough or no IOMMU at all); swiotlb adds swiotlb=force. The
 * iommu backends keep the device in its DMA domain, booted with
 * iommu.strict=1 or iommu.strict=0 (MachineOptions.iommu; where the release
 * or the IOMMU driver has no flush queue, as the M4U, iommu.strict=0 is
 * ignored and the domain stays strict, as in the kernel). PCI devices get a
 * 64-bit mask (a NIC, an NVMe drive), so dma-direct needs no bounce;
 * `dmaBits` overrides it (dma_map_benchmark's dma_bits).
 * @throws ModelConfigError for an unknown platform or backend, or a dmaBits outside [1, 64] (a profile's dmaMaskBits range).
 */
export function case06Machine(platform: string, kernel: string, backend: string, opts: { seed?: number; dmaBits?: number } = {}): { machine: Machine; dev: Device } {
  if (!(CASE06_PLATFORMS as readonly string[]).includes(platform)) throw new ModelConfigError("platform", platform, `one of ${CASE06_PLATFORMS.join(", ")}`);
  if (!(CASE06_BACKENDS as readonly string[]).includes(backend)) throw new ModelConfigError("backend", backend, `one of ${CASE06_BACKENDS.join(", ")}`);
  if (opts.dmaBits !== undefined) checkInt("dmaBits", opts.dmaBits, 1, 64);
  const base = loadPlatformProfile(platform);
  const profile: PlatformProfile = JSON.parse(JSON.stringify(base));
  const name = DEVICE_OF[platform as Case06Platform];
  const viaIommu = backend === "iommu-strict" || backend === "iommu-lazy";
  profile.devices = profile.devices.map((d) => {
    if (d.name !== name) return d;
    const out = { ...d };
    if (!viaIommu) delete out.iommu;
    if (opts.dmaBits !== undefined) out.dmaMaskBits = opts.dmaBits;
    else if (d.bus === "pci") out.dmaMaskBits = 64;
    return out;
  });
  const machine = createMachine(profile, {
    kernel,
    seed: opts.seed ?? 1,
    ...(backend === "swiotlb" ? { swiotlb: { force: true } } : {}),
    ...(viaIommu ? { iommu: { strict: backend === "iommu-strict" } } : {}),
  });
  return { machine, dev: machine.device(name) };
}


// --- counting one call

const NO_COUNTERS: IommuDomainCounters = { pteWrites: 0, pteClears: 0, pagesUnmapped: 0, iotlbInvalidateRange: 0, iotlbInvalidateAll: 0, fqQueued: 0, fqFlushes: 0, iovaAllocFast: 0, iovaAllocSlow: 0, iovaFree: 0, iotlbHits: 0, iotlbMisses: 0 };

function snapDomain(domain: IommuDomain | null): IommuDomainCounters {
  return domain ? iommuDomainCounters(domain) : NO_COUNTERS;
}

/**
 * The IOMMU part of the counts between two snapshots of a domain's
 * counters (iommuDomainCounters). `pages`: IOVA pages of each range, for
 * the free path. Frees are split by size as free_iova_fast does: a range above the
 * rcache range (order >= IOVA_RANGE_CACHE_MAX_SIZE, more than 32 pages)
 * goes to free_iova, anything else into the CPU's magazine (the model does
 * not count the rarer free_iova of a whole magazine when the depot is full).
 */
function iommuCounts(c: DmaOpCounts, before: IommuDomainCounters, after: IommuDomainCounters, pages: number): void {
  c.pteWrites += after.pteWrites - before.pteWrites + (after.pteClears - before.pteClears);
  c.iovaAllocFast += after.iovaAllocFast - before.iovaAllocFast;
  c.iovaAllocSlow += after.iovaAllocSlow - before.iovaAllocSlow;
  const frees = after.iovaFree - before.iovaFree;
  if (pages > 2 ** (IOVA_RANGE_CACHE_MAX_SIZE - 1)) c.iovaFreeSlow += frees;
  else c.iovaFreeFast += frees;
  // A range invalidation names each IOMMU page it removes once (SMMUv3 without range
  // invalidation: one CMD_TLBI_NH_VA per entry of the gathered page size, so a 2 MiB
  // block is one command): the pages (not the replicated descriptors) the invalidating calls unmapped.
  const ranges = after.iotlbInvalidateRange - before.iotlbInvalidateRange;
  c.iotlbSyncs += ranges;
  if (ranges > 0) c.iotlbInvalidatePages += after.pagesUnmapped - before.pagesUnmapped;
  c.iotlbFlushAll += after.iotlbInvalidateAll - before.iotlbInvalidateAll;
}

/**
 * Counts of one DMA API call, read from the trace events it recorded
 * (costNs, copiedBytes) and the domain's counters. Cache maintenance is what
 * the DMA code charged beyond the call overhead and the copies.
 */
function countCall(m: Machine, dev: Device, seq0: number, before: IommuDomainCounters, pages: number): DmaOpCounts {
  const c = emptyDmaOpCounts();
  const evs = m.trace.events();
  let traced = 0;
  for (let i = seq0; i < evs.length; i++) {
    const e = evs[i]!;
    traced += e.costNs;
    const cb = e.data["copiedBytes"];
    if (typeof cb === "number") c.bounceBytes += cb;
  }
  c.calls = 1;
  const costs = m.costs;
  c.maintenanceNs = Math.max(0, Math.round((traced - costs.mapCallNs - c.bounceBytes * costs.cachedByteNs) * 1000) / 1000);
  const domain = domainOfDev(dev);
  if (domain && useDmaIommu(dev)) {
    c.iommuCalls = 1;
    iommuCounts(c, before, iommuDomainCounters(domain), pages);
  }
  return c;
}

/**
 * Let simulated time reach `targetNs` on the machine (machineAdvanceTime:
 * flush-queue timers, depot work); the IOMMU work that happens then is
 * added to `background`.
 */
function advanceTo(m: Machine, domain: IommuDomain | null, targetNs: number, background: DmaOpCounts, pages: number): void {
  // Only an IOMMU domain has timers. (Trace.advanceNs also refuses a clock
  // made fractional by per-byte costs, which only the bounce runs have.)
  if (!domain) return;
  const dt = Math.floor(targetNs - m.trace.nowNs);
  if (dt <= 0) return;
  const before = snapDomain(domain);
  machineAdvanceTime(m, dt);
  if (domain) iommuCounts(background, before, iommuDomainCounters(domain), pages);
}

function domainOfDev(dev: Device): IommuDomain | null {
  return dev.iommuDomain && dev.iommuDomain.type === "DMA" ? dev.iommuDomain : null;
}

// --- dma_map_benchmark

/** DMA_MAP_MAX_THREADS, DMA_MAP_MAX_SECONDS, DMA_MAP_MAX_TRANS_DELAY (include/uapi/linux/map_benchmark.h, v6.19). */
export const DMA_MAP_MAX_THREADS = 1024;
export const DMA_MAP_MAX_SECONDS = 300;
export const DMA_MAP_MAX_TRANS_DELAY = 10 * 1000 * 1000;

/** Parameters of {@link dmaMapBenchmark} (the ioctl's struct map_benchmark fields, plus the model's). */
export interface MapBenchmarkParams {
  platform: string;
  kernel: string;
  backend: string;
  /** Threads (kthreads), 1..DMA_MAP_MAX_THREADS; default 1. */
  threads?: number;
  /** Pages per map (PAGE_SIZE units), 1..1024; default 1. */
  granule?: number;
  /** Duration of the run, simulated seconds, 1..DMA_MAP_MAX_SECONDS; default 1. */
  seconds?: number;
  /** "BIDIRECTIONAL" (the tool's default), "TO_DEVICE" or "FROM_DEVICE". */
  dmaDir?: "BIDIRECTIONAL" | "TO_DEVICE" | "FROM_DEVICE";
  /** dma_bits: the DMA mask set for the run (default 32, the tool's default). */
  dmaBits?: number;
  /** dma_trans_ns: the pretended transfer between map and unmap, ns (default 0). */
  dmaTransNs?: number;
  /** The model's cap on iterations (all threads together), so a run stays short; default 2000. */
  maxLoops?: number;
  /** Cost figures replacing the platform's (tests use round numbers). */
  costs?: Partial<CostValues>;
  seed?: number;
}

/** What the benchmark ioctl returns (100 ns units), plus the model's view of it. */
export interface MapBenchmarkResult {
  platform: string;
  kernel: string;
  backend: string;
  threads: number;
  granule: number;
  cpus: number;
  loops: number;
  /** avg_map_100ns, map_stddev, avg_unmap_100ns, unmap_stddev: as the kernel computes them. */
  avgMap100ns: number;
  mapStddev: number;
  avgUnmap100ns: number;
  unmapStddev: number;
  /** What the selftest prints: the 100 ns figures / 10, µs. */
  mapUs: number;
  mapSdUs: number;
  unmapUs: number;
  unmapSdUs: number;
  /** Mean charged cost per map / unmap by component, ns (not rounded to 100 ns). */
  map: DmaCostBreakdown;
  unmap: DmaCostBreakdown;
  /** "seconds" if the simulated duration ended the run, "maxLoops" if the model's cap did. */
  endedBy: "seconds" | "maxLoops";
  /** Simulated time the run covered, ns (the latest CPU clock). */
  simulatedNs: number;
  failures: number;
  /** IOMMU work done between calls (flush-queue timer flushes and the frees they release), not part of any latency. */
  background: DmaOpCounts;
}

/**
 * The kernel's statistics over per-iteration latencies (ns): each latency
 * floor(ns / 100); avg = floor(sum / loops); variance = floor(sum_sq /
 * loops) - avg^2; stddev = int_sqrt64(variance). Source:
 * kernel/dma/map_benchmark.c map_benchmark_thread, do_map_benchmark (v6.19).
 * @returns zeros for no samples (the kernel leaves the fields unset).
 * @throws ModelConfigError for a negative or non-finite latency.
 */
export function mapBenchmarkStats(latenciesNs: readonly number[]): { avg100ns: number; stddev: number; sum: number; sumSq: number } {
  if (!Array.isArray(latenciesNs)) throw new ModelConfigError("latenciesNs", latenciesNs, "an array of latencies in ns");
  let sum = 0;
  let sumSq = 0;
  for (const ns of latenciesNs) {
    if (typeof ns !== "number" || !Number.isFinite(ns) || ns < 0 || ns > Number.MAX_SAFE_INTEGER) throw new ModelConfigError("latency", ns, "a finite number of ns in [0, 2^53 - 1]");
    const u = Math.floor(ns / 100);
    sum += u;
    sumSq += u * u;
  }
  const loops = latenciesNs.length;
  if (loops === 0) return { avg100ns: 0, stddev: 0, sum: 0, sumSq: 0 };
  const avg = Math.floor(sum / loops);
  const variance = Math.floor(sumSq / loops) - avg * avg;
  return { avg100ns: avg, stddev: intSqrt(variance), sum, sumSq };
}

/** int_sqrt64: floor of the square root of a non-negative integer. */
function intSqrt(x: number): number {
  if (x <= 0) return 0;
  let r = Math.floor(Math.sqrt(x));
  while (r * r > x) r--;
  while ((r + 1) * (r + 1) <= x) r++;
  return r;
}

const DIRS = { BIDIRECTIONAL: DMA_BIDIRECTIONAL, TO_DEVICE: DMA_TO_DEVICE, FROM_DEVICE: DMA_FROM_DEVICE } as const;

/** Types and ranges of {@link MapBenchmarkParams}. */
export const MAP_BENCHMARK_PARAMS = z
  .object({
    platform: zOneOf(CASE06_PLATFORMS as unknown as [string, ...string[]], "data/platforms profiles with a cost file and an IOMMU"),
    kernel: zKernel,
    backend: zOneOf(CASE06_BACKENDS as unknown as [string, ...string[]], "the DMA backends of case 06"),
    threads: zInt(1, DMA_MAP_MAX_THREADS, "benchmark threads (DMA_MAP_MAX_THREADS, include/uapi/linux/map_benchmark.h)").optional(),
    granule: zInt(1, 1024, "pages per map (map_benchmark_ioctl accepts 1..1024)").optional(),
    seconds: zInt(1, DMA_MAP_MAX_SECONDS, "duration in seconds (DMA_MAP_MAX_SECONDS)").optional(),
    dmaDir: zOneOf(["BIDIRECTIONAL", "TO_DEVICE", "FROM_DEVICE"], "DMA_MAP_BIDIRECTIONAL, DMA_MAP_TO_DEVICE, DMA_MAP_FROM_DEVICE").optional(),
    dmaBits: zInt(32, 64, "dma_bits, the DMA mask width").optional(),
    dmaTransNs: zInt(0, DMA_MAP_MAX_TRANS_DELAY, "dma_trans_ns, ns (DMA_MAP_MAX_TRANS_DELAY)").optional(),
    maxLoops: zInt(1, 1000000, "the model's cap on iterations, all threads together").optional(),
    costs: z.record(z.number().finite().nonnegative()).describe("cost figures (ns) replacing the platform's, by CostValues field name").optional(),
    seed: zSeed.optional(),
  })
  .strict();

function costsWith(m: Machine, over: Partial<CostValues> | undefined): CostValues {
  if (!over) return m.costs;
  for (const k of Object.keys(over)) if (!(k in m.costs)) throw new ModelConfigError(`costs.${k}`, over[k as keyof CostValues], `a cost field: ${Object.keys(m.costs).join(", ")}`);
  return { ...m.costs, ...over };
}

/**
 * Run the DMA map benchmark on the model (see the module comment).
 * Threads are bound to CPUs round-robin (thread t on CPU t mod cpus); the
 * CPU whose clock is earliest runs next (ties: lowest CPU), its threads
 * taking turns; an iteration advances its CPU's clock by the map cost,
 * dma_trans_ns and the unmap cost. The run ends when every CPU's clock has
 * passed `seconds`, or after `maxLoops` iterations.
 * @throws ModelConfigError naming a bad parameter and its allowed values.
 */
export function dmaMapBenchmark(params: MapBenchmarkParams): MapBenchmarkResult {
  parseScenarioParams(MAP_BENCHMARK_PARAMS, params, "dmaMapBenchmark");
  const threads = params.threads ?? 1;
  const granule = params.granule ?? 1;
  const seconds = params.seconds ?? 1;
  const dir = DIRS[params.dmaDir ?? "BIDIRECTIONAL"];
  const maxLoops = params.maxLoops ?? 2000;
  const transNs = params.dmaTransNs ?? 0;
  const { machine: m, dev } = case06Machine(params.platform, params.kernel, params.backend, { seed: params.seed ?? 1, dmaBits: params.dmaBits ?? 32 });
  const costs = costsWith(m, params.costs);
  const cpus = m.cpus;
  const size = granule * m.pageSize;
  const order = Math.ceil(Math.log2(granule));
  // alloc_pages_exact(size): one buffer per thread, allocated before the loop.
  const bufs: number[] = [];
  for (let t = 0; t < threads; t++) {
    const pfn = allocPages(m, GFP_KERNEL, order);
    if (pfn === null) throw new ModelConfigError("threads", threads, `as many ${fmtSize(size)} buffers as RAM holds`);
    bufs.push(pfn);
  }
  const cpuClock = new Array<number>(Math.min(cpus, threads)).fill(0);
  const nextThread = new Array<number>(cpuClock.length).fill(0);
  const mapNs: number[] = [];
  const unmapNs: number[] = [];
  let mapSum = emptyDmaOpCounts();
  let unmapSum = emptyDmaOpCounts();
  let failures = 0;
  const background = emptyDmaOpCounts();
  let endedBy: "seconds" | "maxLoops" = "maxLoops";
  const limitNs = seconds * 1e9;
  const domain = domainOfDev(dev);
  while (mapNs.length + failures < maxLoops) {
    let cpu = 0;
    for (let c = 1; c < cpuClock.length; c++) if (cpuClock[c]! < cpuClock[cpu]!) cpu = c;
    if (cpuClock[cpu]! >= limitNs) {
      endedBy = "seconds";
      break;
    }
    // threads on this CPU: cpu, cpu + cpus, ...; take turns
    const onCpu = Math.floor((threads - 1 - cpu) / cpuClock.length) + 1;
    const t = cpu + (nextThread[cpu]! % onCpu) * cpuClock.length;
    nextThread[cpu] = nextThread[cpu]! + 1;
    advanceTo(m, domain, cpuClock[cpu]!, background, granule);
    const opts = { cpu: cpu };
    const s0 = m.trace.length;
    const d0 = snapDomain(domain);
    const addr = dmaMapPage(dev, bufs[t]!, 0, size, dir, opts);
    if (dmaMappingErrorFor(dev, addr)) {
      failures++;
      cpuClock[cpu] = cpuClock[cpu]! + costs.mapCallNs;
      continue;
    }
    const mc = countCall(m, dev, s0, d0, granule);
    const s1 = m.trace.length;
    const d1 = snapDomain(domain);
    dmaUnmapPage(dev, addr, size, dir, opts);
    const uc = countCall(m, dev, s1, d1, granule);
    const mNs = chargeDmaOp(costs, mc).totalNs;
    const uNs = chargeDmaOp(costs, uc).totalNs;
    mapNs.push(mNs);
    unmapNs.push(uNs);
    mapSum = addDmaOpCounts(mapSum, mc);
    unmapSum = addDmaOpCounts(unmapSum, uc);
    cpuClock[cpu] = cpuClock[cpu]! + mNs + transNs + uNs;
  }
  const ms = mapBenchmarkStats(mapNs);
  const us = mapBenchmarkStats(unmapNs);
  const loops = mapNs.length;
  return {
    platform: params.platform,
    kernel: params.kernel,
    backend: params.backend,
    threads,
    granule,
    cpus,
    loops,
    avgMap100ns: ms.avg100ns,
    mapStddev: ms.stddev,
    avgUnmap100ns: us.avg100ns,
    unmapStddev: us.stddev,
    mapUs: ms.avg100ns / 10,
    mapSdUs: ms.stddev / 10,
    unmapUs: us.avg100ns / 10,
    unmapSdUs: us.stddev / 10,
    map: scaleBreakdown(chargeDmaOp(costs, mapSum), loops),
    unmap: scaleBreakdown(chargeDmaOp(costs, unmapSum), loops),
    endedBy,
    simulatedNs: Math.max(...cpuClock),
    failures,
    background,
  };
}

function scaleBreakdown(b: DmaCostBreakdown, n: number): DmaCostBreakdown {
  const byComponent = { ...b.byComponent };
  if (n > 0) for (const k of DMA_COST_COMPONENTS) byComponent[k] = byComponent[k] / n;
  return { byComponent, totalNs: n > 0 ? b.totalNs / n : 0 };
}

// --- the workloads

/** Parameters of {@link runCase06}. */
export interface Case06Params {
  platform: string;
  kernel: string;
  backend: string;
  workload: string;
  /** Bytes per buffer (default: the workload's). */
  size?: number;
  /** Operations (complete one buffer, map the next); default: the workload's. */
  ops?: number;
  /** CPUs the operations are spread over, round-robin (default 1). */
  threads?: number;
  costs?: Partial<CostValues>;
  seed?: number;
}

/** One sample of the IOVA space during a run. Pages are IOVA granules. */
export interface IovaSample {
  op: number;
  timeNs: number;
  /** Pages held by allocated IOVA ranges (reserved ranges left out): live mappings plus anything cached or queued. */
  allocatedPages: number;
  /** Pages of the buffers mapped at this moment. */
  mappedPages: number;
  /** Free holes between the lowest and highest allocated range. */
  holes: number;
  /** 1 - allocated / (highest - lowest + 1): how much of the used span is free. */
  fragmentation: number;
}

/** The outcome of one workload run. */
export interface Case06Result {
  platform: string;
  kernel: string;
  backend: string;
  workload: string;
  size: number;
  ops: number;
  threads: number;
  /** Mean cost of one operation: the mean successful map plus the mean unmap, ns by component (0 when every map failed). */
  perOp: DmaCostBreakdown;
  /** Everything the run's maps and unmaps did, summed. */
  counts: DmaOpCounts;
  iova: IovaSample[];
  /** IOTLB lookups of the device's accesses through the IOMMU: hits and misses (null without an IOMMU). */
  iotlb: { hits: number; misses: number } | null;
  /** Whether the IOMMU domain invalidated strictly (null without one): iommu.strict=0 is ignored where there is no flush queue. */
  strict: boolean | null;
  /** Maps that returned DMA_MAPPING_ERROR (e.g. a 4 MiB buffer through swiotlb: IO_TLB_SEGSIZE limits a bounce to 256 KiB). */
  failures: number;
  /** Operations that completed. */
  completed: number;
}

/** Types and ranges of {@link Case06Params}. */
export const CASE06_PARAMS = z
  .object({
    platform: zOneOf(CASE06_PLATFORMS as unknown as [string, ...string[]], "data/platforms profiles with a cost file and an IOMMU"),
    kernel: zKernel,
    backend: zOneOf(CASE06_BACKENDS as unknown as [string, ...string[]], "the DMA backends of case 06"),
    workload: zOneOf(WORKLOAD_IDS, "the workloads of case 06"),
    size: zInt(1, 4 * 1048576, "bytes per buffer, up to 4 MiB (one order-10 block)").optional(),
    ops: zInt(1, 100000, "operations in the run").optional(),
    threads: zInt(1, 64, "CPUs the operations are spread over").optional(),
    costs: z.record(z.number().finite().nonnegative()).describe("cost figures (ns) replacing the platform's, by CostValues field name").optional(),
    seed: zSeed.optional(),
  })
  .strict();

/**
 * Run one workload (see the module comment): a ring of `inflight` buffers;
 * operation i (on CPU i mod threads, at simulated time i x gapNs) completes
 * the oldest buffer once the ring is full (the device writes it through the
 * IOMMU when there is one, then dma_unmap_page) and maps the next with
 * dma_map_page. The IOVA space is sampled about 64 times.
 * @throws ModelConfigError naming a bad parameter and its allowed values.
 */
export function runCase06(params: Case06Params): Case06Result {
  parseScenarioParams(CASE06_PARAMS, params, "runCase06");
  const w = CASE06_WORKLOADS[params.workload as Case06Workload];
  const size = params.size ?? w.size;
  const ops = params.ops ?? w.ops;
  const threads = params.threads ?? 1;
  const { machine: m, dev } = case06Machine(params.platform, params.kernel, params.backend, { seed: params.seed ?? 1 });
  const costs = costsWith(m, params.costs);
  const pages = Math.ceil(size / m.pageSize);
  const order = Math.ceil(Math.log2(pages));
  const domain = domainOfDev(dev);
  const iovad = domain ? domain.iovad : null;
  const iovaPages = iovad ? Math.ceil(size / iovad.granule) : pages;
  // Ranges present before the first map (reservations: the MSI window, PCI holes) are not the workload's.
  const bootRanges = new Set(iovad ? iovaRanges(iovad).map((r) => r.pfnLo) : []);
  const bufs: number[] = [];
  for (let i = 0; i < w.inflight; i++) {
    const pfn = allocPages(m, GFP_KERNEL, order);
    if (pfn === null) throw new ModelConfigError("size", size, `a buffer size of which ${w.inflight} fit in RAM`);
    bufs.push(pfn);
  }
  const ring: Array<{ addr: DmaAddr; slot: number }> = [];
  let maps = emptyDmaOpCounts();
  let unmaps = emptyDmaOpCounts();
  let nMaps = 0;
  let failures = 0;
  let completed = 0;
  const background = emptyDmaOpCounts();
  const before0 = snapDomain(domain);
  const iova: IovaSample[] = [];
  const every = Math.max(1, Math.floor(ops / 64));
  const granule = iovad ? iovad.granule : m.pageSize;
  const sample = (op: number) => {
    if (!iovad) return;
    const mine = iovaRanges(iovad).filter((r) => !bootRanges.has(r.pfnLo));
    let all = 0;
    let lo = Infinity;
    let hi = -Infinity;
    let holes = 0;
    let prevHi = -1;
    for (const r of mine) {
      all += iovaSize(r);
      if (r.pfnLo < lo) lo = r.pfnLo;
      if (r.pfnHi > hi) hi = r.pfnHi;
      if (prevHi >= 0 && r.pfnLo > prevHi + 1) holes++;
      prevHi = r.pfnHi;
    }
    const span = hi >= lo ? hi - lo + 1 : 0;
    iova.push({ op, timeNs: op * w.gapNs, allocatedPages: all, mappedPages: ring.length * Math.ceil(size / granule), holes, fragmentation: span > 0 ? Math.max(0, 1 - all / span) : 0 });
  };
  for (let i = 0; i < ops; i++) {
    let slot = i % w.inflight;
    const opts = { cpu: i % threads };
    advanceTo(m, domain, i * w.gapNs, background, iovaPages);
    if (ring.length >= w.inflight) {
      const old = ring.shift()!;
      slot = old.slot;
      // The device fills the buffer (DMA_FROM_DEVICE) through the IOMMU: one IOTLB lookup per IOMMU page.
      if (domain) iommuDeviceWrite(dev, old.addr, size);
      const s = m.trace.length;
      const d = snapDomain(domain);
      dmaUnmapPage(dev, old.addr, size, w.dir, opts);
      unmaps = addDmaOpCounts(unmaps, countCall(m, dev, s, d, iovaPages));
      completed++;
    }
    const s = m.trace.length;
    const d = snapDomain(domain);
    const addr = dmaMapPage(dev, bufs[slot]!, 0, size, w.dir, opts);
    if (dmaMappingErrorFor(dev, addr)) {
      failures++;
    } else {
      maps = addDmaOpCounts(maps, countCall(m, dev, s, d, iovaPages));
      nMaps++;
      ring.push({ addr, slot });
    }
    if (i % every === 0 || i === ops - 1) sample(i);
  }
  // One operation = one successful map plus one unmap: the mean of each, added;
  // IOMMU work between calls (timer flushes) is spread over the unmaps.
  const mapMean = scaleBreakdown(chargeDmaOp(costs, maps), nMaps);
  const unmapMean = scaleBreakdown(chargeDmaOp(costs, addDmaOpCounts(unmaps, background)), completed);
  const byComponent = { ...mapMean.byComponent };
  for (const k of DMA_COST_COMPONENTS) byComponent[k] += unmapMean.byComponent[k];
  const perOp: DmaCostBreakdown = { byComponent, totalNs: mapMean.totalNs + unmapMean.totalNs };
  const total = addDmaOpCounts(addDmaOpCounts(maps, unmaps), background);
  const after0 = snapDomain(domain);
  return {
    platform: params.platform,
    kernel: params.kernel,
    backend: params.backend,
    workload: params.workload,
    size,
    ops,
    threads,
    perOp,
    counts: total,
    iova,
    iotlb: domain ? { hits: after0.iotlbHits - before0.iotlbHits, misses: after0.iotlbMisses - before0.iotlbMisses } : null,
    strict: domain ? iommuDomainStrict(domain) : null,
    failures,
    completed,
  };
}


/** A run's bar label: the backend, with the share of maps that failed when some did ("swiotlb (94% of maps fail)"). */
export function runLabel(r: Case06Result): string {
  if (r.failures === 0) return r.backend;
  if (r.failures === r.ops) return `${r.backend} (every map fails)`;
  return `${r.backend} (${Math.round((100 * r.failures) / r.ops)}% of maps fail)`;
}

/**
 * Flatten runs into bar segments (zero components left out), labelled by
 * backend and grouped by `groupBy` (platform, kernel or workload).
 */
export function case06CostBars(runs: readonly Case06Result[], groupBy: "platform" | "kernel" | "workload"): CostBarRow[] {
  const out: CostBarRow[] = [];
  for (const r of runs) {
    const before = out.length;
    for (const k of DMA_COST_COMPONENTS) {
      const ns = r.perOp.byComponent[k];
      if (ns > 0) out.push({ run: runLabel(r), group: String(r[groupBy]), component: k, ns: Math.round(ns * 10) / 10 });
    }
    // a run with nothing to charge (every map failed) keeps its label on the axis
    if (out.length === before) out.push({ run: runLabel(r), group: String(r[groupBy]), component: "map call", ns: 0 });
  }
  return out;
}

/** A published dma_map_benchmark result the model is calibrated against or compared with. */
export interface MapBenchmarkFigure {
  case: string;
  threads: number;
  granule: number;
  mapUs: number;
  /** Standard deviation where the source gives one. */
  mapSdUs: number | null;
  unmapUs: number;
  unmapSdUs: number | null;
  /** True when data/costs/arm64-server.json was solved from this figure (the model reproduces it by construction). */
  calibrated: boolean;
  source: string;
}

const SALEH = "Mostafa Saleh (Google), IOMMU_DEBUG_PAGEALLOC series cover letter v4, Message-ID 20251211125928.3258905-1-smostafa@google.com: Arm Morello + SMMUv3, debug_pagealloc off";

/** The published figures (history-and-costs.md rows 1, 2, 4-7). */
export const MAP_BENCHMARK_FIGURES: readonly MapBenchmarkFigure[] = [
  { case: "4 KiB, 1 thread", threads: 1, granule: 1, mapUs: 0.1, mapSdUs: null, unmapUs: 0.6, unmapSdUs: null, calibrated: true, source: SALEH },
  { case: "4 KiB, 4 threads", threads: 4, granule: 1, mapUs: 0.1, mapSdUs: null, unmapUs: 1.05, unmapSdUs: null, calibrated: false, source: `${SALEH} (unmap 1.0 to 1.1 us across postings)` },
  { case: "1 MiB, 1 thread", threads: 1, granule: 256, mapUs: 0.8, mapSdUs: null, unmapUs: 21.2, unmapSdUs: null, calibrated: true, source: SALEH },
  { case: "1 MiB, 4 threads", threads: 4, granule: 256, mapUs: 1.1, mapSdUs: null, unmapUs: 45.9, unmapSdUs: null, calibrated: false, source: SALEH },
  { case: "4 KiB, 16 threads", threads: 16, granule: 1, mapUs: 1.1, mapSdUs: 1.9, unmapUs: 0.5, unmapSdUs: 0.8, calibrated: false, source: "Barry Song, commit 7679325702c9 \"selftests/dma: add test application for DMA_MAP_BENCHMARK\" (v5.11-rc1): HiSilicon, 16 threads, 10 s, 1 page, BIDIRECTIONAL, 32-bit mask; the IOMMU is not named" },
];

/**
 * Run {@link dmaMapBenchmark} for every published case on the arm64
 * server (SMMUv3, strict, as arm64 defaults to) and return chart rows: the
 * model's and the published averages side by side.
 * @throws ModelConfigError for a kernel outside the modelled range.
 */
export function mapBenchmarkComparison(kernel: string, maxLoops = 400): { rows: BenchmarkRow[]; runs: MapBenchmarkResult[] } {
  const rows: BenchmarkRow[] = [];
  const runs: MapBenchmarkResult[] = [];
  for (const f of MAP_BENCHMARK_FIGURES) {
    const r = dmaMapBenchmark({ platform: "arm64-server", kernel, backend: "iommu-strict", threads: f.threads, granule: f.granule, maxLoops: maxLoops });
    runs.push(r);
    rows.push({ case: f.case, source: "published", op: "map", us: f.mapUs, sdUs: f.mapSdUs ?? 0 });
    rows.push({ case: f.case, source: `model ${kernel}`, op: "map", us: r.mapUs, sdUs: r.mapSdUs });
    rows.push({ case: f.case, source: "published", op: "unmap", us: f.unmapUs, sdUs: f.unmapSdUs ?? 0 });
    rows.push({ case: f.case, source: `model ${kernel}`, op: "unmap", us: r.unmapUs, sdUs: r.unmapSdUs });
  }
  return { rows, runs };
}

/** Chart rows of the IOVA samples of several runs: allocated and mapped pages over simulated time (ms). */
export function case06IovaRows(runs: ReadonlyArray<{ label: string; result: Case06Result }>): IovaSampleRow[] {
  const out: IovaSampleRow[] = [];
  for (const { label, result } of runs) {
    for (const s of result.iova) {
      const timeMs = Math.round(s.timeNs / 1000) / 1000;
      out.push({ run: label, timeMs, measure: "allocated IOVA", pages: s.allocatedPages });
      out.push({ run: label, timeMs, measure: "mapped buffers", pages: s.mappedPages });
    }
  }
  return out;
}

// --- the notebook's outputs (notebooks/06-what-does-a-mapping-cost.ipynb and its live page, lib/scenarios/live/06.ts)

/** A chart output of notebook 06: the vega-lite spec and the text summary shown with it (showChart's two arguments). */
export interface Case06Chart {
  spec: VlSpec;
  summary: string;
}

/** A table output of notebook 06: its rows and caption (showTable's two arguments). */
export interface Case06Table {
  rows: Array<Record<string, string | number | boolean | null>>;
  caption: string;
}

/** The parameters notebook 06's runs share (its parameters cell): release, workload, operations, threads. */
export interface Case06Base {
  kernel: string;
  workload: string;
  ops: number;
  threads: number;
}

/** The release notebook 06 compares the chosen one with ("v5.4 against today"). */
export const CASE06_BASELINE_RELEASE = "v5.4";

/** Loop cap of the reader's own dma_map_benchmark run in notebook 06 (MapBenchmarkParams.maxLoops). */
export const CASE06_BENCH_MAX_LOOPS = 1000;

/** ns to µs, rounded to 0.01 µs (the notebook's figures). */
function usOf(ns: number): number {
  return Math.round(ns / 10) / 100;
}

/** "µs" for workloads of 128 KiB and more, else "ns": the unit of the cost charts. */
function barUnit(w: Case06WorkloadSpec): "ns" | "µs" {
  return w.size >= 131072 ? "µs" : "ns";
}

/** The workload spec of a workload id. @throws ModelConfigError for an unknown id. */
function workloadOf(workload: string): Case06WorkloadSpec {
  if (!(workload in CASE06_WORKLOADS)) throw new ModelConfigError("workload", workload, `one of ${WORKLOAD_IDS.join(", ")}`);
  return CASE06_WORKLOADS[workload as Case06Workload];
}

/** The runs of notebook 06's first cells: every platform (CASE06_PLATFORMS) with every backend (CASE06_BACKENDS), in that order, on `base`. */
export function case06PlatformRuns(base: Case06Base): Case06Params[] {
  const out: Case06Params[] = [];
  for (const p of CASE06_PLATFORMS) for (const b of CASE06_BACKENDS) out.push({ ...base, platform: p, backend: b });
  return out;
}

/** The runs of "v5.4 against today": {@link CASE06_BASELINE_RELEASE} then base.kernel, every backend, on `platform`. */
export function case06ReleaseRuns(base: Case06Base, platform: string): Case06Params[] {
  const out: Case06Params[] = [];
  for (const k of [CASE06_BASELINE_RELEASE, base.kernel]) for (const b of CASE06_BACKENDS) out.push({ ...base, platform: platform, backend: b, kernel: k });
  return out;
}

/** The labelled runs of "IOVA space over time": v4.11 strict (no rcache), v5.4 and base.kernel, strict and lazy, on `platform`. */
export function case06IovaRuns(base: Case06Base, platform: string): Array<{ label: string; params: Case06Params }> {
  const k = base.kernel;
  const cases: Array<[string, string, string]> = [["v4.11", "iommu-strict", "v4.11 strict (no rcache)"], ["v5.4", "iommu-strict", "v5.4 strict"], [k, "iommu-strict", k + " strict"], ["v5.4", "iommu-lazy", "v5.4 lazy"], [k, "iommu-lazy", k + " lazy"]];
  return cases.map(([kernel, backend, label]) => ({ label: label, params: { ...base, platform: platform, backend: backend, kernel: kernel } }));
}

/** Notebook 06's first output: the chosen platform's cost per operation on each backend (markdown). `runs`: those of {@link case06PlatformRuns}. */
export function case06SummaryText(runs: readonly Case06Result[], workload: string, platform: string, kernel: string): string {
  const here = runs.filter((r) => r.platform === platform);
  return `**${workloadOf(workload).label}** on **${platform}**, ${kernel}: ` + here.map((r) => `${runLabel(r)} ${r.failures === r.ops ? "" : usOf(r.perOp.totalNs) + " µs"}`).join(", ") + " per operation (map + unmap).";
}

/** "What one mapping does, per backend": cost per operation by component, one row of bars per platform. */
export function case06CostChart(runs: readonly Case06Result[], workload: string, kernel: string): Case06Chart {
  const w = workloadOf(workload);
  return {
    spec: costBreakdownChartSpec(case06CostBars(runs, "platform"), `${w.label}: CPU cost per operation by component, ${kernel}`, barUnit(w)),
    summary:
      "Each bar is one operation (one map and one unmap) on each backend; the stacked parts are the cost components. " +
      runs.map((r) => `${r.platform} ${runLabel(r)}: ${r.failures === r.ops ? "no cost" : usOf(r.perOp.totalNs) + " µs"}`).join("; "),
  };
}

/** Every run with the counts behind its cost (the table under the cost chart). */
export function case06RunTable(runs: readonly Case06Result[]): Case06Table {
  return {
    rows: runs.map((r) => ({ platform: r.platform, backend: r.backend, "µs / op": usOf(r.perOp.totalNs), "failed maps": r.failures, "PTE writes": r.counts.pteWrites, "IOTLB syncs": r.counts.iotlbSyncs, "pages invalidated": r.counts.iotlbInvalidatePages, "FQ flushes": r.counts.iotlbFlushAll, "bytes bounced": r.counts.bounceBytes })),
    caption: "Details: every run, with the counts behind its cost",
  };
}

/** "v5.4 against today": the runs of {@link case06ReleaseRuns}, grouped by release. */
export function case06ReleaseChart(runs: readonly Case06Result[], workload: string, platform: string, kernel: string): Case06Chart {
  const w = workloadOf(workload);
  return {
    spec: costBreakdownChartSpec(case06CostBars(runs, "kernel"), `${w.label} on ${platform}: ${CASE06_BASELINE_RELEASE} vs ${kernel}`, barUnit(w)),
    summary: runs.map((r) => `${r.kernel} ${r.backend}: ${r.failures === r.ops ? "fails" : usOf(r.perOp.totalNs) + " µs"}`).join("; "),
  };
}

/** The IOVA space at the end of a run. */
function lastSample(r: Case06Result): IovaSample {
  return r.iova[r.iova.length - 1]!;
}

/** "IOVA space over time": allocated and mapped IOVA pages of the runs of {@link case06IovaRuns}. */
export function case06IovaChart(runs: ReadonlyArray<{ label: string; result: Case06Result }>, workload: string, platform: string): Case06Chart {
  return {
    spec: iovaOverTimeChartSpec(case06IovaRows(runs), `${workloadOf(workload).label} on ${platform}: IOVA pages over time`),
    summary:
      "Strict mode gives each freed range back to the next map at once; lazy mode holds unmapped ranges on the flush queue until a flush. " +
      runs.map((r) => { const last = lastSample(r.result); return `${r.label}: ${last.allocatedPages} pages allocated, ${last.mappedPages} mapped, ${last.holes} holes at the end`; }).join("; "),
  };
}

/** The IOVA space at the end of each run of {@link case06IovaRuns}, with the rcache and rbtree allocations. */
export function case06IovaTable(runs: ReadonlyArray<{ label: string; result: Case06Result }>): Case06Table {
  return {
    rows: runs.map((r) => {
      const last = lastSample(r.result);
      return { run: r.label, "allocated pages": last.allocatedPages, "mapped pages": last.mappedPages, holes: last.holes, fragmentation: Math.round(last.fragmentation * 1000) / 1000, "rcache allocs": r.result.counts.iovaAllocFast, "rbtree allocs": r.result.counts.iovaAllocSlow };
    }),
    caption: "Details: the IOVA space at the end of each run",
  };
}

/** "IOTLB misses" as a chart: misses and hits per completed buffer of each run through an IOMMU, by platform. */
export function case06TlbChart(runs: readonly Case06Result[], workload: string, kernel: string): Case06Chart {
  const tlbRuns = runs.filter((r) => r.iotlb && r.completed > 0);
  const per = (n: number, r: Case06Result) => Math.round((n / r.completed) * 100) / 100;
  const rows: IotlbBarRow[] = [];
  for (const r of tlbRuns) {
    rows.push({ platform: r.platform, backend: r.backend, outcome: "miss", perBuffer: per(r.iotlb!.misses, r) });
    rows.push({ platform: r.platform, backend: r.backend, outcome: "hit", perBuffer: per(r.iotlb!.hits, r) });
  }
  return {
    spec: iotlbMissChartSpec(rows, `${workloadOf(workload).label}: IOTLB lookups per buffer, ${kernel}`),
    summary: "Misses (red) and hits (green) of the device's IOTLB lookups per buffer. " + tlbRuns.map((r) => `${r.platform} ${r.backend}: ${per(r.iotlb!.misses, r)} misses per buffer`).join("; "),
  };
}

/** "IOTLB misses": the IOTLB lookups of the device's accesses in each run through an IOMMU. */
export function case06TlbTable(runs: readonly Case06Result[], workload: string, kernel: string): Case06Table {
  return {
    rows: runs.filter((r) => r.iotlb).map((r) => ({ platform: r.platform, backend: r.backend, strict: r.strict, "completed buffers": r.completed, "IOTLB hits": r.iotlb!.hits, "IOTLB misses": r.iotlb!.misses, "misses per buffer": r.completed ? Math.round((r.iotlb!.misses / r.completed) * 100) / 100 : null })),
    caption: `IOTLB lookups of the device's accesses, ${workloadOf(workload).label}, ${kernel}`,
  };
}

/** The model's dma_map_benchmark against the published runs (chart): `cmp` from {@link mapBenchmarkComparison}(kernel). */
export function mapBenchmarkComparisonChart(cmp: { rows: BenchmarkRow[]; runs: MapBenchmarkResult[] }, kernel: string): Case06Chart {
  return {
    spec: mapBenchmarkChartSpec(cmp.rows, `dma_map_benchmark on the arm64 server (SMMUv3, strict), model ${kernel} vs published`),
    summary:
      "The model matches the one-thread runs its SMMUv3 figures were solved from, and stays flat with more threads, where the published runs slow down (the model has no lock or command-queue contention). " +
      cmp.runs.map((r, i) => `${MAP_BENCHMARK_FIGURES[i]!.case}: model ${r.mapUs}/${r.unmapUs} µs, published ${MAP_BENCHMARK_FIGURES[i]!.mapUs}/${MAP_BENCHMARK_FIGURES[i]!.unmapUs} µs (map/unmap)`).join("; "),
  };
}

/** The model's dma_map_benchmark against the published runs (table), one row per {@link MAP_BENCHMARK_FIGURES} entry. */
export function mapBenchmarkComparisonTable(cmp: { runs: MapBenchmarkResult[] }): Case06Table {
  return {
    rows: MAP_BENCHMARK_FIGURES.map((f, i) => ({ case: f.case, "model map (µs ± sd)": `${cmp.runs[i]!.mapUs} ± ${cmp.runs[i]!.mapSdUs}`, "published map": f.mapSdUs === null ? `${f.mapUs}` : `${f.mapUs} ± ${f.mapSdUs}`, "model unmap": `${cmp.runs[i]!.unmapUs} ± ${cmp.runs[i]!.unmapSdUs}`, "published unmap": f.unmapSdUs === null ? `${f.unmapUs}` : `${f.unmapUs} ± ${f.unmapSdUs}`, "used to calibrate": f.calibrated ? "yes" : "no", source: f.source })),
    caption: "The model's dma_map_benchmark and the published runs",
  };
}

/** The reader's own dma_map_benchmark run, as the selftest's command line and its result (markdown). */
export function mapBenchmarkRunText(b: MapBenchmarkResult): string {
  return `Your run: \`dma_map_benchmark -t ${b.threads} -g ${b.granule}\` on ${b.platform}, ${b.backend}, ${b.kernel}: map ${b.mapUs} ± ${b.mapSdUs} µs, unmap ${b.unmapUs} ± ${b.unmapSdUs} µs over ${b.loops} loops (${b.failures} failed maps).`;
}

/** "Where the figures come from": every cost figure of the three platforms (data/costs/<id>.json), with its unit and source. */
export function case06CostFigureTable(): Case06Table {
  const rows: Case06Table["rows"] = [];
  for (const p of CASE06_PLATFORMS) {
    const c = loadCosts(loadPlatformProfile(p).costs ?? p);
    for (const [name, v] of Object.entries(c.params)) rows.push({ platform: p, parameter: name, value: v.value, unit: v.unit, estimate: v.estimate ? "estimate" : "measured / code fact", source: v.source });
  }
  return { rows: rows, caption: "Details: every cost figure of the three platforms, with its source" };
}
