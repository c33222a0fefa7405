// Sparse byte-addressed memory: multi-byte stores, bulk copies and fills within a 64 KiB page and
// across a page boundary read back byte for byte.
import { describe, expect, it } from "vitest";
import { Memory, MemoryError } from "./memory.js";

const PAGE = 1 << 16;

describe("Memory", () => {
  it("stores 32-bit values in either byte order, inside a page and across a page boundary", () => {
    const m = new Memory(4 * PAGE);
    m.write32(16, 0x11223344, true);
    m.write32(PAGE - 2, 0x55667788, false);
    m.write32(2 * PAGE - 1, 0x99aabbcc, true);
    expect([16, 17, 18, 19].map((a) => m.read8(a))).toEqual([0x44, 0x33, 0x22, 0x11]);
    expect([PAGE - 2, PAGE - 1, PAGE, PAGE + 1].map((a) => m.read8(a))).toEqual([0x55, 0x66, 0x77, 0x88]);
    expect(m.read32(PAGE - 2, false)).toBe(0x55667788);
    expect(m.read32(2 * PAGE - 1, true)).toBe(0x99aabbcc);
    expect(m.read64(16, true)).toBe(0x11223344n);
  });

  it("copies bytes across a page boundary", () => {
    const m = new Memory(4 * PAGE);
    const bytes = Uint8Array.from({ length: 10 }, (_, i) => i + 1);
    m.load(PAGE - 4, bytes);
    expect(Array.from({ length: 12 }, (_, i) => m.read8(PAGE - 5 + i))).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0,
    ]);
  });

  it("fills a range with one byte value (memset), over several pages, leaving its neighbours", () => {
    const m = new Memory(4 * PAGE);
    m.write8(PAGE - 3, 7);
    m.write8(3 * PAGE + 2, 9);
    m.fill(PAGE - 2, 2 * PAGE + 4, 0x1ab);
    expect(m.read8(PAGE - 3)).toBe(7);
    expect(m.read8(PAGE - 2)).toBe(0xab);
    expect(m.read8(2 * PAGE)).toBe(0xab);
    expect(m.read8(3 * PAGE + 1)).toBe(0xab);
    expect(m.read8(3 * PAGE + 2)).toBe(9);
    m.fill(PAGE, 8, 0);
    expect(m.read64(PAGE, true)).toBe(0n);
    expect(m.read8(PAGE + 8)).toBe(0xab);
    m.fill(5, 0, 1);
    expect(m.read8(5)).toBe(0);
  });

  it("refuses a fill outside memory or of a bad length, naming the problem", () => {
    const m = new Memory(PAGE);
    expect(() => m.fill(PAGE - 2, 4, 0)).toThrow(MemoryError);
    expect(() => m.fill(PAGE - 2, 4, 0)).toThrow(/outside memory/);
    expect(() => m.fill(0, -1, 0)).toThrow(/fill length must be a non-negative whole number/);
    expect(() => m.fill(0, 1.5, 0)).toThrow(MemoryError);
  });
});
