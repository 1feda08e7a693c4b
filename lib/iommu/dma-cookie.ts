/**
 * The per-device state of iommu-dma, typed: the model's counterpart of the
 * kernel's iommu_dma_cookie (drivers/iommu/dma-iommu.c, hung on the domain as
 * domain->iova_cookie). The kernel's cookie holds the IOVA domain (here
 * IommuDomain.iovad) and the flush queue; the model adds what it tracks to
 * act out and check DMA: the active streaming mappings (for device accesses
 * and speculative-fill ranges), the live coherent allocations (the kernel
 * finds them through the vm area or the page), the resources mapped with
 * dma_map_resource, and the layout of the last map_sg (for charts). It is
 * kept per device (a device's `iommuDmaCookie`, declared here by augmenting
 * lib/platform/device.ts), created on first use by {@link iommuDmaCookieOf}.
 */
import type { DmaAddr, Pfn, VirtAddr } from "../core/addr.js";
import type { Device } from "../platform/device.js";
import type { Scatterlist } from "../sg/scatterlist.js";

/** One input entry as iommu_dma_map_sg laid it out in IOVA space. Bytes; addresses absolute. */
export interface MapSgSegmentLayout {
  index: number;
  /** sg_phys of the entry (offset included), or null for a page-less entry. */
  phys: number | null;
  /** The entry's original offset and length. */
  offset: number;
  length: number;
  /** iova_offset(offset): the entry's offset inside its first granule. */
  iovaOffset: number;
  /** IOVA of the entry's aligned start (its granule), and its granule-aligned length. */
  iovaStart: number;
  iovaLength: number;
  /** Padding appended after this entry (because of the next one), bytes. */
  padding: number;
}

/** What one iommu_dma_map_sg call did: layout and outcome. */
export interface MapSgLayout {
  kernel: string;
  /** "natural-align" (v4.4..v4.6) or "boundary-merge" (v4.7+). */
  form: "natural-align" | "boundary-merge";
  /** Start of the IOVA allocation (0 if it failed). */
  iovaBase: number;
  /** Bytes laid out (segments + padding), the size passed to the allocator. */
  iovaLen: number;
  /** Bytes the allocator reserved (after rounding), 0 on failure. */
  iovaAllocBytes: number;
  segBoundaryMask: number;
  maxSegSize: number;
  segments: MapSgSegmentLayout[];
  /** PTEs written by iommu_map_sg. */
  pteWrites: number;
  /** The DMA segments __finalise_sg produced (sg_dma_address, sg_dma_len of the first `ret` entries), empty on failure. */
  dmaSegments: Array<{ dmaAddress: number; dmaLength: number }>;
  /** Return value of iommu_dma_map_sg. */
  ret: number;
}

/** One physically contiguous piece of an active iommu-dma streaming mapping. */
export interface IommuMappedPiece {
  /** Physical start and length, bytes. */
  readonly paddr: number;
  readonly size: number;
  readonly specId: number;
}

/** An active iommu-dma streaming mapping (single buffer or scatterlist), as the model tracks it. */
export interface IommuStreamingMapping {
  readonly kind: "single" | "sg";
  /** The handle (single) or the first segment's DMA address (sg), bytes. */
  readonly dmaAddr: number;
  /** Bytes the caller asked for (single) or the sum of the DMA segment lengths (sg). */
  readonly size: number;
  readonly dir: number;
  readonly pieces: readonly IommuMappedPiece[];
}

/** A coherent buffer from iommuDmaAlloc (lib/iommu/dma-iommu-alloc.ts): what dma_alloc_attrs returns plus how it was built. */
export interface IommuCoherentBuffer {
  /** CPU address (vmalloc space for a remapped buffer, linear map otherwise). */
  cpuAddr: VirtAddr;
  /** The IOVA handle the device uses. */
  dmaHandle: DmaAddr;
  /** Bytes requested. */
  size: number;
  /** "remap": a vmalloc-space CPU mapping; "linear-map": page_address of a contiguous block. */
  how: "remap" | "linear-map";
  /** The kernel path that built it. */
  path: "iommu_dma_alloc_remap" | "iommu_dma_alloc_pages";
  /** The pages, in buffer order (PAGE_ALIGN(size) / PAGE_SIZE pfns). */
  pages: Pfn[];
}

/** What iommu-dma remembers of a live coherent allocation (the kernel finds it through the vm area or the page). */
export interface IommuAllocRecord {
  buf: IommuCoherentBuffer;
  /** Page-source blocks to give back: first pfn of each. */
  blocks: number[];
}


/** The per-device iommu-dma state. */
export interface IommuDmaCookie {
  /** Active streaming mappings by handle (single) or first segment's DMA address (sg). */
  readonly streaming: Map<number, IommuStreamingMapping>;
  /** Live coherent allocations by CPU address. */
  readonly allocs: Map<number, IommuAllocRecord>;
  /** dma_map_resource mappings by handle: the one-entry list they were mapped with. */
  readonly resources: Map<number, Scatterlist>;
  /** The layout of the last iommu_dma_map_sg call (kept after unmap), or null. */
  lastMapSgLayout: MapSgLayout | null;
  /**
   * v6.6+: dev->iommu->pci_32bit_workaround has been cleared (the
   * below-4-GiB first attempt failed once); absent or false while it holds.
   */
  pci32bitWorkaroundCleared?: boolean;
}

declare module "../platform/device.js" {
  interface Device {
    /** iommu-dma's per-device state ({@link iommuDmaCookieOf}); absent until the device first uses iommu-dma. */
    iommuDmaCookie?: IommuDmaCookie;
  }
}

/** The device's iommu-dma cookie, created empty on first use. */
export function iommuDmaCookieOf(dev: Device): IommuDmaCookie {
  if (!dev.iommuDmaCookie) dev.iommuDmaCookie = { streaming: new Map(), allocs: new Map(), resources: new Map(), lastMapSgLayout: null };
  return dev.iommuDmaCookie;
}
