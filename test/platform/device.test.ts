import { describe, expect, it } from "vitest";
import { DMA_BIT_MASK, ModelConfigError, createDevice, dmaStreamingLimit, dmaToPhys, physAddr, physToDma, dmaAddr } from "../../lib/index.js";

const base = { name: "dev0", driver: "test", bus: "platform" as const, dmaMaskBits: 32, dmaCoherent: false };

describe("struct device DMA fields", () => {
  it("takes masks in bits as inclusive limits", () => {
    const d = createDevice({ ...base, coherentDmaMaskBits: 24, busDmaLimitBits: 30 });
    expect(d.dmaMask).toBe(0xffffffff);
    expect(d.coherentDmaMask).toBe(0xffffff);
    // min_not_zero(0xffffffff, 2^30 - 1) = 2^30 - 1
    expect(dmaStreamingLimit(d)).toBe(2 ** 30 - 1);
    expect(createDevice(base).busDmaLimit).toBe(0);
  });
  it("translates through dma-ranges both ways, above 4 GiB too", () => {
    // CPU 0x8_0000_0000..+2G appears on the bus at 0x8000_0000 (a typical PCIe inbound window)
    const d = createDevice({ ...base, dmaMaskBits: 64, dmaRanges: [{ cpuStart: 0x800000000, dmaStart: 0x80000000, size: 2 ** 31 }] });
    expect(physToDma(d, physAddr(0x800001000))).toBe(0x80001000);
    expect(dmaToPhys(d, dmaAddr(0x80001000))).toBe(0x800001000);
    expect(physToDma(d, physAddr(0x1000))).toBeNull();
    expect(DMA_BIT_MASK(64)).toBe(d.dmaMask);
  });
  it("rejects bad specs naming the field", () => {
    expect(() => createDevice({ ...base, dmaMaskBits: 65 })).toThrow(ModelConfigError);
    expect(() => createDevice({ ...base, dmaParms: { maxSegmentSize: 65536, segmentBoundaryMask: 0xff00 } })).toThrow(/segmentBoundaryMask/);
    expect(() =>
      createDevice({ ...base, dmaRanges: [{ cpuStart: 0, dmaStart: 0, size: 0x2000 }, { cpuStart: 0x1000, dmaStart: 0x10000, size: 0x1000 }] }),
    ).toThrow(/non-overlapping/);
  });
});
