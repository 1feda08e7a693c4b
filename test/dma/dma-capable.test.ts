/**
 * dma_capable() edges (include/linux/dma-direct.h, v6.19 and v5.4): the LAST
 * byte, end = addr + size - 1 (dma_addr_t arithmetic), must be at or below
 * min_not_zero(*dev->dma_mask, dev->bus_dma_limit); the start address itself
 * is not compared. A device without a dma_mask is never capable, and v6.19
 * rejects the DMA_MAPPING_ERROR sentinel.
 */
import { describe, expect, it } from "vitest";
import { DMA_MAPPING_ERROR, dmaAddr } from "../../lib/core/addr.js";
import { createDevice } from "../../lib/platform/device.js";
import { dmaCapable } from "../../lib/dma/map-ops.js";

const dev32 = () => createDevice({ name: "d", driver: "t", bus: "pci", dmaMaskBits: 32, dmaCoherent: true });

describe("dma_capable", () => {
  it("a 32-bit mask takes a buffer whose last byte is 0xffffffff, and not one byte more", () => {
    // end = 0xfffff000 + 0x1000 - 1 = 0xffffffff <= 0xffffffff
    expect(dmaCapable(dev32(), dmaAddr(0xfffff000), 0x1000)).toBe(true);
    // end = 0xfffff000 + 0x1001 - 1 = 0x1_0000_0000 > 0xffffffff
    expect(dmaCapable(dev32(), dmaAddr(0xfffff000), 0x1001)).toBe(false);
    // a start above the mask is out whatever the size
    expect(dmaCapable(dev32(), dmaAddr(0x100000000), 1)).toBe(false);
  });
  it("the bus limit narrows the mask: min_not_zero(0xffffffff, 2^30 - 1) = 0x3fffffff", () => {
    const d = createDevice({ name: "d", driver: "t", bus: "platform", dmaMaskBits: 32, busDmaLimitBits: 30, dmaCoherent: false });
    expect(dmaCapable(d, dmaAddr(0x3ffff000), 0x1000)).toBe(true); // end 0x3fffffff
    expect(dmaCapable(d, dmaAddr(0x3ffff000), 0x1001)).toBe(false); // end 0x40000000
    // bus_dma_limit 0 means no bus limit: only the mask counts
    expect(dmaCapable(dev32(), dmaAddr(0x3ffff000), 0x1001)).toBe(true);
  });
  it("a 64-bit mask reaches far above 4 GiB", () => {
    const d = createDevice({ name: "d", driver: "t", bus: "pci", dmaMaskBits: 64, dmaCoherent: true });
    // end = 2^40 + 2^20 - 1, far below DMA_BIT_MASK(64)
    expect(dmaCapable(d, dmaAddr(2 ** 40), 2 ** 20)).toBe(true);
  });
  it("no dma_mask, the error sentinel and a wrapped size-0 end are never capable", () => {
    const d = dev32();
    expect(dmaCapable(d, DMA_MAPPING_ERROR, 1)).toBe(false);
    // size 0 at 0: end = 0 + 0 - 1 wraps to all ones, above any mask
    expect(dmaCapable(d, dmaAddr(0), 0)).toBe(false);
    // size 0 at 0x1000: end = 0xfff <= 0xffffffff
    expect(dmaCapable(d, dmaAddr(0x1000), 0)).toBe(true);
    d.dmaMask = null;
    expect(dmaCapable(d, dmaAddr(0x1000), 0x1000)).toBe(false);
  });
});
