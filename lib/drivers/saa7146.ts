/**
 * A saa7146-style driver (drivers/media/common/saa7146/saa7146_core.c, read
 * in torvalds/linux): a 32-bit PCI bus master that reads its DMA page table
 * from one coherent page of 1024 little-endian 32-bit page addresses.
 *
 * - saa7146_pgtable_alloc: dma_alloc_coherent (pci_alloc_consistent) of
 *   PAGE_SIZE for the table;
 * - saa7146_pgtable_build_single(pt, list, sglen): BUG_ON(sglen == 0); for
 *   every mapped segment, one entry per 4096 bytes (cpu_to_le32(sg_dma_address
 *   + p * 4096): a 32-bit store, so a DMA address above 4 GiB is silently
 *   truncated) of the segment's sg_dma_len from v5.13
 *   ({@link SAA7146_SG_DMA_LEN}), of the CPU length list->length of the same
 *   sg element before; then the rest of the 1024 entries is filled with the
 *   last valid entry. The two agree unless the map merged entries (an
 *   IOMMU through dma-iommu: AMD from v5.5, Intel VT-d from v5.11): then the
 *   old loop writes one entry per CPU page for a segment covering several, the
 *   later segments start at the wrong index and the fill repeats the last
 *   entry, so the card writes frame pages to the wrong IOVAs;
 * - saa7146_vmalloc_build_pgtable(length): vmalloc_32(length), the driver's
 *   vmalloc_to_sg, the table, pci_map_sg(..., PCI_DMA_FROMDEVICE), the table
 *   built from the mapped list; each failure unwinds.
 *
 * Model notes: a buffer of more than 1024 pages (4 MiB) needs more than one
 * table; the model builds ceil(pages / 1024) tables (the real driver uses one
 * per plane and never more than 4 MiB per table), so large buffers can be
 * explored. Writing past 1024 entries in one table would overrun the page:
 * recorded as a fault event and refused.
 */
import { u32, checkInt } from "../core/arith.js";
import type { DmaAddr, VirtAddr } from "../core/addr.js";
import { KernelOops } from "../core/errors.js";
import type { Device } from "../platform/device.js";
import { dmaAllocCoherent, dmaFreeCoherent } from "../dma/mapping.js";
import type { Scatterlist } from "../sg/scatterlist.js";
import { atLeast, defineChange } from "../kernel/version.js";
import { iommuIovaToPhys } from "../iommu/io-pgtable.js";

/**
 * v5.13: saa7146_pgtable_build_single walks each DMA segment for its
 * sg_dma_len instead of the CPU length of the sg element at the same index.
 * Fixes the table after be62dbf554c5 (AMD IOMMU on dma-iommu, v5.5), whose
 * iommu_dma_map_sg merges entries.
 */
export const SAA7146_SG_DMA_LEN = defineChange({
  id: "saa7146-sg-dma-len",
  since: "v5.13",
  commit: "e56429b09d5e",
  subject: "media: saa7146: use sg_dma_len when building pgtable",
  files: ["drivers/media/common/saa7146/saa7146_core.c", "drivers/media/common/saa7146/saa7146_video.c"],
  effect:
    "the page-table loop runs while p * 4096 < sg_dma_len(list); before, while p * 4096 < list->length, so a merged DMA segment got one entry per CPU page of its first element. Mainline v5.13 (Hans Verkuil's media pull for v5.13); backported to stable (present in v5.10.89 and v5.12.9, not modelled).",
  bracket:
    "absent in v5.11.0 (CompressionDuck/linux-5.11, drivers/media/common/saa7146/saa7146_core.c:saa7146_pgtable_build_single: p * 4096 < list->length), present in v5.14.2 (Kingdo777/linux-5.14.2-faascale-host, same function: p * 4096 < sg_dma_len(list)); v5.12.9 (zhangyinjun) has it as a stable backport",
});

/** Entries in one saa7146 page table (one 4 KiB page of __le32). */
export const SAA7146_PGTABLE_ENTRIES = 1024;
/** The device's page size: the table's entries step by 4096 whatever PAGE_SIZE is. */
export const SAA7146_PAGE = 4096;

/** struct saa7146_pgtable. */
export interface Saa7146Pgtable {
  /** CPU address and DMA handle of the table page (dma_alloc_coherent). */
  cpu: VirtAddr;
  dma: DmaAddr;
  size: number;
  /** pt->offset: the first segment's offset in its page. */
  offset: number;
  /** The 1024 entries as the device reads them (32-bit values). */
  entries: number[];
  /** Valid entries written before the fill. */
  nrPages: number;
  /** Entries whose DMA address did not fit in 32 bits (stored truncated). */
  truncated: number;
}

/**
 * saa7146_pgtable_alloc(pci, pt): one coherent page for the table.
 * @returns the table (entries zero), or null (-ENOMEM).
 */
/**
 * The page addresses the driver writes for one segment: start, start + 4 KiB,
 * ... while below `len` bytes (the loop of saa7146_pgtable_build_single over
 * one scatterlist entry, drivers/media/common/saa7146/saa7146_core.c).
 */
function pushSegmentPageAddrs(out: number[], start: number, len: number): void {
  for (let p = 0; p * SAA7146_PAGE < len; p++) out.push(start + p * SAA7146_PAGE);
}

export function saa7146PgtableAlloc(dev: Device): Saa7146Pgtable | null {
  const b = dmaAllocCoherent(dev, SAA7146_PAGE);
  if (!b) return null;
  return { cpu: b.cpuAddr, dma: b.dmaHandle, size: SAA7146_PAGE, offset: 0, entries: new Array<number>(SAA7146_PGTABLE_ENTRIES).fill(0), nrPages: 0, truncated: 0 };
}

/** saa7146_pgtable_free(pci, pt): dma_free_coherent of the table page. */
export function saa7146PgtableFree(dev: Device, pt: Saa7146Pgtable): void {
  dmaFreeCoherent(dev, pt.size, pt.cpu, pt.dma);
}

/**
 * saa7146_pgtable_build_single(pci, pt, list, sglen) over `sgl[first ..
 * first + sglen)`: one 32-bit entry per 4096 bytes of each entry's
 * sg_dma_len (v5.13+) or CPU length (before) from its sg_dma_address, then
 * the fill with the last entry.
 * @returns 0. A DMA address above 0xffffffff is stored truncated (u32) and
 * recorded as a fault event (the device would DMA somewhere else).
 * @throws KernelOops for sglen 0 or a first offset above PAGE_SIZE (the
 * driver's BUG_ONs), or when the entries would overrun the table page.
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function saa7146PgtableBuildSingle(dev: Device, pt: Saa7146Pgtable, sgl: readonly Scatterlist[], sglen: number, first = 0): number {
  checkInt("saa7146PgtableBuildSingle(first)", first, 0, Math.max(sgl.length - 1, 0));
  if (sglen === 0) throw new KernelOops("kernel BUG at saa7146_pgtable_build_single: BUG_ON(0 == sglen)", 0, ["saa7146_pgtable_build_single"]);
  checkInt("saa7146PgtableBuildSingle(sglen)", sglen, 1, sgl.length - first);
  const head = sgl[first]!;
  if (head.offset > SAA7146_PAGE) throw new KernelOops("kernel BUG at saa7146_pgtable_build_single: BUG_ON(list->offset > PAGE_SIZE)", head.offset, ["saa7146_pgtable_build_single"]);
  pt.offset = head.offset;
  let n = 0;
  let truncated = 0;
  const dmaLen = atLeast(dev.kernel, SAA7146_SG_DMA_LEN);
  for (let i = first; i < first + sglen; i++) {
    const sg = sgl[i]!;
    const len = dmaLen ? sg.dmaLength : sg.length;
    for (let pg = 0; pg * SAA7146_PAGE < len; pg++) {
      // the page addresses of the segment, as pushSegmentPageAddrs lists them
      const addr = sg.dmaAddress + pg * SAA7146_PAGE;
      if (n >= SAA7146_PGTABLE_ENTRIES) {
        dev.trace.record({ fn: "saa7146_pgtable_build_single", kind: "pgtable_overrun", level: "fault", msg: `${dev.name}: more than ${SAA7146_PGTABLE_ENTRIES} pages for one page table: the driver would write past the table page`, data: {} });
        throw new KernelOops("saa7146 page table overrun (memory corruption past the table page)", pt.cpu + SAA7146_PAGE, ["saa7146_pgtable_build_single"]);
      }
      const v = u32(addr);
      if (v !== addr) truncated++;
      pt.entries[n++] = v;
    }
  }
  for (let i = n; i < SAA7146_PGTABLE_ENTRIES; i++) pt.entries[i] = pt.entries[n - 1]!;
  pt.nrPages = n;
  pt.truncated = truncated;
  if (truncated) {
    dev.trace.record({
      fn: "saa7146_pgtable_build_single",
      kind: "dma_addr_truncated",
      level: "fault",
      msg: `${dev.name}: ${truncated} page address(es) above 4 GiB stored as 32 bits (cpu_to_le32): the card would DMA to the wrong page`,
      data: { truncated },
    });
  }
  return 0;
}

/**
 * The list of 4 KiB device page addresses a set of mapped segments
 * describes (what the tables hold, before truncation), bytes.
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function saa7146PageAddresses(sgl: readonly Scatterlist[], nents: number): number[] {
  checkInt("saa7146PageAddresses(nents)", nents, 0, sgl.length);
  const out: number[] = [];
  for (let i = 0; i < nents; i++) {
    const sg = sgl[i]!;
    const len = sg.dmaLength || sg.length;
    pushSegmentPageAddrs(out, sg.dmaAddress, len);
  }
  return out;
}

/** v5.5: the AMD IOMMU driver gives up its own DMA ops for dma-iommu (whose map_sg merges segments). */
export const AMD_IOMMU_DMA_IOMMU = defineChange({
  id: "amd-iommu-dma-iommu",
  since: "v5.5",
  commit: "be62dbf554c5",
  subject: "iommu/amd: Convert AMD iommu driver to the dma-iommu api",
  files: ["drivers/iommu/amd_iommu.c"],
  effect: "AMD IOMMU devices map through iommu_dma_map_sg, which merges IOVA-contiguous entries into one DMA segment; before, amd_iommu_dma_ops' map_sg gave one DMA segment per entry.",
  bracket:
    "absent in v5.4.0 (MrJu/linux-5.4, drivers/iommu/amd_iommu.c: amd_iommu_dma_ops with its own map_sg), present in v5.6.4 (shmily1012/linux-5.6.4, same file: no amd_iommu_dma_ops, iommu_setup_dma_ops in the probe_finalize path); no v5.5 tree, v5.5 from list mails",
});

/** v5.11: the Intel VT-d driver gives up intel_dma_ops for dma-iommu. */
export const INTEL_IOMMU_DMA_IOMMU = defineChange({
  id: "intel-iommu-dma-iommu",
  since: "v5.11",
  commit: "c588072bba6b (recalled, not verified)",
  subject: "iommu/vt-d: Convert intel iommu driver to the iommu ops",
  files: ["drivers/iommu/intel/iommu.c"],
  effect: "VT-d devices map through iommu_dma_map_sg (segments merged); before, intel_dma_ops' intel_map_sg gave each entry its own DMA segment in one IOVA range.",
  bracket:
    "absent in v5.10.89 (Prashant446/linux-5.10.89, drivers/iommu/intel/iommu.c: intel_dma_ops, intel_map_sg), present in v5.11.0 (CompressionDuck/linux-5.11, same file: intel_iommu_probe_finalize calls iommu_setup_dma_ops; no intel_map_sg)",
});

/**
 * The IOMMU driver's own DMA ops that the release still used instead of
 * dma-iommu for `dev` (so its map_sg did not merge segments), or null (no
 * IOMMU, or dma-iommu). The model maps every IOMMU device through dma-iommu;
 * this tells case 04 where the kernel did not.
 */
export function iommuOwnDmaOps(dev: Device): string | null {
  const drv = dev.iommuDomain?.iommu.driver;
  if (drv === "intel-iommu" && !atLeast(dev.kernel, INTEL_IOMMU_DMA_IOMMU)) return "intel_dma_ops (intel_map_sg)";
  if (drv === "amd-iommu" && !atLeast(dev.kernel, AMD_IOMMU_DMA_IOMMU)) return "amd_iommu_dma_ops (map_sg)";
  return null;
}

/** What the card does with a table the driver built, compared with the buffer's real IOVAs. */
export interface Saa7146DriverTable {
  /** The 4 KiB addresses the card uses for frame pages 0 .. framePages - 1 (written entries, then the fill). */
  entries: number[];
  /** Entries the driver wrote before the fill. */
  written: number;
  /** Frame pages whose entry is not the DMA address of that page of the buffer. */
  misdirected: number;
  /** Entries whose address the device's IOMMU domain does not translate (an IOMMU fault on access); 0 without an IOMMU. */
  unmapped: number;
  /**
   * The IOMMU driver's own DMA ops on this release ({@link iommuOwnDmaOps}):
   * their map_sg does not merge, so the kernel's table is right whatever the
   * loop bound; the table is then computed from the unmerged pages.
   */
  iommuOwnOps: string | null;
}

/**
 * The table saa7146_pgtable_build_single makes for `sglen` mapped segments,
 * by release (see {@link saa7146PgtableBuildSingle}: sg_dma_len from v5.13,
 * the CPU length of the same sg element before), followed by the fill up to
 * `framePages` entries, compared with the DMA addresses of the buffer's
 * pages (each segment's sg_dma_len cut into 4 KiB pages). Entries above
 * 4 GiB are not truncated here. When the release's IOMMU driver still had
 * its own DMA ops ({@link iommuOwnDmaOps}: no merging in the kernel), the
 * table is the right one (the CPU and DMA lengths agree there). Model helper
 * for case 04.
 * @throws ModelConfigError for sglen outside [1, sgl.length] or framePages < 1.
 */
export function saa7146DriverTable(dev: Device, sgl: readonly Scatterlist[], sglen: number, framePages: number): Saa7146DriverTable {
  checkInt("saa7146DriverTable(sglen)", sglen, 1, sgl.length);
  checkInt("saa7146DriverTable(framePages)", framePages, 1);
  const ownOps = iommuOwnDmaOps(dev);
  const dmaLen = ownOps !== null || atLeast(dev.kernel, SAA7146_SG_DMA_LEN);
  const entries: number[] = [];
  for (let i = 0; i < sglen; i++) {
    const sg = sgl[i]!;
    const len = dmaLen ? sg.dmaLength : sg.length;
    pushSegmentPageAddrs(entries, sg.dmaAddress, len);
  }
  const written = entries.length;
  // the right addresses (saa7146PageAddresses: each segment's sg_dma_len, or its length where that is 0) are the
  // `written` entries themselves when every segment's length the table was built from is that one
  let same = true;
  for (let i = 0; same && i < sglen; i++) {
    const sg = sgl[i]!;
    if ((dmaLen ? sg.dmaLength : sg.length) !== (sg.dmaLength || sg.length)) same = false;
  }
  const right = same ? null : saa7146PageAddresses(sgl, sglen);
  while (entries.length < framePages) entries.push(entries[written - 1]!);
  let misdirected = 0;
  let unmapped = 0;
  const dom = dev.iommuDomain;
  for (let k = 0; k < framePages; k++) {
    const rk = right === null ? (k < written ? entries[k] : undefined) : right[k];
    if (entries[k] !== rk) misdirected++;
    if (dom && iommuIovaToPhys(dom, entries[k]!) === null) unmapped++;
  }
  // the first framePages entries (the list itself when it has no more)
  if (entries.length > framePages) entries.length = framePages;
  return { entries, written, misdirected, unmapped, iommuOwnOps: ownOps };
}

/**
 * Make `sgl` the n 4 KiB entries of pageAddrs[from, from + n): the entries
 * it has are given the addresses, the rest are made, and any beyond n are
 * dropped. (A loop of its own: a per-page loop inside the per-table loop
 * had V8 compile on-stack-replacement code for it and throw that code away
 * at each table's end.)
 */
function tableEntries(sgl: Scatterlist[], pageAddrs: readonly number[], from: number, n: number): void {
  for (let k = 0; k < n; k++) {
    const a = pageAddrs[from + k]! as DmaAddr;
    if (k < sgl.length) sgl[k]!.dmaAddress = a;
    else sgl.push({ pfn: null, offset: 0, length: SAA7146_PAGE, dmaAddress: a, dmaLength: SAA7146_PAGE, isLast: false, dmaBusAddress: false });
  }
  if (sgl.length > n) sgl.length = n;
}

/**
 * Build as many tables as `pageAddrs` needs (1024 entries each), storing
 * each address as the 32-bit value the card reads.
 * @returns the tables, or null if a table page cannot be allocated (the
 * tables already made are freed).
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function saa7146BuildTables(dev: Device, pageAddrs: readonly number[]): Saa7146Pgtable[] | null {
  // 64-bit dma_addr_t values are legal here: the driver truncates them to 32 bits (the case-04 finding)
  // (indexed: this runs per page, and an unoptimized for-of makes an iterator result per page)
  for (let i = 0; i < pageAddrs.length; i++) checkInt("saa7146BuildTables(pageAddrs)", pageAddrs[i]!);
  const tables: Saa7146Pgtable[] = [];
  // one 4 KiB sg entry per address, for one table at a time: the entries are made once and given the next
  // table's addresses (saa7146PgtableBuildSingle reads them and keeps none)
  const sgl: Scatterlist[] = [];
  for (let i = 0; i < pageAddrs.length; i += SAA7146_PGTABLE_ENTRIES) {
    const pt = saa7146PgtableAlloc(dev);
    if (!pt) {
      for (const t of tables) saa7146PgtableFree(dev, t);
      return null;
    }
    tableEntries(sgl, pageAddrs, i, Math.min(SAA7146_PGTABLE_ENTRIES, pageAddrs.length - i));
    saa7146PgtableBuildSingle(dev, pt, sgl, sgl.length);
    tables.push(pt);
  }
  return tables;
}
