/**
 * videobuf2-dma-contig, the userptr side: how a V4L2 driver that needs one
 * contiguous DMA buffer imports user memory, and the contiguity check that
 * failed in the 2015 MT8173 thread.
 *
 * Source: drivers/media/v4l2-core/videobuf2-dma-contig.c (v4.4.1) and
 * drivers/media/common/videobuf2/videobuf2-dma-contig.c (v4.19.1, v5.4.6,
 * v6.19): vb2_dc_get_contiguous_size, vb2_dc_get_userptr,
 * vb2_dc_put_userptr, vb2_dma_contig_set_max_seg_size.
 *
 * Both releases pin the user pages (frame vector), build the sg table with
 * sg_alloc_table_from_pages (v4.4 already did: there is no separate manual
 * path for pages that have a struct page), map it with
 * DMA_ATTR_SKIP_CPU_SYNC (dma_map_sg_attrs in v4.4..v5.4, dma_map_sgtable
 * from the sgtable conversion), then sum the DMA segments from the first
 * one while each starts where the previous ended. If that prefix is shorter
 * than the buffer, the driver logs "contiguous mapping is too small %lu/%lu",
 * unmaps and fails with -EFAULT.
 *
 * The pfn-only path (user memory without struct page: VM_IO / VM_PFNMAP) is
 * not modelled: every pinned pfn here has a page.
 */
import { checkInt, checkPowerOf2, hex, isAligned } from "../core/arith.js";
import { DMA_MAPPING_ERROR, type DmaAddr, type Pfn, type VirtAddr } from "../core/addr.js";
import { EFAULT, EINVAL, EIO, ENODEV } from "../core/errno.js";
import { ModelConfigError } from "../core/errors.js";
import { atLeast, defineChange } from "../kernel/version.js";
import { dmaToPhys, physToDma, type Device } from "../platform/device.js";
import { DMA_ATTR_DEV_COHERENT_NOPAGE, devCoherentNopageEntries, dmaAllocAttrs, dmaFreeCoherent, dmaGetMaxSegSize, dmaGetSgtableAttrs, dmaMapSgAttrs, dmaMapSgtable, dmaSetMaxSegSize, dmaUnmapSgAttrs, dmaUnmapSgtable, useDmaIommu, type DmaMapSgOptions, type GetSgtableOptions } from "../dma/mapping.js";
import { DMA_ATTR_SKIP_CPU_SYNC, DMA_BIDIRECTIONAL, DMA_NONE, checkDirection } from "../core/dma-types.js";
import { createSgTable, forEachSg, forEachSgtableDmaSg, sgAllocTableFromPages, sgDmaAddress, sgDmaLen, sgFreeTable, sgInitEntry, type Scatterlist, type SgTable } from "../sg/scatterlist.js";
import { mmOfDevice } from "../mm/memory.js";
import { dmaBufAttach, dmaBufDetach, dmaBufExport, dmaBufMapAttachment, dmaBufUnmapAttachment, importerMapPageWork, importerReadSgPage, type DmaBuf, type DmaBufAttachment, type PageWork } from "./dma-buf.js";

/** vb2_dma_contig_set_max_seg_size arrives (allocating dma_parms when missing). */
export const CHANGE_VB2_SET_MAX_SEG = defineChange({
  id: "vb2-dma-contig-set-max-seg-size",
  since: "v4.8",
  commit: "3f0339691896",
  subject: "media: vb2-dma-contig: add helper for setting dma max seg size",
  files: ["drivers/media/v4l2-core/videobuf2-dma-contig.c"],
  effect: "drivers can raise dma_parms->max_segment_size (allocating dma_parms if the device has none) so that iommu-dma merges a userptr/dma-buf into one DMA segment.",
  bracket: "absent in v4.7.4 (calebwilliamsd/linux-4.7.4-casio, drivers/media/v4l2-core/videobuf2-dma-contig.c), present in v4.8.15 (squirrel20/linux-4.8.15, drivers/media/v4l2-core/videobuf2-dma-contig.c:vb2_dma_contig_set_max_seg_size); a new exported helper, not a stable backport, so v4.8",
});

/** vb2_dma_contig_set_max_seg_size stops allocating dma_parms. */
export const CHANGE_VB2_NO_DMA_PARMS_ALLOC = defineChange({
  id: "vb2-dma-contig-no-dma-parms-alloc",
  since: "v5.8",
  commit: "0d9668721311 (hash from a git log listing)",
  subject: "media: videobuf2-dma-contig: fix bad kfree in vb2_dma_contig_clear_max_seg_size",
  files: ["drivers/media/common/videobuf2/videobuf2-dma-contig.c", "include/media/videobuf2-dma-contig.h"],
  effect: "without dma_parms the helper logs 'Failed to set max_seg_size: dma_parms is NULL' and returns -ENODEV; vb2_dma_contig_clear_max_seg_size becomes an empty inline. Tomi Valkeinen, applied to media_tree after v5.7 (v5.8 merge window), Cc stable.",
  bracket: "absent in v5.6.4 (shmily1012/linux-5.6.4, drivers/media/common/videobuf2/videobuf2-dma-contig.c:vb2_dma_contig_set_max_seg_size kzallocs dma_parms), present in v5.8.1 (semwett0301/linux-5.8.1, same function: dev_err + -ENODEV); v5.7.14 (a5221985/linux-5.7.14) has it as a stable backport",
});

/** vb2 uses the sgtable wrappers. */
export const CHANGE_VB2_SGTABLE = defineChange({
  id: "vb2-sgtable-wrappers",
  since: "v5.10",
  commit: "(Marek Szyprowski, [PATCH v9 32/32], pulled for v5.10 as br-v5.10a; branch hash 5ea190237b15, the mainline hash may differ)",
  subject: "media: videobuf2: use sgtable-based scatterlist wrappers",
  files: ["drivers/media/common/videobuf2/videobuf2-dma-contig.c"],
  effect: "dma_map_sgtable / for_each_sgtable_dma_sg instead of dma_map_sg_attrs / for_each_sg over nents: same result for the userptr path.",
  bracket: "absent in v5.9.1 (ach84/linux-5.9.1, drivers/media/common/videobuf2/videobuf2-dma-contig.c: dma_map_sg_attrs over nents), present in v5.10.89 (Prashant446/linux-5.10.89, same file: dma_map_sgtable / dma_unmap_sgtable)",
});

/** struct vb2_dc_buf, the fields the userptr path sets. */
export interface Vb2DcBuf {
  readonly dev: Device;
  /** sg_dma_address of the first DMA segment: what the driver programs into the codec. */
  readonly dmaAddr: DmaAddr;
  /** Buffer size, bytes. */
  readonly size: number;
  readonly dmaDir: number;
  readonly dmaSgt: SgTable;
  /** The pinned pages (frame vector). */
  readonly pfns: readonly Pfn[];
  readonly vaddr: number;
}

/**
 * The buffer or ERR_PTR(-errno): `ok` with `buf` set and `err` 0, or not ok
 * with `buf` null and `err` the -errno; `message` is the pr_err text when the
 * driver printed one. (One shape rather than a union, so that code compiled
 * without strictNullChecks, as tslab does, reads it the same way.)
 */
export interface Vb2DcUserptrResult {
  ok: boolean;
  buf: Vb2DcBuf | null;
  err: number;
  message: string | null;
}

function fail(err: number, message: string | null): Vb2DcUserptrResult {
  return { ok: false, buf: null, err, message };
}

/** Arguments of {@link vb2DcGetUserptr}. */
export interface Vb2DcUserptrArgs {
  /** The user pages as pfns, one per page the range [vaddr, vaddr + size) touches, in order. */
  pfns: readonly Pfn[];
  /** User virtual address, bytes. */
  vaddr: number;
  /** Buffer size, bytes. */
  size: number;
  /** DMA direction (the queue's dma_dir). */
  dir: number;
  /** dma_get_cache_alignment(): the CPU's DMA alignment, bytes (arm64: the cache writeback granule, 64 on Cortex-A53/A72). */
  dmaAlign: number;
  /** PAGE_SIZE, bytes (default 4096). */
  pageSize?: number;
}

/**
 * vb2_dc_get_contiguous_size(sgt): bytes of DMA address space, from the
 * first DMA segment, covered without a gap: sums sg_dma_len over the mapped
 * segments (sgt->nents) while each starts at the previous end. v4.4..v5.9
 * walk for_each_sg over nents with expected = addr + len; v5.10+ walk
 * for_each_sgtable_dma_sg with expected += len: the same result.
 * Source: videobuf2-dma-contig.c vb2_dc_get_contiguous_size (v4.4.1, v6.19).
 */
export function vb2DcGetContiguousSize(sgt: SgTable, kernel: string = "v6.19"): number {
  let size = 0;
  if (sgt.nents === 0) return 0;
  let expected = sgDmaAddress(sgt.sgl[0]!) as number;
  let stop = false;
  if (atLeast(kernel, CHANGE_VB2_SGTABLE)) {
    forEachSgtableDmaSg(sgt, (s) => {
      if (stop) return;
      if ((sgDmaAddress(s) as number) !== expected) {
        stop = true;
        return;
      }
      expected += sgDmaLen(s);
      size += sgDmaLen(s);
    });
  } else {
    forEachSg(sgt.sgl, sgt.nents, (s) => {
      if (stop) return;
      if ((sgDmaAddress(s) as number) !== expected) {
        stop = true;
        return;
      }
      expected = (sgDmaAddress(s) as number) + sgDmaLen(s);
      size += sgDmaLen(s);
    });
  }
  return size;
}

function prErr(dev: Device, msg: string, data: Record<string, number | string | boolean | null> = {}): void {
  dev.trace.record({ fn: "vb2_dc_get_userptr", kind: "pr_err", level: "warn", msg, data });
}

/**
 * vb2_dc_get_userptr(dev, vaddr, size, dir): import a user buffer for a
 * device that needs it contiguous in DMA space.
 *
 * Steps (v4.4.1 and v6.19 agree on all that is modelled):
 * 1. vaddr and size must be multiples of dma_get_cache_alignment(), size
 *    non-zero: else -EINVAL (pr_debug only).
 * 2. Pin the pages (the given pfns), offset = vaddr % PAGE_SIZE.
 * 3. sg_alloc_table_from_pages(sgt, pages, n_pages, offset, size): on error
 *    pr_err "failed to initialize sg table" and that error.
 * 4. Map with DMA_ATTR_SKIP_CPU_SYNC: dma_map_sg_attrs(orig_nents) stored
 *    in sgt->nents (nents <= 0: pr_err "failed to map scatterlist", -EIO);
 *    from v5.10 dma_map_sgtable (non-zero: same message, -EIO).
 * 5. contig = vb2_dc_get_contiguous_size(sgt); if contig < size: pr_err
 *    "contiguous mapping is too small %lu/%lu" (contig, size), unmap, free,
 *    -EFAULT. Else the buffer with dma_addr = the first segment's address.
 *
 * @returns `{ ok: true, buf, err: 0 }` or `{ ok: false, buf: null, err, message }` (the
 * kernel's ERR_PTR and its printed message); the pr_err also becomes a
 * trace event (fn "vb2_dc_get_userptr", kind "pr_err", level "warn").
 * @throws ModelConfigError if the pfns do not cover the range exactly, for
 * an invalid direction or a bad alignment value (nothing changed).
 */
export function vb2DcGetUserptr(dev: Device, args: Vb2DcUserptrArgs, opts: DmaMapSgOptions = {}): Vb2DcUserptrResult {
  const pageSize = checkPowerOf2("pageSize", args.pageSize ?? opts.pageSize ?? 4096, 4096, 65536);
  checkPowerOf2("dmaAlign", args.dmaAlign, 1, 65536);
  checkInt("vaddr", args.vaddr);
  checkInt("size", args.size);
  checkDirection("dir", args.dir);
  if (!isAligned(args.vaddr, args.dmaAlign) || !isAligned(args.size, args.dmaAlign)) {
    return fail(-EINVAL, null); // pr_debug("user data must be aligned to %lu bytes")
  }
  if (args.size === 0) return fail(-EINVAL, null); // pr_debug("size is zero")
  const first = Math.floor(args.vaddr / pageSize);
  const last = Math.floor((args.vaddr + args.size - 1) / pageSize);
  const nPages = last - first + 1;
  if (args.pfns.length !== nPages) {
    throw new ModelConfigError("pfns", args.pfns.length, `${nPages} pfns: one per page of [vaddr, vaddr + size)`);
  }
  args.pfns.forEach((p, i) => checkInt(`pfns.${i}`, p));
  const offset = args.vaddr % pageSize;
  const kernel = dev.kernel.name;
  const mapOpts: DmaMapSgOptions = { ...opts, pageSize };

  const sgt = createSgTable();
  const ret = sgAllocTableFromPages(sgt, args.pfns, nPages, offset, args.size, { pageSize });
  if (ret) {
    const message = "failed to initialize sg table";
    prErr(dev, message, { ret });
    return fail(ret, message);
  }

  const sgtable = atLeast(kernel, CHANGE_VB2_SGTABLE);
  if (sgtable) {
    if (dmaMapSgtable(dev, sgt, args.dir, DMA_ATTR_SKIP_CPU_SYNC, mapOpts)) {
      sgFreeTable(sgt);
      const message = "failed to map scatterlist";
      prErr(dev, message);
      return fail(-EIO, message);
    }
  } else {
    sgt.nents = dmaMapSgAttrs(dev, sgt.sgl, sgt.origNents, args.dir, DMA_ATTR_SKIP_CPU_SYNC, mapOpts);
    if (sgt.nents <= 0) {
      sgFreeTable(sgt);
      const message = "failed to map scatterlist";
      prErr(dev, message);
      return fail(-EIO, message);
    }
  }

  const contig = vb2DcGetContiguousSize(sgt, kernel);
  if (contig < args.size) {
    const message = `contiguous mapping is too small ${contig}/${args.size}`;
    prErr(dev, message, { contigSize: contig, size: args.size });
    if (sgtable) dmaUnmapSgtable(dev, sgt, args.dir, DMA_ATTR_SKIP_CPU_SYNC);
    else dmaUnmapSgAttrs(dev, sgt.sgl, sgt.origNents, args.dir, DMA_ATTR_SKIP_CPU_SYNC);
    sgFreeTable(sgt);
    return fail(-EFAULT, message);
  }
  const buf: Vb2DcBuf = {
    dev,
    dmaAddr: sgDmaAddress(sgt.sgl[0]!),
    size: args.size,
    dmaDir: args.dir,
    dmaSgt: sgt,
    pfns: [...args.pfns],
    vaddr: args.vaddr,
  };
  return { ok: true, buf, err: 0, message: null };
}

/**
 * vb2_dc_put_userptr(buf): unmap the table (DMA_ATTR_SKIP_CPU_SYNC; the
 * CPU sync the kernel does for reads belongs to the cache model), free it,
 * unpin the pages.
 * Source: videobuf2-dma-contig.c vb2_dc_put_userptr (v4.4.1, v6.19).
 */
export function vb2DcPutUserptr(buf: Vb2DcBuf): void {
  const dev = buf.dev;
  if (atLeast(dev.kernel, CHANGE_VB2_SGTABLE)) dmaUnmapSgtable(dev, buf.dmaSgt, buf.dmaDir, DMA_ATTR_SKIP_CPU_SYNC);
  else dmaUnmapSgAttrs(dev, buf.dmaSgt.sgl, buf.dmaSgt.origNents, buf.dmaDir, DMA_ATTR_SKIP_CPU_SYNC);
  sgFreeTable(buf.dmaSgt);
}

/**
 * vb2_dma_contig_set_max_seg_size(dev, size): raise the device's
 * max_segment_size to `size` (bytes) if it is lower, so iommu-dma can merge
 * a whole buffer into one DMA segment.
 * - before v4.8: the helper does not exist (ModelConfigError);
 * - v4.8..v5.7: allocates a zeroed dma_parms when the device has none,
 *   then dma_set_max_seg_size if the current value is smaller; returns 0
 *   or dma_set_max_seg_size's result;
 * - v5.8+: without dma_parms logs "Failed to set max_seg_size: dma_parms is
 *   NULL" and returns -ENODEV (platform devices have them from v5.7).
 * @throws ModelConfigError before v4.8 or for a size outside unsigned int.
 * Source: videobuf2-dma-contig.c (v4.19.1, v5.4.6, v6.19).
 */
export function vb2DmaContigSetMaxSegSize(dev: Device, size: number): number {
  checkInt("vb2DmaContigSetMaxSegSize(size)", size, 0, 0xffffffff);
  if (!atLeast(dev.kernel, CHANGE_VB2_SET_MAX_SEG)) {
    throw new ModelConfigError("vb2DmaContigSetMaxSegSize", dev.kernel.name, `a kernel ${CHANGE_VB2_SET_MAX_SEG.since} or later (the helper does not exist before)`);
  }
  if (!dev.dmaParms) {
    if (atLeast(dev.kernel, CHANGE_VB2_NO_DMA_PARMS_ALLOC)) {
      dev.trace.record({ fn: "vb2_dma_contig_set_max_seg_size", kind: "dev_err", level: "warn", msg: "Failed to set max_seg_size: dma_parms is NULL", data: {} });
      return -ENODEV;
    }
    dev.dmaParms = { maxSegmentSize: 0, segmentBoundaryMask: 0 };
  }
  if (dmaGetMaxSegSize(dev) < size) return dmaSetMaxSegSize(dev, size);
  return 0;
}

// [exporter side (dma-buf): mm helper]
//
// Exporter side and dma-buf importer side of videobuf2-dma-contig
// (drivers/media/v4l2-core/videobuf2-dma-contig.c v4.4.1,
// drivers/media/common/videobuf2/videobuf2-dma-contig.c v4.19.1, v5.4.6, v6.19):
// - vb2_dc_alloc: the buffer comes from dma_alloc_attrs (cookie = CPU address, dma_addr = handle);
// - vb2_dc_get_base_sgt: dma_get_sgtable_attrs on (cookie, dma_addr, size); an error is
//   "failed to get scatterlist from DMA API" and no dma-buf is exported;
// - vb2_dc_dmabuf_ops_attach: sg_alloc_table(orig_nents) and sg_set_page(wr, sg_page(rd),
//   rd->length, rd->offset) for each entry (copies page pointers; nothing is checked);
// - vb2_dc_dmabuf_ops_map: dma_map_sg for the importer's device; from v5.4 (absent in
//   v5.3.1, present in v5.4.0) with DMA_ATTR_SKIP_CPU_SYNC, so no cache maintenance touches the pages;
//   nents 0 -> "failed to map scatterlist", -EIO;
// - importer vb2_dc_map_dmabuf: dma_buf_map_attachment, then the contiguity check
//   ("contiguous chunk is too small"), then dma_addr = sg_dma_address(sgl).

/** vb2-dma-contig maps dma-bufs for importers with DMA_ATTR_SKIP_CPU_SYNC. */
export const CHANGE_VB2_DMABUF_SKIP_SYNC = defineChange({
  id: "vb2-dc-dmabuf-map-skip-cpu-sync",
  since: "v5.4",
  commit: "unverified (Lucas Stach, [PATCH v2] 2019-07-08, Message-Id 20190708130742.11151-1-l.stach@pengutronix.de; hash not found)",
  subject: "media: vb2-dc: skip CPU sync in map/unmap dma_buf",
  files: ["drivers/media/common/videobuf2/videobuf2-dma-contig.c"],
  effect: "vb2_dc_dmabuf_ops_map calls dma_map_sg_attrs(..., DMA_ATTR_SKIP_CPU_SYNC) (and the unmaps in ops_map / ops_detach skip it too): no cache maintenance, so no page is touched while mapping. Before, the exporter's table was mapped with CPU sync (the SKIP_CPU_SYNC uses of v4.x are in the userptr path).",
  bracket: "absent in v5.3.1 (github-lvbing/linux-5.3.1, drivers/media/common/videobuf2/videobuf2-dma-contig.c:vb2_dc_dmabuf_ops_map: plain dma_map_sg; also v4.19.1 and v5.0.1), present in v5.4.0 (MrJu/linux-5.4, same function: dma_map_sg_attrs(..., DMA_ATTR_SKIP_CPU_SYNC))",
});

/** A vb2-dma-contig MMAP buffer (struct vb2_dc_buf, exporter fields). */
export interface Vb2DcExportBuf {
  readonly dev: Device;
  readonly size: number;
  /** buf->cookie = buf->vaddr: the CPU address dma_alloc_attrs returned. */
  readonly cookie: VirtAddr;
  readonly dmaAddr: DmaAddr;
  readonly attrs: number;
  /** How dma_alloc_attrs obtained it. */
  readonly how: string;
  /** Model switches passed to dma_get_sgtable (what-if variants). */
  readonly sgtOpts: GetSgtableOptions;
  sgtBase: SgTable | null;
  dmabuf: DmaBuf | null;
}

/** Model switches for the exporter. */
export interface Vb2DcExportOptions {
  /** Apply the 2017 RFC: vb2_dc_alloc checks dma_check_dev_coherent and passes DMA_ATTR_DEV_COHERENT_NOPAGE. */
  rfcDevCoherentNopage?: boolean;
  /** CONFIG_DMABUF_DEBUG (v5.12+). */
  dmabufDebug?: boolean;
  /** What-if: Russell King's pfn_valid check in dma_get_sgtable on any arch. */
  rkPfnValidCheck?: boolean;
}

/**
 * vb2_dc_alloc(dev, size): the buffer from dma_alloc_attrs.
 * @returns the buffer, or null (-ENOMEM in the driver).
 */
export function vb2DcAlloc(dev: Device, size: number, opts: Vb2DcExportOptions = {}): Vb2DcExportBuf | null {
  const b = dmaAllocAttrs(dev, size, 0);
  if (!b) return null;
  // The RFC: vb2_dc_alloc asks dma_check_dev_coherent() and tags the buffer's attrs.
  const attrs = opts.rfcDevCoherentNopage && b.how === "dev-coherent-pool" ? DMA_ATTR_DEV_COHERENT_NOPAGE : 0;
  const sgtOpts: GetSgtableOptions = { ...(opts.rfcDevCoherentNopage ? { rfcDevCoherentNopage: true } : {}), ...(opts.rkPfnValidCheck ? { forcePfnValidCheck: true } : {}) };
  return { dev, size, cookie: b.cpuAddr, dmaAddr: b.dmaHandle, attrs, how: b.how, sgtOpts, sgtBase: null, dmabuf: null };
}

/** vb2_dc_put: free the buffer (the dma-buf must be released first). */
export function vb2DcPut(buf: Vb2DcExportBuf): void {
  dmaFreeCoherent(buf.dev, buf.size, buf.cookie, buf.dmaAddr);
}

/**
 * vb2_dc_get_base_sgt(buf): dma_get_sgtable_attrs on the buffer.
 * @returns the table, or -errno (the driver logs "failed to get scatterlist from DMA API").
 */
export function vb2DcGetBaseSgt(buf: Vb2DcExportBuf): SgTable | number {
  const sgt = createSgTable();
  const ret = dmaGetSgtableAttrs(buf.dev, sgt, buf.cookie, buf.dmaAddr, buf.size, buf.attrs, buf.sgtOpts);
  if (ret < 0) {
    buf.dev.trace.record({ fn: "vb2_dc_get_base_sgt", kind: "dev_err", level: "warn", msg: `${buf.dev.name}: failed to get scatterlist from DMA API (${ret})`, data: { ret } });
    return ret;
  }
  return sgt;
}

/** Per-attachment state (struct vb2_dc_attachment). */
interface Vb2DcAttachment {
  sgt: SgTable;
  dmaDir: number;
  /** The page work the last map did (for explanations). */
  pageWork: PageWork[];
}

const VB2_DC_MAP_CALLERS = ["vb2_dc_dmabuf_ops_map", "dma_buf_map_attachment", "vb2_dc_map_dmabuf"] as const;

function vb2DcDmabufOps(buf: Vb2DcExportBuf) {
  return {
    attach(_db: DmaBuf, a: DmaBufAttachment): number {
      const src = buf.sgtBase!;
      const sgt = createSgTable();
      for (let i = 0; i < src.origNents; i++) {
        const rd = src.sgl[i]!;
        const wr = sgInitEntry();
        wr.pfn = rd.pfn;
        wr.length = rd.length;
        wr.offset = rd.offset;
        wr.isLast = i === src.origNents - 1;
        // The RFC carried sg->dma_attrs (and, for a page-less entry, the exporter's address) along.
        if (devCoherentNopageEntries.has(rd)) {
          wr.dmaAddress = rd.dmaAddress;
          devCoherentNopageEntries.add(wr);
        }
        sgt.sgl.push(wr);
      }
      sgt.origNents = src.origNents;
      sgt.nents = src.origNents;
      const st: Vb2DcAttachment = { sgt, dmaDir: DMA_NONE, pageWork: [] };
      a.priv = st;
      return 0;
    },
    detach(_db: DmaBuf, a: DmaBufAttachment): void {
      const st = a.priv as Vb2DcAttachment;
      if (st.dmaDir !== DMA_NONE) dmaUnmapSgAttrs(a.dev, st.sgt.sgl, st.sgt.origNents, st.dmaDir, DMA_ATTR_SKIP_CPU_SYNC);
      a.priv = null;
    },
    mapDmaBuf(a: DmaBufAttachment, dir: number): SgTable | number {
      const st = a.priv as Vb2DcAttachment;
      const importer = a.dev;
      if (st.dmaDir === dir) return st.sgt;
      const skipSync = atLeast(importer.kernel, CHANGE_VB2_DMABUF_SKIP_SYNC);
      const attrs = skipSync ? DMA_ATTR_SKIP_CPU_SYNC : 0;
      const tagged = (s: Scatterlist) => devCoherentNopageEntries.has(s);
      const iommu = useDmaIommu(importer);
      const mm = mmOfDevice(importer);
      // Page work of dma_map_sg on the importer's arch (throws KernelOops where the kernel faults).
      st.pageWork = skipSync
        ? []
        : importerMapPageWork(importer, st.sgt, dir, VB2_DC_MAP_CALLERS, { skipTagged: tagged });
      // The RFC's arm_dma_map_sg: tagged entries take the exporter's address; arm_iommu_map_sg was
      // not changed: there sg_page() is NULL and page_to_phys(NULL) is arithmetic on a NULL pointer.
      const anyTagged = st.sgt.sgl.some(tagged);
      if (anyTagged && !iommu) {
        for (const s of st.sgt.sgl) {
          if (!tagged(s)) continue;
          const pa = dmaToPhys(buf.dev, s.dmaAddress);
          s.dmaAddress = (pa === null ? DMA_MAPPING_ERROR : physToDma(importer, pa) ?? DMA_MAPPING_ERROR) as DmaAddr;
          s.dmaLength = s.length;
        }
        st.sgt.nents = st.sgt.origNents;
        st.dmaDir = dir;
        importer.trace.record({ fn: "arm_dma_map_sg", kind: "rfc_nopage_map", msg: `${importer.name}: DMA_ATTR_DEV_COHERENT_NOPAGE entries mapped without page work (RFC, never merged)`, data: {} });
        return st.sgt;
      }
      if (anyTagged && iommu) {
        const nullPage = mm.pageFromAddress(0);
        for (const s of st.sgt.sgl) if (tagged(s) && s.pfn === null && nullPage) s.pfn = nullPage.pfn as Pfn;
      }
      const n = dmaMapSgAttrs(importer, st.sgt.sgl, st.sgt.origNents, dir, attrs, { pageSize: mm.pageSize });
      if (n <= 0) {
        importer.trace.record({ fn: "vb2_dc_dmabuf_ops_map", kind: "map_failed", level: "warn", msg: "failed to map scatterlist", data: {} });
        return -EIO;
      }
      st.sgt.nents = n;
      st.dmaDir = dir;
      return st.sgt;
    },
    unmapDmaBuf(): void {
      // vb2 keeps the mapping cached in the attachment until detach.
    },
  };
}

/**
 * vb2_dc_get_dmabuf(buf): build the base table (once) and export.
 * @returns the dma-buf, or the -errno of dma_get_sgtable (no dma-buf exported).
 */
export function vb2DcGetDmabuf(buf: Vb2DcExportBuf, opts: Vb2DcExportOptions = {}): DmaBuf | number {
  if (!buf.sgtBase) {
    const r = vb2DcGetBaseSgt(buf);
    if (typeof r === "number") return r;
    buf.sgtBase = r;
  }
  const db = dmaBufExport({ expName: "videobuf2_dma_contig", ops: vb2DcDmabufOps(buf), size: buf.size, priv: buf, kernel: buf.dev.kernel, exporter: buf.dev, debug: !!opts.dmabufDebug });
  buf.dmabuf = db;
  return db;
}

/** What the importer side got. */
export type Vb2DcImportResult =
  | { ok: true; attach: DmaBufAttachment; sgt: SgTable; dmaAddr: DmaAddr; pageWork: PageWork[] }
  | { ok: false; err: number; message: string };

/** Options of {@link vb2DcImportDmabuf}. */
export interface Vb2DcImportOptions {
  dir?: number;
  /**
   * The importer also reads sg_page() of the mapped table (a driver doing CPU
   * access through the pages, which dma-buf forbids): faults on a mangled
   * (CONFIG_DMABUF_DEBUG) or memmap-less page.
   */
  touchesPages?: boolean;
}

/**
 * The importer side: vb2_dc_attach_dmabuf (dma_buf_attach) + vb2_dc_map_dmabuf
 * (dma_buf_map_attachment, the contiguity check, sg_dma_address).
 * @returns ok with the DMA address, or the error the driver returns.
 * @throws KernelOops where the kernel would crash (recorded as an `oops` event first).
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function vb2DcImportDmabuf(importer: Device, dmabuf: DmaBuf, opts: Vb2DcImportOptions = {}): Vb2DcImportResult {
  if (opts.dir !== undefined) checkDirection("vb2DcImportDmabuf(dir)", opts.dir);
  const dir = opts.dir ?? DMA_BIDIRECTIONAL;
  const a = dmaBufAttach(dmabuf, importer);
  if (typeof a === "number") return { ok: false, err: a, message: "dma_buf_attach failed" };
  const sgt = dmaBufMapAttachment(a, dir);
  if (typeof sgt === "number") {
    dmaBufDetach(dmabuf, a);
    return { ok: false, err: -EINVAL, message: "Error getting dmabuf scatterlist" };
  }
  if (opts.touchesPages) for (const s of sgt.sgl.slice(0, sgt.origNents)) importerReadSgPage(importer, s, ["importer_cpu_access", "vb2_dc_map_dmabuf"]);
  const contig = vb2DcGetContiguousSize(sgt, importer.kernel.name);
  if (contig < dmabuf.size) {
    importer.trace.record({ fn: "vb2_dc_map_dmabuf", kind: "contig_too_small", level: "warn", msg: `contiguous chunk is too small ${contig}/${dmabuf.size} b`, data: { contig } });
    dmaBufUnmapAttachment(a, sgt, dir);
    dmaBufDetach(dmabuf, a);
    return { ok: false, err: -EFAULT, message: `contiguous chunk is too small ${contig}/${dmabuf.size} b` };
  }
  const st = a.priv as Vb2DcAttachment;
  importer.trace.record({ fn: "vb2_dc_map_dmabuf", kind: "dmabuf_imported", msg: `${importer.name}: imported dma-buf ${dmabuf.id} at DMA address ${hex(sgt.sgl[0]!.dmaAddress)}`, data: { dma: sgt.sgl[0]!.dmaAddress } });
  return { ok: true, attach: a, sgt, dmaAddr: sgt.sgl[0]!.dmaAddress, pageWork: st.pageWork };
}

/** Undo {@link vb2DcImportDmabuf}: unmap and detach. */
export function vb2DcReleaseImport(dmabuf: DmaBuf, r: { attach: DmaBufAttachment; sgt: SgTable }): void {
  dmaBufUnmapAttachment(r.attach, r.sgt, r.attach.dir ?? DMA_BIDIRECTIONAL);
  dmaBufDetach(dmabuf, r.attach);
}
