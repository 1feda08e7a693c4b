/**
 * A machine: one board's profile, the kernel release it runs, its devices and
 * the shared trace. Model areas attach their state to it (the IOMMU domains,
 * the memory model, the CPU cache), each in its own clearly marked field.
 */
import { createPrng, type Prng } from "../core/prng.js";
import { Trace } from "../core/trace.js";
import { ModelConfigError } from "../core/errors.js";
import { parseKernelVersion, type KernelVersion } from "../kernel/version.js";
import { createDevice, type Device } from "./device.js";
import { loadPlatformProfile, validatePlatformProfile, type PlatformProfile } from "./profile.js";

/** Options for {@link createMachine}. */
export interface MachineOptions {
  /** Kernel release, "vX.Y"; default: the profile's `kernel`, else the newest modelled. */
  kernel?: string;
  /** Seed for every random choice on this machine (fragmentation, speculative fills); default 1. */
  seed?: number;
  /** Store trace events (default true; benchmarks turn it off). */
  keepEvents?: boolean;
}

/** The modelled machine. */
export class Machine {
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
      this.devices.set(d.name, createDevice(spec, { kernel: this.kernel, trace: this.trace }));
    }
  }

  // [iommu] machine-level IOMMU state (instances, domains) goes below this line.
  // [mm] machine-level memory model (memmap, zones, VA space, allocators) goes below this line.
  // [cache] machine-level CPU cache and memory contents go below this line.

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
