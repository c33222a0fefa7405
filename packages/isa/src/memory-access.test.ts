// Memory (memory.ts) as the ISA core's loads and stores use it: byte order of 1/2/4/8-byte values
// (ISA v3.0B Book I 1.10: big-endian by default, little-endian under MSR[LE]), the bounds of the
// memory and of each mapped device (cache-inhibited accesses reach a device, not RAM), and the
// one-line errors for accesses that cannot be made.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Memory, MemoryError, type MmioRegion } from "./memory.js";

const PAGE = 1 << 16;

describe("bounds of the memory", () => {
  it("the last byte is addressable, the one after it is not, and nor are negative addresses", () => {
    const m = new Memory(2 * PAGE);
    m.write8(2 * PAGE - 1, 0x5a);
    expect(m.read8(2 * PAGE - 1)).toBe(0x5a);
    expect(() => m.read8(2 * PAGE)).toThrow(MemoryError);
    expect(() => m.write8(-1, 0)).toThrow("access of 1 bytes at 0x-1 is outside memory of 0x20000 bytes");
    expect(() => m.read32(2 * PAGE - 3)).toThrow(
      "access of 4 bytes at 0x1fffd is outside memory of 0x20000 bytes",
    );
    expect(m.read32(2 * PAGE - 4)).toBe(0x5a000000);
    expect(() => m.write32(2 * PAGE - 2, 0)).toThrow(MemoryError);
    expect(() => m.read64(2 * PAGE - 4)).toThrow(MemoryError);
    expect(() => m.write64(2 * PAGE - 7, 0n)).toThrow(MemoryError);
    expect(() => m.read8(1.5)).toThrow(/at 0x1\.8 is outside memory/);
    expect(m.contains(0, 2 * PAGE)).toBe(true);
    expect(m.contains(1, 2 * PAGE)).toBe(false);
    expect(m.contains(-1, 1)).toBe(false);
  });

  it("a memory must have a positive whole number of bytes; the default is 1 GiB", () => {
    expect(new Memory().size).toBe(1 << 30);
    expect(() => new Memory(0)).toThrow("memory size must be a positive safe integer of bytes, got 0");
    expect(() => new Memory(-4)).toThrow(MemoryError);
    expect(() => new Memory(4.5)).toThrow(/got 4\.5/);
  });

  it("a copy that would run past the end is refused before any byte is written", () => {
    const m = new Memory(PAGE);
    expect(() => m.load(PAGE - 2, new Uint8Array([1, 2, 3]))).toThrow(/access of 3 bytes at 0xfffe/);
    expect(m.read8(PAGE - 2)).toBe(0);
  });
});

describe("byte order", () => {
  it("unwritten memory reads as zero in every width, inside a page and across a page boundary", () => {
    const m = new Memory(4 * PAGE);
    expect(m.read8(PAGE + 3)).toBe(0);
    expect(m.read32(PAGE + 3, false)).toBe(0);
    expect(m.read32(PAGE - 2, true)).toBe(0);
    expect(m.read64(2 * PAGE - 4, false)).toBe(0n);
  });

  it("a 64-bit store lays out its bytes most significant first (BE) or least significant first (LE)", () => {
    const m = new Memory(PAGE);
    m.write64(0x100, 0x0102030405060708n, false);
    m.write64(0x200, 0x0102030405060708n, true);
    const bytes = (a: number) => Array.from({ length: 8 }, (_, i) => m.read8(a + i));
    expect(bytes(0x100)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(bytes(0x200)).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    expect(m.read64(0x100, false)).toBe(0x0102030405060708n);
    expect(m.read64(0x100, true)).toBe(0x0807060504030201n);
    expect(m.read32(0x200, true)).toBe(0x05060708); // the low word first in LE
    expect(m.read32(0x100, false)).toBe(0x01020304); // the high word first in BE
  });

  it("a 64-bit store of a negative value stores its two's complement", () => {
    const m = new Memory(PAGE);
    m.write64(8, -2n, false);
    expect(m.read64(8, false)).toBe(0xfffffffffffffffen);
  });

  it("the default byte order is little-endian (the POWER9 LE kernels this models)", () => {
    const m = new Memory(PAGE);
    m.write32(0, 0x11223344);
    expect(m.read8(0)).toBe(0x44);
    expect(m.read32(0)).toBe(0x11223344);
    m.write64(8, 0x1122334455667788n);
    expect(m.read8(8)).toBe(0x88);
    expect(m.read64(8)).toBe(0x1122334455667788n);
    m.loadWords(0x20, [0x7c0802a6]);
    expect(m.read8(0x20)).toBe(0xa6);
  });

  it("instruction words load in the order asked: big-endian words read back most significant byte first", () => {
    const m = new Memory(PAGE);
    m.loadWords(0x40, [0x7c0802a6, 0x4e800020], false);
    expect([0x40, 0x41, 0x42, 0x43, 0x44].map((a) => m.read8(a))).toEqual([0x7c, 0x08, 0x02, 0xa6, 0x4e]);
    expect(m.read32(0x44, false)).toBe(0x4e800020);
  });

  it("property: a 32- or 64-bit value stored at any address reads back in the same order, across page ends too", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 * PAGE - 8 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.boolean(),
        (addr, v, le) => {
          const m = new Memory(3 * PAGE);
          m.write64(addr, v, le);
          const w = Number(v >> 32n);
          m.write32(addr + 8 > 3 * PAGE - 4 ? 0 : addr + 8, w, !le);
          const back = m.read64(addr, le);
          // byte by byte: the memory holds the value's bytes in the order asked
          for (let i = 0; i < 8; i++) {
            const shift = BigInt(le ? 8 * i : 56 - 8 * i);
            if (m.read8(addr + i) !== Number((v >> shift) & 0xffn)) return false;
          }
          return back === v;
        },
      ),
      { numRuns: 300 },
    );
  });

  it("32-bit stores that straddle two pages put each byte on its own page, in either order", () => {
    const m = new Memory(2 * PAGE);
    for (const off of [3, 2, 1]) {
      m.write32(PAGE - off, 0xa1b2c3d4, false);
      expect(m.read32(PAGE - off, false)).toBe(0xa1b2c3d4);
      expect(m.read8(PAGE - off)).toBe(0xa1);
      m.write32(PAGE - off, 0xa1b2c3d4, true);
      expect(m.read32(PAGE - off, true)).toBe(0xa1b2c3d4);
      expect(m.read8(PAGE - off)).toBe(0xd4);
      expect(m.read8(PAGE - off + 3)).toBe(0xa1);
    }
  });

  it("a byte store keeps the low 8 bits", () => {
    const m = new Memory(PAGE);
    m.write8(4, 0x1ff);
    expect(m.read8(4)).toBe(0xff);
    m.write8(5, -1);
    expect(m.read8(5)).toBe(0xff);
  });
});

describe("bulk writes", () => {
  it("a copy spanning three pages lands byte for byte", () => {
    const m = new Memory(4 * PAGE);
    const bytes = Uint8Array.from({ length: 2 * PAGE + 16 }, (_, i) => (i * 7 + 3) & 0xff);
    m.load(PAGE - 8, bytes);
    for (const i of [0, 7, 8, PAGE, PAGE + 7, 2 * PAGE + 15]) expect(m.read8(PAGE - 8 + i)).toBe(bytes[i]);
    expect(m.read8(PAGE - 9)).toBe(0);
    expect(m.read8(3 * PAGE + 8)).toBe(0);
  });

  it("a fill of a whole page and a byte more stops at its last byte; a fill past the end is refused", () => {
    const m = new Memory(3 * PAGE);
    m.fill(PAGE, PAGE + 1, 0x33);
    expect([PAGE - 1, PAGE, 2 * PAGE - 1, 2 * PAGE, 2 * PAGE + 1].map((a) => m.read8(a))).toEqual([
      0, 0x33, 0x33, 0x33, 0,
    ]);
    m.fill(3 * PAGE - 1, 1, 0x44);
    expect(m.read8(3 * PAGE - 1)).toBe(0x44);
    expect(() => m.fill(3 * PAGE - 1, 2, 0)).toThrow(
      "access of 2 bytes at 0x2ffff is outside memory of 0x30000 bytes",
    );
    expect(() => m.fill(0, Number.NaN, 0)).toThrow(
      "fill length must be a non-negative whole number of bytes, got NaN",
    );
  });
});

/** A device that records what reaches it and answers loads with (offset, size, pir). */
function device() {
  const log: string[] = [];
  const region: MmioRegion = {
    load(offset, size, pir) {
      log.push(`load ${offset.toString(16)} ${size} ${pir}`);
      return BigInt(offset * 1000 + size * 10 + pir);
    },
    store(offset, size, value, pir) {
      log.push(`store ${offset.toString(16)} ${size} ${value.toString(16)} ${pir}`);
    },
  };
  return { log, region };
}

describe("mapped devices (cache-inhibited accesses)", () => {
  it("an access reaches the device at its offset in the mapping, with the accessing PIR", () => {
    const m = new Memory(PAGE);
    const d = device();
    m.mapMmio(0x100000, 0x1000, d.region);
    expect(m.mmioLoad(0x100010, 8, 3)).toBe(0x10n * 1000n + 83n);
    m.mmioStore(0x100ffc, 4, 0xabn, 5);
    expect(d.log).toEqual(["load 10 8 3", "store ffc 4 ab 5"]);
  });

  it("the first and last bytes of a mapping are the device's; an access running past its end is refused", () => {
    const m = new Memory(PAGE);
    const d = device();
    m.mapMmio(0x100000, 0x1000, d.region);
    m.mmioLoad(0x100000, 1, 0);
    m.mmioLoad(0x100ff8, 8, 0);
    expect(() => m.mmioLoad(0x100ffc, 8, 0)).toThrow(
      "cache-inhibited access of 8 bytes at 0x100ffc reaches no mapped device",
    );
    expect(() => m.mmioStore(0xffff8, 8, 0n, 0)).toThrow(MemoryError);
    expect(() => m.mmioLoad(0x101000, 1, 0)).toThrow(/reaches no mapped device/);
    expect(d.log).toEqual(["load 0 1 0", "load ff8 8 0"]);
  });

  it("of two mappings, each access goes to the one that holds it", () => {
    const m = new Memory(PAGE);
    const a = device();
    const b = device();
    m.mapMmio(0x100000, 0x1000, a.region);
    m.mapMmio(0x101000, 0x1000, b.region);
    m.mmioLoad(0x101000, 4, 0);
    m.mmioLoad(0x100ffc, 4, 0);
    expect(a.log).toEqual(["load ffc 4 0"]);
    expect(b.log).toEqual(["load 0 4 0"]);
  });

  it("mappings may touch but not overlap; unmapping frees the range and only the one named", () => {
    const m = new Memory(PAGE);
    const d = device();
    m.mapMmio(0x100000, 0x1000, d.region);
    m.mapMmio(0xff000, 0x1000, d.region); // ends where the first starts
    m.mapMmio(0x101000, 0x1000, d.region); // starts where the first ends
    expect(() => m.mapMmio(0x100fff, 1, d.region)).toThrow(
      "MMIO mapping at 0x100fff overlaps the one at 0x100000: unmap it first",
    );
    expect(() => m.mapMmio(0xfe000, 0x1001, d.region)).toThrow(/overlaps the one at 0xff000/);
    m.unmapMmio(0x123000); // none there: nothing happens
    m.mmioLoad(0x100000, 1, 0);
    m.unmapMmio(0x100000);
    expect(() => m.mmioLoad(0x100000, 1, 0)).toThrow(/reaches no mapped device/);
    m.mmioLoad(0xff000, 1, 0);
    m.mmioLoad(0x101000, 1, 0);
    m.mapMmio(0x100800, 0x800, d.region); // the freed range can be mapped again
    m.mmioLoad(0x100800, 1, 0);
  });

  it("a mapping needs a non-negative whole base and a positive size", () => {
    const m = new Memory(PAGE);
    const d = device();
    expect(() => m.mapMmio(-0x1000, 0x1000, d.region)).toThrow(
      "MMIO mapping needs a non-negative base and a positive size, got 0x-1000+0x1000",
    );
    expect(() => m.mapMmio(0x1000, 0, d.region)).toThrow(/positive size, got 0x1000\+0x0/);
    expect(() => m.mapMmio(0.5, 0x10, d.region)).toThrow(MemoryError);
    expect(() => m.mapMmio(0x1000, 1.5, d.region)).toThrow(MemoryError);
    m.mapMmio(0, 1, d.region);
    m.mmioLoad(0, 1, 0);
  });
});

describe("error names", () => {
  it("an access outside memory is a MemoryError by name too (what a log or a JSON report shows)", () => {
    let e: unknown;
    try {
      new Memory(16).read8(16);
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(RangeError);
    expect((e as Error).name).toBe("MemoryError");
  });
});

describe("loadWords bounds", () => {
  it("writes exactly its words: the word after them is left as it was", () => {
    const m = new Memory(PAGE);
    m.write32(0x48, 0xdeadbeef, false);
    m.loadWords(0x40, [1, 2], false);
    expect([m.read32(0x40, false), m.read32(0x44, false), m.read32(0x48, false)]).toEqual([1, 2, 0xdeadbeef]);
  });
});
