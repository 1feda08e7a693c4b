/**
 * A machine: one board's profile, the kernel release it runs, its devices and
 * the shared trace. Model areas attach their state to it (the IOMMU domains,
 * the memory model, the CPU cache), each in its own clearly marked field.
 */
import { createPrng, type Prng } from "../core/prng.js";
import { Trace } from "../core/trace.js";
import { ModelConfigError } from "../core/errors.js";
import { parseKernelVersion, type KernelVersion } from "../kernel/version.js";
import { createDevice, type Device, type DeviceSpec } from "./device.js";
import { loadPlatformProfile, validatePlatformProfile, type PlatformProfile } from "./profile.js";
import { CacheModel } from "../cache/model.js";
import { attachDeviceIommu, iommuDomainAdvanceTime, type Iommu } from "../iommu/domain.js";
import { addDeviceToMemoryModel, createMemoryModel, type MemoryModel } from "../mm/memory.js";
import { dmaCoherentDeviceInit } from "../dma/coherent.js";
import { costsForProfile } from "../cost/machine.js";
import type { CostValues } from "../cost/schema.js";
import type { SlabState } from "../mm/slab.js";
import type { DmaDebug } from "../dma/debug.js";
import type { DmaStreamingState } from "../dma/state.js";
import type { SwiotlbHost, SwiotlbMachineState } from "../dma/swiotlb.js";

/** Options for {@link createMachine}. */
export interface MachineOptions {
  /** Kernel release, "vX.Y"; default: the profile's `kernel`, else the newest modelled. */
  kernel?: string;
  /** Seed for every random choice on this machine (fragmentation, speculative fills); default 1. */
  seed?: number;
  /** Store trace events (default true; benchmarks turn it off). */
  keepEvents?: boolean;
  /**
   * The swiotlb pool (lib/dma/swiotlb.ts swiotlbOf): `size` in bytes (the
   * swiotlb= slab count, rounded as swiotlb_adjust_size does; default
   * IO_TLB_DEFAULT_SIZE = 64 MiB), `force` (swiotlb=force: every
   * dma-direct mapping bounces), `noforce` (swiotlb=noforce: no pool, a
   * mapping that needs one fails). Giving the option creates a pool even
   * where the architecture's boot code would not (unless noforce).
   * Validated by createMachine: size 1 MiB..1 GiB, not both force and noforce.
   */
  swiotlb?: { size?: number; force?: boolean; noforce?: boolean };
  /**
   * IOMMU boot parameters. `strict`: iommu.strict=1 (true) or =0 (false):
   * strict invalidation or the flush queue for DMA domains; absent = the
   * profile's `strict` if it has one (the board's kernel config), else the
   * release's and driver's default (lib/iommu/domain.ts iommuDmaDefaultStrict).
   * iommu.strict=0 where the release or driver has no flush queue leaves the
   * domain strict (the kernel ignores it; an info event says so).
   * Validated by createMachine (an object; strict a boolean).
   */
  iommu?: { strict?: boolean };
}

/** Online CPUs of a machine whose profile has no `cpus`: 4 (a model default, not a board fact). */
export const DEFAULT_MACHINE_CPUS = 4;

/**
 * Counters that live as long as the modelled boot (kernel statics such as
 * v6.19 drivers/dma-buf/dma-buf.c dma_buf_getfile's `dmabuf_inode`, an
 * atomic64 starting at 0 and incremented before use: the first dma-buf has
 * inode number 1). Drivers (lib/drivers/*) draw from these.
 */
export interface MachineCounters {
  /** The last dma-buf inode number handed out (0 before the first export). */
  dmaBufIno: number;
}

/**
 * The modelled machine. It implements the views the areas below it declare
 * (lib/dma/state.ts DmaMachine, lib/dma/swiotlb.ts SwiotlbHost, lib/cache
 * CacheHost, lib/mm LayoutHost), so they never import this class.
 */
export class Machine implements SwiotlbHost {
  readonly profile: PlatformProfile;
  readonly kernel: KernelVersion;
  readonly trace: Trace;
  readonly prng: Prng;
  readonly seed: number;
  /** Devices by name, created from the profile. */
  readonly devices: Map<string, Device> = new Map();

  constructor(profile: PlatformProfile, opts: MachineOptions = {}) {
    this.profile = profile;
    this.kernel = parseKernelVersion(opts.kernel ?? profile.kernel ?? "v6.19", "kernel");
    this.seed = opts.seed ?? 1;
    this.prng = createPrng(this.seed);
    this.trace = new Trace({ keepEvents: opts.keepEvents ?? true });
    this.mm = createMemoryModel(this);
    this.swiotlbOptions = Machine.checkSwiotlbOptions(opts.swiotlb);
    const io = opts.iommu;
    if (io !== undefined && (typeof io !== "object" || io === null)) throw new ModelConfigError("iommu", io, "an object { strict? }");
    if (io !== undefined && io.strict !== undefined && typeof io.strict !== "boolean") throw new ModelConfigError("iommu.strict", io.strict, "true (iommu.strict=1), false (iommu.strict=0) or absent");
    this.iommuStrict = io?.strict;
    this.cpus = profile.cpus ?? DEFAULT_MACHINE_CPUS;
    // Create each device, then attach it to its IOMMU's DMA domain, register
    // it with the memory model (per-device coherent pool) and link it to
    // this machine's CPU cache, in that order.
    for (const d of profile.devices) {
      const spec = {
        name: d.name,
        driver: d.driver,
        bus: d.bus,
        dmaMaskBits: d.dmaMaskBits,
        dmaCoherent: d.dmaCoherent,
        ...(d.coherentDmaMaskBits !== undefined ? { coherentDmaMaskBits: d.coherentDmaMaskBits } : {}),
        ...(d.busDmaLimitBits !== undefined ? { busDmaLimitBits: d.busDmaLimitBits } : {}),
        ...(d.dmaParms !== undefined ? { dmaParms: d.dmaParms } : {}),
        ...(d.dmaRanges !== undefined ? { dmaRanges: d.dmaRanges } : {}),
      };
      const dev = createDevice(spec as DeviceSpec, { kernel: this.kernel, trace: this.trace });
      this.devices.set(d.name, dev);
      attachDeviceIommu(this, dev, d);
      addDeviceToMemoryModel(this.mm, dev);
      dmaCoherentDeviceInit(this.mm, dev); // of_reserved_mem_device_init: the `memory-region` pool
      dev.cacheHost = this;
    }
  }

  /** Online CPUs (num_online_cpus()): the profile's `cpus`, else {@link DEFAULT_MACHINE_CPUS}. */
  readonly cpus: number;
  /** The iommu.strict boot parameter (MachineOptions.iommu.strict), undefined when absent. */
  readonly iommuStrict: boolean | undefined;
  /** IOMMU instances by name, created from profile.iommus as devices attach (lib/iommu/domain.ts). */
  readonly iommus: Map<string, Iommu> = new Map();
  /** The memory model (lib/mm/memory.ts): physical map, memmap, zones, kernel VA space; built on first use. */
  readonly mm: MemoryModel;
  /** The validated `swiotlb` option (MachineOptions), or undefined when not given; the pool itself is built by lib/dma/swiotlb.ts swiotlbOf. */
  readonly swiotlbOptions: { size?: number; force?: boolean; noforce?: boolean } | undefined;
  private static checkSwiotlbOptions(o: MachineOptions["swiotlb"]): MachineOptions["swiotlb"] {
    if (o === undefined) return undefined;
    if (typeof o !== "object" || o === null) throw new ModelConfigError("swiotlb", o, "an object { size?, force?, noforce? }");
    if (o.size !== undefined && (!Number.isSafeInteger(o.size) || o.size < 2 ** 20 || o.size > 2 ** 30)) throw new ModelConfigError("swiotlb.size", o.size, "an integer number of bytes in [1 MiB, 1 GiB]");
    if (o.force !== undefined && typeof o.force !== "boolean") throw new ModelConfigError("swiotlb.force", o.force, "true or false");
    if (o.noforce !== undefined && typeof o.noforce !== "boolean") throw new ModelConfigError("swiotlb.noforce", o.noforce, "true or false");
    if (o.force && o.noforce) throw new ModelConfigError("swiotlb", "force and noforce", "at most one of force, noforce");
    return { ...o };
  }
  /** Per-boot counters (see {@link MachineCounters}); every id the model hands out comes from here, so runs do not depend on what ran before. */
  readonly counters: MachineCounters = { dmaBufIno: 0 };
  // Machine-level DMA state, typed (the layers below reach it through their host interfaces).
  private costValues?: CostValues;
  /** The cost parameters (ns values) of profile.costs (data/costs/<id>.json), loaded on first use; all zero without a cost file. */
  get costs(): CostValues {
    if (!this.costValues) this.costValues = costsForProfile(this.profile.costs);
    return this.costValues;
  }
  /** The dma-debug checker (lib/dma/debug.ts enableDmaDebug); null while CONFIG_DMA_API_DEBUG is off. */
  dmaDebug: DmaDebug | null = null;
  /** The active dma-direct streaming mappings (lib/dma/state.ts streamingOf); undefined until the first DMA call. */
  dmaStreaming: DmaStreamingState | undefined = undefined;
  /** The slab arena (lib/mm/slab.ts kmalloc, stackBuffer); built on first use. */
  slabState?: SlabState;
  /** The swiotlb pool and its boot decision (lib/dma/swiotlb.ts swiotlbOf); the pool is booted on first use. */
  readonly swiotlbState: SwiotlbMachineState = { swiotlb: undefined, boot: undefined, copiedBytes: 0 };
  private cacheModel?: CacheModel;
  /**
   * The CPU data cache and memory contents (lib/cache/model.ts), built on
   * first use from profile.cpuCache with its own PRNG stream (seed + 1).
   */
  get cpuCache(): CacheModel {
    if (!this.cacheModel) {
      const c = this.profile.cpuCache;
      this.cacheModel = new CacheModel(
        { lineSize: c.lineSize, indexing: c.indexing, ...(c.wayBytes !== undefined ? { wayBytes: c.wayBytes } : {}), ...(c.sizeBytes !== undefined ? { sizeBytes: c.sizeBytes } : {}), pageSize: this.profile.pageSize },
        this.trace,
        createPrng((this.seed + 1) % 4294967296),
      );
    }
    return this.cacheModel;
  }

  /** PAGE_SIZE of this machine, bytes. */
  get pageSize(): number {
    return this.profile.pageSize;
  }

  /**
   * The device called `name`.
   * @throws ModelConfigError listing the devices the profile has.
   */
  device(name: string): Device {
    const d = this.devices.get(name);
    if (!d) throw new ModelConfigError("device", name, `one of ${[...this.devices.keys()].join(", ") || "(none)"}`);
    return d;
  }
}

/**
 * Build a machine from a profile id (data/platforms/<id>.json), a path, or an
 * already parsed profile object.
 * @throws ProfileError for an invalid profile; ModelConfigError for a bad
 * kernel release name or seed.
 */
export function createMachine(profile: string | PlatformProfile | unknown, opts: MachineOptions = {}): Machine {
  const p =
    typeof profile === "string"
      ? loadPlatformProfile(profile)
      : validatePlatformProfile(profile, "<inline profile>");
  return new Machine(p, opts);
}

/**
 * Let `ns` nanoseconds of simulated time pass on machine `m` (its trace clock,
 * m.trace.nowNs, moves on by `ns`), then run what falls due by then, in
 * order, for each IOMMU's DMA domain: the flush-queue timer
 * (fq_flush_timeout: one IOTLB flush-all, the queued IOVAs freed) and, from
 * v6.7, the rcache depot work (iova_depot_work_func every 100 ms while the
 * depot holds more magazines than CPUs). Nothing random: the same calls give
 * the same state.
 * @param ns idle time, ns: an integer >= 0.
 * @throws ModelConfigError for a negative, fractional or unsafe `ns` (nothing changes).
 * Source: drivers/iommu/dma-iommu.c fq_flush_timeout, queue_iova (v6.19);
 * drivers/iommu/iova.c fq_flush_timeout (v4.20 .. v5.16), iova_depot_work_func (v6.8.0).
 */
export function machineAdvanceTime(m: Machine, ns: number): void {
  if (!(m instanceof Machine)) throw new ModelConfigError("machineAdvanceTime(m)", m, "a Machine from createMachine");
  m.trace.advanceNs(ns);
  for (const iommu of m.iommus.values()) if (iommu.defaultDomain) iommuDomainAdvanceTime(iommu.defaultDomain, m.trace.nowNs);
}
