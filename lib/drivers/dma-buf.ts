/**
 * dma-buf core (drivers/dma-buf/dma-buf.c, read at v5.4.6 and v6.19): an
 * exporter wraps a buffer in a dma_buf with its ops; importers attach their
 * device and ask for the buffer mapped for it (dma_buf_map_attachment, which
 * calls the exporter's map_dma_buf and returns the exporter's sg_table with
 * DMA addresses for the importer's device).
 *
 * Modelled: export, attach (ops->attach), map (ops->map_dma_buf; the result
 * cached per attachment as the core does for dynamic/cached mappings is not
 * modelled: each map calls the exporter), unmap, detach, and
 * CONFIG_DMABUF_DEBUG (84335675f222, v5.12): after the exporter mapped the
 * table, the core mangles every entry's page pointer (page_link XOR ~0xff:
 * every bit but the low 8 flipped) so importers that touch sg_page() crash;
 * unmap restores them. Importers may only use sg_dma_address / sg_dma_len.
 *
 * Also here: {@link importerMapPageWork}, the page-based work the importer's
 * dma_map_sg does per architecture before it computes DMA addresses (cache
 * maintenance through the page's kernel alias, page flag reads), which is
 * where a page without memmap or without a linear alias faults.
 */
import { checkInt, hex } from "../core/arith.js";
import { VA_BITS_48_SPAN } from "../core/addr.js";
import { KernelOops, ModelConfigError } from "../core/errors.js";
import { atLeast, defineChange } from "../kernel/version.js";
import { kernelFunctionName } from "../kernel/api-changes.js";
import type { Device } from "../platform/device.js";
import type { Machine } from "../platform/machine.js";
import { hostOf } from "../cache/host.js";
import { mmOfDevice, type MemoryModel, type Page } from "../mm/memory.js";
import type { Scatterlist, SgTable } from "../sg/scatterlist.js";
import { useDmaIommu } from "../dma/mapping.js";
import { archHooksOf } from "../dma/arch/index.js";
import { DMA_FROM_DEVICE, validDmaDirection } from "../core/dma-types.js";
import { armUsesLegacyOps } from "../dma/arch/arm-dma-mapping.js";

/** CONFIG_DMABUF_DEBUG: page pointers of mapped tables are mangled. */
export const DMABUF_DEBUG = defineChange({
  id: "dmabuf-debug-mangle",
  since: "v5.12",
  commit: "84335675f222",
  subject: "dma-buf: Add debug option",
  files: ["drivers/dma-buf/dma-buf.c", "drivers/dma-buf/Kconfig"],
  effect: "with CONFIG_DMABUF_DEBUG, dma_buf_map_attachment flips the page pointers of the returned sg_table (restored on unmap) so an importer touching sg_page() faults",
  bracket: "absent in v5.11.0 (CompressionDuck/linux-5.11, drivers/dma-buf/dma-buf.c: no mangle_sg_table), present in v5.12.9 (zhangyinjun/linux-5.12.9, drivers/dma-buf/dma-buf.c:mangle_sg_table, Kconfig DMABUF_DEBUG)",
});

/** Exporter callbacks (struct dma_buf_ops), the subset modelled. */
export interface DmaBufOps {
  /** ops->attach: 0 or -errno. */
  attach?(dmabuf: DmaBuf, attachment: DmaBufAttachment): number;
  /** ops->detach. */
  detach?(dmabuf: DmaBuf, attachment: DmaBufAttachment): void;
  /** ops->map_dma_buf: the table mapped for attachment.dev, or -errno. May throw KernelOops. */
  mapDmaBuf(attachment: DmaBufAttachment, dir: number): SgTable | number;
  /** ops->unmap_dma_buf. */
  unmapDmaBuf(attachment: DmaBufAttachment, sgt: SgTable, dir: number): void;
  /** ops->release. */
  release?(dmabuf: DmaBuf): void;
}

/** struct dma_buf. */
export interface DmaBuf {
  readonly id: number;
  /** Bytes. */
  readonly size: number;
  /** exp_name: the exporting driver. */
  readonly expName: string;
  readonly ops: DmaBufOps;
  /** The exporter's private data. */
  readonly priv: unknown;
  readonly attachments: DmaBufAttachment[];
  /** CONFIG_DMABUF_DEBUG in force for this buffer. */
  readonly debug: boolean;
  released: boolean;
}

/** struct dma_buf_attachment. */
export interface DmaBufAttachment {
  readonly dmabuf: DmaBuf;
  readonly dev: Device;
  /** The exporter's per-attachment data (vb2: its copy of the sg table). */
  priv: unknown;
  /** Currently mapped table (null when not mapped). */
  sgt: SgTable | null;
  dir: number | null;
}

/** dma_buf_export_info, the fields modelled. */
export interface DmaBufExportInfo {
  expName: string;
  ops: DmaBufOps;
  size: number;
  priv: unknown;
  /** Kernel release, for CONFIG_DMABUF_DEBUG availability. */
  kernel: Device["kernel"];
  /**
   * The exporting device (not a field of the kernel's exp_info): the model
   * reaches the machine through it, whose per-boot counter numbers the
   * dma-buf (the inode number, dma_buf_getfile).
   */
  exporter: Device;
  /** CONFIG_DMABUF_DEBUG=y (only exists from v5.12; ignored before). */
  debug?: boolean;
}

/**
 * dma_buf_export(exp_info). The id is the machine's next dma-buf inode
 * number (v6.19 dma_buf_getfile: atomic64_inc_return(&dmabuf_inode), a
 * per-boot counter: 1 for the first buffer of a machine), so the same
 * calls on a fresh machine give the same ids whatever ran before.
 * @throws ModelConfigError for a zero size, missing map/unmap ops (the
 * kernel's -EINVAL WARN) or an exporter that is not a machine's device.
 */
export function dmaBufExport(info: DmaBufExportInfo): DmaBuf {
  checkInt("dmaBufExport(size)", info.size, 1);
  if (!info.ops || typeof info.ops.mapDmaBuf !== "function" || typeof info.ops.unmapDmaBuf !== "function") {
    throw new ModelConfigError("dmaBufExport(ops)", "incomplete", "ops with mapDmaBuf and unmapDmaBuf");
  }
  const machine = (info.exporter && typeof info.exporter === "object" && info.exporter.cacheHost ? hostOf(info.exporter) : null) as unknown as Machine | null;
  if (!machine || !machine.counters) throw new ModelConfigError("dmaBufExport(exporter)", info.exporter?.name, "a device of a machine (createMachine)");
  machine.counters.dmaBufIno += 1;
  return {
    id: machine.counters.dmaBufIno,
    size: info.size,
    expName: info.expName,
    ops: info.ops,
    priv: info.priv,
    attachments: [],
    debug: !!info.debug && atLeast(info.kernel, DMABUF_DEBUG),
    released: false,
  };
}

/**
 * dma_buf_attach(dmabuf, dev): create an attachment and call ops->attach.
 * @returns the attachment, or -errno from the exporter (then nothing is attached).
 * @throws ModelConfigError for a released buffer.
 */
export function dmaBufAttach(dmabuf: DmaBuf, dev: Device): DmaBufAttachment | number {
  if (dmabuf.released) throw new ModelConfigError("dmaBufAttach(dmabuf)", dmabuf.id, "a live dma-buf");
  const a: DmaBufAttachment = { dmabuf, dev, priv: null, sgt: null, dir: null };
  if (dmabuf.ops.attach) {
    const r = dmabuf.ops.attach(dmabuf, a);
    if (r !== 0) return r;
  }
  dmabuf.attachments.push(a);
  dev.trace.record({ fn: "dma_buf_attach", kind: "dmabuf_attach", msg: `${dev.name} attached to dma-buf ${dmabuf.id} (${dmabuf.expName})`, data: { id: dmabuf.id } });
  return a;
}

/** The mangled page pointers of tables returned under CONFIG_DMABUF_DEBUG. */
declare module "../sg/scatterlist.js" {
  interface Scatterlist {
    /** CONFIG_DMABUF_DEBUG: the mangled page pointer this entry carries while mapped for an importer; absent = not mangled. */
    dmabufMangledPage?: number;
  }
}

/** The struct page address an entry's page_link holds after mangle_sg_table: every bit but the low 8 flipped. */
export function mangledPageAddress(pageAddress: number, vaBits: 32 | 48): number {
  const span = vaBits === 48 ? VA_BITS_48_SPAN : 2 ** 32;
  const low8 = pageAddress % 256;
  return span - 1 - pageAddress - (255 - low8) + low8;
}

/** True iff the entry's page pointer is currently mangled by CONFIG_DMABUF_DEBUG. */
export function isMangled(sg: Scatterlist): boolean {
  return sg.dmabufMangledPage !== undefined;
}

/**
 * dma_buf_map_attachment(attach, dir): the exporter's table for attach->dev.
 * With CONFIG_DMABUF_DEBUG the page pointers are mangled before returning.
 * @returns the table, or -errno from the exporter.
 * @throws KernelOops if the exporter's mapping faults (recorded as an `oops` event);
 * ModelConfigError for a bad direction or an attachment that is already mapped.
 */
export function dmaBufMapAttachment(attach: DmaBufAttachment, dir: number): SgTable | number {
  if (!validDmaDirection(dir)) throw new ModelConfigError("dmaBufMapAttachment(dir)", dir, "DMA_BIDIRECTIONAL, DMA_TO_DEVICE or DMA_FROM_DEVICE");
  if (attach.sgt) throw new ModelConfigError("dmaBufMapAttachment(attach)", attach.dev.name, "an attachment that is not mapped yet");
  const r = attach.dmabuf.ops.mapDmaBuf(attach, dir);
  if (typeof r === "number") return r;
  if (attach.dmabuf.debug) {
    const mm = mmOfDevice(attach.dev);
    for (const s of r.sgl) if (s.pfn !== null) s.dmabufMangledPage = mangledPageAddress(mm.pageAddressOf(s.pfn), mm.layout.vaBits);
  }
  attach.sgt = r;
  attach.dir = dir;
  attach.dev.trace.record({ fn: "dma_buf_map_attachment", kind: "dmabuf_map", msg: `dma-buf ${attach.dmabuf.id} mapped for ${attach.dev.name}: ${r.nents} DMA segment(s)${attach.dmabuf.debug ? " (page pointers mangled: CONFIG_DMABUF_DEBUG)" : ""}`, data: { nents: r.nents } });
  return r;
}

/**
 * dma_buf_unmap_attachment(attach, sgt, dir): restore mangled pointers, call ops->unmap_dma_buf.
 * @throws ModelConfigError if `sgt` is not the attachment's mapped table.
 */
export function dmaBufUnmapAttachment(attach: DmaBufAttachment, sgt: SgTable, dir: number): void {
  if (!validDmaDirection(dir)) throw new ModelConfigError("dmaBufUnmapAttachment(dir)", dir, "DMA_BIDIRECTIONAL, DMA_TO_DEVICE or DMA_FROM_DEVICE");
  if (attach.sgt !== sgt) throw new ModelConfigError("dmaBufUnmapAttachment(sgt)", "other table", "the table dmaBufMapAttachment returned for this attachment");
  for (const s of sgt.sgl) delete s.dmabufMangledPage;
  attach.dmabuf.ops.unmapDmaBuf(attach, sgt, dir);
  attach.sgt = null;
  attach.dir = null;
}

/**
 * dma_buf_detach(dmabuf, attach).
 * @throws ModelConfigError if the attachment is still mapped or not attached to this buffer.
 */
export function dmaBufDetach(dmabuf: DmaBuf, attach: DmaBufAttachment): void {
  const i = dmabuf.attachments.indexOf(attach);
  if (i < 0) throw new ModelConfigError("dmaBufDetach(attach)", attach.dev.name, "an attachment of this dma-buf");
  if (attach.sgt) throw new ModelConfigError("dmaBufDetach(attach)", attach.dev.name, "an unmapped attachment (call dmaBufUnmapAttachment first)");
  dmabuf.attachments.splice(i, 1);
  if (dmabuf.ops.detach) dmabuf.ops.detach(dmabuf, attach);
}

/**
 * dma_buf_put on the last reference: ops->release.
 * @throws ModelConfigError while attachments remain.
 */
export function dmaBufRelease(dmabuf: DmaBuf): void {
  if (dmabuf.attachments.length) throw new ModelConfigError("dmaBufRelease(dmabuf)", dmabuf.id, "a dma-buf with no attachments left");
  if (dmabuf.ops.release) dmabuf.ops.release(dmabuf);
  dmabuf.released = true;
}

/**
 * Record the kernel's paging-request oops and throw KernelOops.
 * Message format as arch/arm64/mm/fault.c / arch/arm/mm/fault.c print it.
 */
function pagingOops(dev: Device, mm: MemoryModel, address: number, callChain: readonly string[], why: string, addressText?: string): never {
  const addrStr = (addressText ?? mm.fmtVa(address)).slice(2);
  const head = /^0*$/.test(addrStr.slice(0, -4)) ? "Unable to handle kernel NULL pointer dereference" : "Unable to handle kernel paging request";
  const msg = `${head} at virtual address ${addrStr}`;
  dev.trace.record({ fn: callChain[0] ?? "?", kind: "oops", level: "fault", msg: `${msg} (${why})`, data: { address, chain: callChain.join(" <- ") } });
  throw new KernelOops(msg, address, callChain);
}

/** What the importer's dma_map_sg did with one entry's page before computing its DMA address. */
export interface PageWork {
  index: number;
  page: Page | null;
  /** The kernel VA the cache maintenance used, if any. */
  aliasVa: number | null;
  note: string;
}

/**
 * The page-based work of the importer's dma_map_sg, per architecture, done
 * before the DMA addresses are computed (the model then calls the real map
 * through lib/dma/mapping.ts). Throws KernelOops (after recording the event)
 * where the kernel faults:
 * - 32-bit ARM (arm_dma_map_sg / arm_iommu_map_sg's __map_sg_chunk before
 *   v5.19, arch_sync_dma_for_device after), non-coherent device:
 *   __dma_page_cpu_to_dev -> dma_cache_maint_page reads the struct page
 *   (PageHighMem): no memmap -> fault at the struct page; a lowmem page is
 *   then cleaned through page_address(page) = __va(phys): no linear alias
 *   (no-map, removed memory) -> fault at that VA in v7_dma_clean_range /
 *   v7_dma_inv_range. A page-less entry (NULL page) faults at the NULL page's flags.
 * - arm64 (dma-direct and iommu-dma), non-coherent device:
 *   arch_sync_dma_for_device(sg_phys) cleans phys_to_virt(phys): fault if
 *   that VA is not mapped (no-map memory has no linear alias). No struct page
 *   is read: a bogus page only yields a wrong physical address.
 * - coherent devices and x86-64: no page work.
 * Entries carrying the 2017 RFC tag are skipped only by the RFC's own
 * arm_dma_map_sg (direct, not IOMMU) path: pass `skipTagged`.
 * @param callers the importer's call chain above dma_map_sg (innermost first).
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function importerMapPageWork(
  importer: Device,
  sgt: SgTable,
  dir: number,
  callers: readonly string[],
  opts: { skipTagged?: (sg: Scatterlist) => boolean } = {},
): PageWork[] {
  if (!validDmaDirection(dir)) throw new ModelConfigError("importerMapPageWork(dir)", dir, "DMA_BIDIRECTIONAL, DMA_TO_DEVICE or DMA_FROM_DEVICE");
  const mm = mmOfDevice(importer);
  const ps = mm.pageSize;
  const arch = mm.profile.arch;
  const out: PageWork[] = [];
  const iommu = useDmaIommu(importer);
  const coherent = importer.dmaCoherent || archHooksOf(arch).allDevicesCoherent;
  for (let i = 0; i < sgt.origNents; i++) {
    const s = sgt.sgl[i]!;
    if (opts.skipTagged && opts.skipTagged(s) && !iommu) {
      out.push({ index: i, page: null, aliasVa: null, note: "RFC: DEV_COHERENT_NOPAGE entry, page work skipped, DMA address taken from the exporter" });
      continue;
    }
    if (coherent) {
      out.push({ index: i, page: s.pfn === null ? null : mm.pfnToPage(s.pfn), aliasVa: null, note: "coherent device: no cache maintenance, struct page not read" });
      continue;
    }
    if (arch === "arm") {
      const legacy = armUsesLegacyOps(importer, arch);
      const chain = legacy
        ? iommu
          ? ["dma_cache_maint_page", "__dma_page_cpu_to_dev", "__map_sg_chunk", "arm_iommu_map_sg", "dma_map_sg_attrs", ...callers]
          : ["dma_cache_maint_page", "__dma_page_cpu_to_dev", "arm_dma_map_page", "arm_dma_map_sg", "dma_map_sg_attrs", ...callers]
        : ["dma_cache_maint_page", "__dma_page_cpu_to_dev", "arch_sync_dma_for_device", iommu ? "iommu_dma_map_sg" : "dma_direct_map_sg", "dma_map_sg_attrs", ...callers];
      if (s.pfn === null) pagingOops(importer, mm, 0, chain, "sg_page() is NULL: PageHighMem reads NULL->flags", mm.layout.vaBits === 48 ? "0x0000000000000000" : "0x00000000");
      const page = mm.pfnToPage(s.pfn);
      if (!page.hasMemmap) pagingOops(importer, mm, page.address, chain, `struct page of pfn ${hex(page.pfn)} is not backed by the memmap (PageHighMem reads page->flags)`, page.addressText);
      const pa = s.pfn * ps + s.offset;
      if (mm.zoneOf(pa) === "ZONE_HIGHMEM") {
        out.push({ index: i, page, aliasVa: null, note: "highmem page: kmap_atomic then cache maintenance" });
        continue;
      }
      const va = mm.linearAddress(pa);
      const op = dir === DMA_FROM_DEVICE ? "v7_dma_inv_range" : "v7_dma_clean_range";
      if (!mm.isMapped(va)) pagingOops(importer, mm, va, [op, ...chain], `page_address(page) = __va(${hex(pa)}) has no linear mapping (${mm.regionOf(pa).kind} ${mm.regionOf(pa).name})`);
      out.push({ index: i, page, aliasVa: va, note: `cache maintenance at ${mm.fmtVa(va)}` });
      continue;
    }
    // arm64 (and any other dma-direct/iommu-dma arch): phys-based maintenance.
    const inner = kernelFunctionName(importer.kernel, "__dma_map_area");
    const chain = [inner, "arch_sync_dma_for_device", ...(iommu ? ["iommu_dma_sync_sg_for_device", "iommu_dma_map_sg"] : ["dma_direct_map_page", "dma_direct_map_sg"]), "dma_map_sg_attrs", ...callers];
    if (s.pfn === null) pagingOops(importer, mm, 0, ["sg_phys", ...chain.slice(2)], "sg_page() is NULL: page_to_phys(NULL) is garbage and the sync touches it", mm.layout.vaBits === 48 ? "0x0000000000000000" : "0x00000000");
    const pa = s.pfn * ps + s.offset;
    const va = mm.linearAddress(pa);
    if (!mm.isMapped(va)) pagingOops(importer, mm, va, chain, `phys_to_virt(${hex(pa)}) is not mapped (${mm.regionOf(pa).kind}${mm.regionOf(pa).kind === "hole" ? "" : " " + mm.regionOf(pa).name})`);
    out.push({ index: i, page: mm.pfnToPage(s.pfn), aliasVa: va, note: `cache maintenance at ${mm.fmtVa(va)}` });
  }
  return out;
}

/**
 * sg_page() as an importer that (wrongly) touches pages after
 * dma_buf_map_attachment sees it: a mangled pointer (CONFIG_DMABUF_DEBUG)
 * or a page without memmap faults when its struct page is read.
 * @returns the page when reading it is safe.
 */
export function importerReadSgPage(importer: Device, sg: Scatterlist, callers: readonly string[]): Page {
  const mm = mmOfDevice(importer);
  const chain = ["sg_page", ...callers];
  const m = sg.dmabufMangledPage;
  if (m !== undefined) pagingOops(importer, mm, m, chain, "page pointer mangled by CONFIG_DMABUF_DEBUG", mm.layout.vaBits === 48 ? "0x0000" + m.toString(16).padStart(12, "0") : "0x" + m.toString(16).padStart(8, "0"));
  if (sg.pfn === null) pagingOops(importer, mm, 0, chain, "page-less entry (sg_page is NULL)", mm.layout.vaBits === 48 ? "0x0000000000000000" : "0x00000000");
  const page = mm.pfnToPage(sg.pfn);
  if (!page.hasMemmap) pagingOops(importer, mm, page.address, chain, "struct page without memmap", page.addressText);
  return page;
}
