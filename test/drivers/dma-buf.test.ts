/**
 * dma-buf core and the videobuf2-dma-contig exporter/importer: the oops chain
 * of the 2017 pipeline, CONFIG_DMABUF_DEBUG mangling, and the API's misuse checks.
 */
import { describe, expect, it } from "vitest";
import { createMachine } from "../../lib/platform/machine.js";
import { KernelOops, ModelConfigError } from "../../lib/core/errors.js";
import { ENXIO } from "../../lib/core/errno.js";
import { DMA_BIDIRECTIONAL } from "../../lib/core/dma-types.js";
import { dmaBufAttach, dmaBufDetach, dmaBufMapAttachment, dmaBufRelease, dmaBufUnmapAttachment, isMangled, mangledPageAddress } from "../../lib/drivers/dma-buf.js";
import { vb2DcAlloc, vb2DcGetDmabuf, vb2DcImportDmabuf, vb2DcReleaseImport } from "../../lib/drivers/videobuf2-dma-contig.js";
import type { DmaBuf } from "../../lib/drivers/dma-buf.js";

function exynos(kernel: string) {
  const m = createMachine("exynos5422-odroidxu4", { kernel });
  const buf = vb2DcAlloc(m.device("mfc"), 1048576)!;
  return { m, buf };
}

describe("the 2017 pipeline on 32-bit ARM (v4.10): importer's dma_map_sg cleans the page through a linear alias that does not exist", () => {
  it("records an oops event and throws KernelOops with the kernel's message and call chain", () => {
    // v4.10, the last release without arm_dma_get_sgtable's pfn_valid check (absent in v4.10.17
    // pengdonglin137/linux-4.10.17, present in v4.11.0 HCLS/linux-4.11); from v4.11 the export fails with -ENXIO.
    const { m, buf } = exynos("v4.10");
    const db = vb2DcGetDmabuf(buf) as DmaBuf;
    expect(typeof db).toBe("object");
    let err: unknown;
    try {
      vb2DcImportDmabuf(m.device("gsc"), db, { dir: DMA_BIDIRECTIONAL });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelOops);
    const o = err as KernelOops;
    // __va(0x6dc00000) = 0x6dc00000 - PHYS_OFFSET 0x40000000 + PAGE_OFFSET 0xc0000000 = 0xedc00000
    expect(o.message.split("\n")[0]).toBe("Unable to handle kernel paging request at virtual address edc00000");
    expect(o.address).toBe(0xedc00000);
    expect(o.callChain).toEqual([
      "v7_dma_clean_range",
      "dma_cache_maint_page",
      "__dma_page_cpu_to_dev",
      "arm_dma_map_page",
      "arm_dma_map_sg",
      "dma_map_sg_attrs",
      "vb2_dc_dmabuf_ops_map",
      "dma_buf_map_attachment",
      "vb2_dc_map_dmabuf",
    ]);
    const oops = m.trace.faults();
    expect(oops.length).toBe(1);
    expect(oops[0]!.kind).toBe("oops");
  });

  it("v4.12+: arm_dma_get_sgtable's pfn_valid check fails the export cleanly (-ENXIO), nothing is attached", () => {
    const { m, buf } = exynos("v4.12");
    expect(vb2DcGetDmabuf(buf)).toBe(-ENXIO);
    expect(m.trace.faults().length).toBe(0);
  });
});

describe("CONFIG_DMABUF_DEBUG (84335675f222, v5.12)", () => {
  it("mangle: page_link ^ ~0xff keeps the low 8 bits and flips the rest", () => {
    // 0xfffffdffc0c00000 -> ~ = 0x000002003f3fffff, low byte restored to 0x00 -> 0x000002003f3fff00 (stored low 48 bits)
    expect(mangledPageAddress(0xfdffc0c00000, 48)).toBe(0x02003f3fff00);
    // 32-bit: 0xc0200040 -> ~ = 0x3fdfffbf, low byte 0x40 -> 0x3fdfff40
    expect(mangledPageAddress(0xc0200040, 32)).toBe(0x3fdfff40);
  });

  it("the importer that touches sg_page() after dma_buf_map_attachment faults at the mangled pointer; unmap restores it", () => {
    const m = createMachine("uniphier-pxs3", { kernel: "v6.19" });
    const buf = vb2DcAlloc(m.device("codec"), 65536)!;
    const db = vb2DcGetDmabuf(buf, { dmabufDebug: true }) as DmaBuf;
    const a = dmaBufAttach(db, m.device("display"));
    if (typeof a === "number") throw new Error("attach failed");
    const sgt = dmaBufMapAttachment(a, DMA_BIDIRECTIONAL);
    if (typeof sgt === "number") throw new Error("map failed");
    expect(isMangled(sgt.sgl[0]!)).toBe(true);
    expect(sgt.sgl[0]!.dmaAddress).toBe(0xb0000000); // DMA addresses are untouched
    dmaBufUnmapAttachment(a, sgt, DMA_BIDIRECTIONAL);
    expect(isMangled(sgt.sgl[0]!)).toBe(false);
    dmaBufDetach(db, a);
    expect(() => vb2DcImportDmabuf(m.device("display"), db, { touchesPages: true })).toThrow(/virtual address 000002003f3fff00/);
  });

  it("is not available before v5.12 (the option is ignored)", () => {
    const m = createMachine("uniphier-pxs3", { kernel: "v5.10" });
    const db = vb2DcGetDmabuf(vb2DcAlloc(m.device("codec"), 4096)!, { dmabufDebug: true }) as DmaBuf;
    expect(db.debug).toBe(false);
  });
});

describe("dma-buf API misuse is rejected with the model unchanged", () => {
  it("detach while mapped, unmap of another table, map twice, release with attachments", () => {
    const m = createMachine("uniphier-pxs3", { kernel: "v6.19" });
    const db = vb2DcGetDmabuf(vb2DcAlloc(m.device("codec"), 4096)!) as DmaBuf;
    const r = vb2DcImportDmabuf(m.device("display"), db);
    if (!r.ok) throw new Error("import failed");
    expect(() => dmaBufDetach(db, r.attach)).toThrow(ModelConfigError);
    expect(() => dmaBufMapAttachment(r.attach, DMA_BIDIRECTIONAL)).toThrow(ModelConfigError);
    expect(() => dmaBufUnmapAttachment(r.attach, { sgl: [], nents: 0, origNents: 0 }, DMA_BIDIRECTIONAL)).toThrow(ModelConfigError);
    expect(() => dmaBufRelease(db)).toThrow(ModelConfigError);
    expect(db.attachments.length).toBe(1);
    expect(r.attach.sgt).toBe(r.sgt);
    vb2DcReleaseImport(db, r);
    expect(db.attachments.length).toBe(0);
    dmaBufRelease(db);
    expect(() => dmaBufAttach(db, m.device("display"))).toThrow(ModelConfigError);
  });

  it("attach copies the exporter's table (page pointers, lengths, offsets) for each importer", () => {
    const m = createMachine("uniphier-pxs3", { kernel: "v6.19" });
    const buf = vb2DcAlloc(m.device("codec"), 8192)!;
    const db = vb2DcGetDmabuf(buf) as DmaBuf;
    const r = vb2DcImportDmabuf(m.device("display"), db);
    if (!r.ok) throw new Error("import failed");
    expect(r.sgt).not.toBe(buf.sgtBase);
    expect(r.sgt.sgl[0]!.pfn).toBe(buf.sgtBase!.sgl[0]!.pfn);
    expect(r.sgt.sgl[0]!.length).toBe(8192);
    expect(r.dmaAddr).toBe(0xb0000000);
  });
});
