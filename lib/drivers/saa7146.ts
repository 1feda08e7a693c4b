/**
 * A saa7146-style driver (drivers/media/common/saa7146/saa7146_core.c, read
 * in torvalds/linux): a 32-bit PCI bus master that reads its DMA page table
 * from one coherent page of 1024 little-endian 32-bit page addresses.
 *
 * - saa7146_pgtable_alloc: dma_alloc_coherent (pci_alloc_consistent) of
 *   PAGE_SIZE for the table;
 * - saa7146_pgtable_build_single(pt, list, sglen): BUG_ON(sglen == 0); for
 *   every mapped segment, one entry per 4096 bytes of the segment's CPU
 *   length (cpu_to_le32(sg_dma_address + p * 4096): a 32-bit store, so a DMA
 *   address above 4 GiB is silently truncated); then the rest of the 1024
 *   entries is filled with the last valid entry;
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
 * first + sglen)`: one 32-bit entry per 4096 bytes of each entry's CPU
 * length from its sg_dma_address, then the fill with the last entry.
 * @returns 0. A DMA address above 0xffffffff is stored truncated (u32) and
 * recorded as a fault event (the device would DMA somewhere else).
 * @throws KernelOops for sglen 0 or a first offset above PAGE_SIZE (the
 * driver's BUG_ONs), or when the entries would overrun the table page.
 */
export function saa7146PgtableBuildSingle(dev: Device, pt: Saa7146Pgtable, sgl: readonly Scatterlist[], sglen: number, first = 0): number {
  if (sglen === 0) throw new KernelOops("kernel BUG at saa7146_pgtable_build_single: BUG_ON(0 == sglen)", 0, ["saa7146_pgtable_build_single"]);
  checkInt("saa7146PgtableBuildSingle(sglen)", sglen, 1, sgl.length - first);
  const head = sgl[first]!;
  if (head.offset > SAA7146_PAGE) throw new KernelOops("kernel BUG at saa7146_pgtable_build_single: BUG_ON(list->offset > PAGE_SIZE)", head.offset, ["saa7146_pgtable_build_single"]);
  pt.offset = head.offset;
  let n = 0;
  let truncated = 0;
  for (let i = first; i < first + sglen; i++) {
    const sg = sgl[i]!;
    for (let p = 0; p * SAA7146_PAGE < sg.length; p++) {
      if (n >= SAA7146_PGTABLE_ENTRIES) {
        dev.trace.record({ fn: "saa7146_pgtable_build_single", kind: "pgtable_overrun", level: "fault", msg: `${dev.name}: more than ${SAA7146_PGTABLE_ENTRIES} pages for one page table: the driver would write past the table page`, data: {} });
        throw new KernelOops("saa7146 page table overrun (memory corruption past the table page)", pt.cpu + SAA7146_PAGE, ["saa7146_pgtable_build_single"]);
      }
      const addr = sg.dmaAddress + p * SAA7146_PAGE;
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
 */
export function saa7146PageAddresses(sgl: readonly Scatterlist[], nents: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < nents; i++) {
    const sg = sgl[i]!;
    const len = sg.dmaLength || sg.length;
    for (let p = 0; p * SAA7146_PAGE < len; p++) out.push(sg.dmaAddress + p * SAA7146_PAGE);
  }
  return out;
}

/**
 * Build as many tables as `pageAddrs` needs (1024 entries each), storing
 * each address as the 32-bit value the card reads.
 * @returns the tables, or null if a table page cannot be allocated (the
 * tables already made are freed).
 */
export function saa7146BuildTables(dev: Device, pageAddrs: readonly number[]): Saa7146Pgtable[] | null {
  const tables: Saa7146Pgtable[] = [];
  for (let i = 0; i < pageAddrs.length; i += SAA7146_PGTABLE_ENTRIES) {
    const pt = saa7146PgtableAlloc(dev);
    if (!pt) {
      for (const t of tables) saa7146PgtableFree(dev, t);
      return null;
    }
    const chunk = pageAddrs.slice(i, i + SAA7146_PGTABLE_ENTRIES);
    const sgl = chunk.map((a) => ({ pfn: null, offset: 0, length: SAA7146_PAGE, dmaAddress: a as DmaAddr, dmaLength: SAA7146_PAGE, isLast: false, dmaBusAddress: false }));
    saa7146PgtableBuildSingle(dev, pt, sgl, sgl.length);
    tables.push(pt);
  }
  return tables;
}
