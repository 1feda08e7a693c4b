/**
 * The link from a device to the machine whose CPU cache and memory its DMA
 * acts on. lib/cache sits below lib/platform/machine.ts (dependency
 * direction), so the machine is seen through this structural interface, which
 * lib/platform/machine.ts's Machine satisfies; the device's `cacheHost` field
 * is declared here by augmenting lib/platform/device.ts's Device.
 */
import { ModelConfigError } from "../core/errors.js";
import type { Trace } from "../core/trace.js";
import type { CacheModel } from "./model.js";

/** What the cache and streaming-DMA code need from a machine. */
export interface CacheHost {
  readonly cpuCache: CacheModel;
  readonly trace: Trace;
  readonly seed: number;
  readonly kernel: { readonly name: string };
  readonly profile: {
    readonly id: string;
    readonly arch: "arm64" | "arm" | "x86_64" | "parisc";
    readonly pageSize: number;
    readonly costs?: string | undefined;
    readonly cpuCache: { readonly lineSize: number };
    readonly layout?: { readonly vaBits: 32 | 48; readonly pageOffset: string; readonly physOffset: number; readonly vmallocStart: string; readonly vmallocEnd: string } | undefined;
    readonly ram: ReadonlyArray<{ readonly base: number; readonly size: number }>;
  };
}

declare module "../platform/device.js" {
  interface Device {
    /** The machine whose CPU cache and memory this device's DMA acts on; set when a Machine adds the device. */
    cacheHost?: CacheHost;
  }
}

/** A device as far as the host link goes. */
export interface HostedDevice {
  readonly name: string;
  cacheHost?: CacheHost;
}


/**
 * The machine a device belongs to.
 * @throws ModelConfigError if the device was built outside a machine.
 */
export function hostOf(dev: HostedDevice): CacheHost {
  const h = dev.cacheHost;
  if (!h) throw new ModelConfigError("dev", dev.name, "a device of a machine (createMachine(...).device(name)), which has a CPU cache");
  return h;
}
