// The migration channel's byte codec: big-endian integers, counted strings and buffers as
// qemu: migration/qemu-file.c qemu_put_byte / qemu_put_be16 / _be32 / _be64 / qemu_put_counted_string
// write them, and the reader's short reads failing like QEMU's -EIO on a closed channel.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MigrationError } from "../errors.js";
import { QemuFileReader, QemuFileWriter } from "./qemu-file.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("QemuFileWriter", () => {
  it("writes integers big-endian, keeping only the bits of their width", () => {
    const w = new QemuFileWriter();
    w.putByte(0x1ab); // qemu_put_byte takes an int and stores its low byte
    w.putBe16(0x12345); // qemu_put_be16 stores v >> 8 then v
    w.putBe32(0x89abcdef);
    w.putBe32(-2); // an int32 stored as its 32-bit pattern
    w.putBe64(0x0102030405060708n);
    w.putBe64(-1n);
    expect(hex(w.bytes())).toBe(`ab2345${"89abcdef"}${"fffffffe"}0102030405060708${"ff".repeat(8)}`);
    expect(w.length).toBe(1 + 2 + 4 + 4 + 8 + 8);
  });

  it("writes a counted string as its length byte and the characters, up to 255 of them", () => {
    const w = new QemuFileWriter();
    w.putCountedString("ram");
    w.putCountedString("");
    expect(hex(w.bytes())).toBe("0372616d00");
    const long = "x".repeat(255);
    w.putCountedString(long);
    expect(w.length).toBe(5 + 256);
    expect(w.bytes()[5]).toBe(255);
    expect(() => w.putCountedString("y".repeat(256))).toThrow(RangeError);
    expect(() => w.putCountedString("y".repeat(256))).toThrow(/counted string too long/);
    expect(w.length).toBe(5 + 256);
  });

  it("grows past its first 4 KiB, by one byte, a word or a buffer many times larger, keeping what it wrote", () => {
    const w = new QemuFileWriter();
    for (let i = 0; i < 4095; i++) w.putByte(i);
    w.putBe32(0xdeadbeef); // crosses the 4096-byte boundary
    const big = new Uint8Array(40_000).map((_, i) => (i * 7) & 0xff);
    w.putBuffer(big); // needs more than one doubling
    w.putByte(0x5a);
    const b = w.bytes();
    expect(b.length).toBe(4095 + 4 + 40_000 + 1);
    expect(b[4094]).toBe(4094 & 0xff);
    expect(hex(b.subarray(4095, 4099))).toBe("deadbeef");
    expect(Buffer.compare(b.subarray(4099, 4099 + 40_000), big)).toBe(0);
    expect(b[b.length - 1]).toBe(0x5a);
    // a byte at a time across the boundary too
    const v = new QemuFileWriter();
    for (let i = 0; i < 5000; i++) v.putByte(i % 251);
    expect(v.bytes().every((x, i) => x === i % 251)).toBe(true);
  });

  it("makes room ahead without writing anything, and keeps what it wrote", () => {
    const w = new QemuFileWriter();
    w.putBe32(0x01020304);
    w.reserve(100_000);
    expect(w.length).toBe(4);
    expect(hex(w.bytes())).toBe("01020304");
    for (let i = 0; i < 30_000; i++) w.putBe32(i);
    expect(w.length).toBe(4 + 120_000);
    expect(hex(w.bytes().subarray(0, 8))).toBe("0102030400000000");
    expect(hex(w.bytes().subarray(-4))).toBe((29_999).toString(16).padStart(8, "0"));
  });

  it("hands out a copy of its bytes, and a view of the bytes since an offset", () => {
    const w = new QemuFileWriter();
    w.putBe32(0x01020304);
    const copy = w.bytes();
    copy[0] = 0xff;
    expect(hex(w.bytes())).toBe("01020304");
    expect(hex(w.since(2))).toBe("0304");
    w.putByte(5);
    expect(hex(w.since(3))).toBe("0405");
  });

  it("records value ranges in stream order, ignoring empty ones", () => {
    const w = new QemuFileWriter();
    w.putByte(1); // framing
    w.value(() => w.putBe64(7n));
    w.value(() => {}); // nothing written: no range
    w.markValue(20, 20);
    w.markValue(30, 25);
    w.putByte(2);
    w.markValue(9, 10);
    expect(w.valueRanges()).toEqual([
      [1, 9],
      [9, 10],
    ]);
  });
});

describe("QemuFileWriter without BigInts", () => {
  it("writes a safe non-negative integer as putBe64 writes its BigInt (property)", () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (v) => {
        const a = new QemuFileWriter();
        a.putBe64Number(v);
        const b = new QemuFileWriter();
        b.putBe64(BigInt(v));
        expect(hex(a.bytes())).toBe(hex(b.bytes()));
      }),
    );
    const w = new QemuFileWriter();
    w.putBe64Number(2 ** 53 - 1);
    w.putBe64Number(0x1_0000_1000);
    w.putBe64Number(0);
    expect(hex(w.bytes())).toBe(`001fffffffffffff0000000100001000${"00".repeat(8)}`);
  });

  it("refuses what is not a u64 below 2^53, writing nothing", () => {
    const w = new QemuFileWriter();
    for (const v of [-1, 2 ** 53, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => w.putBe64Number(v)).toThrow(new RangeError(`putBe64Number: ${v} is not a u64 below 2^53`));
    }
    expect(w.length).toBe(0);
  });

  it("without value ranges writes the same bytes and refuses to tell the ranges", () => {
    const write = (w: QemuFileWriter) => {
      w.putByte(1);
      w.value(() => w.putBe64Number(0x1234));
      w.markValue(0, 9);
      w.putCountedString("ram");
    };
    const a = new QemuFileWriter();
    write(a);
    const b = new QemuFileWriter({ valueRanges: false });
    write(b);
    expect(hex(b.bytes())).toBe(hex(a.bytes()));
    expect(a.valueRanges()).toEqual([
      [1, 9],
      [0, 9],
    ]);
    expect(() => b.valueRanges()).toThrow(
      "QemuFileWriter.valueRanges: this writer does not record value ranges (create it with { valueRanges: true })",
    );
    expect(new QemuFileWriter({ valueRanges: true }).valueRanges()).toEqual([]);
  });

  it("keeps every value range past its first 512, in order", () => {
    const w = new QemuFileWriter();
    const want: [number, number][] = [];
    for (let i = 0; i < 5000; i++) {
      w.putByte(0); // framing
      const start = w.length;
      w.putBe32(i);
      w.markValue(start, w.length);
      want.push([start, start + 4]);
    }
    expect(w.valueRanges()).toEqual(want);
  });
});

describe("QemuFileReader", () => {
  it("reads back what the writer wrote, unsigned", () => {
    const w = new QemuFileWriter();
    w.putByte(0xfe);
    w.putBe16(0xbeef);
    w.putBe32(0xfffffffe);
    w.putBe64(0x8000000000000001n);
    w.putCountedString("spapr");
    w.putBuffer(new Uint8Array([9, 8, 7]));
    const r = new QemuFileReader(w.bytes());
    expect(r.remaining).toBe(w.length);
    expect(r.getByte()).toBe(0xfe);
    expect(r.getBe16()).toBe(0xbeef);
    expect(r.getBe32()).toBe(0xfffffffe);
    expect(r.offset).toBe(7);
    expect(r.getBe64()).toBe(0x8000000000000001n);
    expect(r.peekByte()).toBe(5);
    expect(r.offset).toBe(15); // peeking does not consume
    expect(r.getCountedString()).toBe("spapr");
    expect([...r.getBuffer(3)]).toEqual([9, 8, 7]);
    expect(r.remaining).toBe(0);
  });

  it("reads a buffer as a copy", () => {
    const src = new Uint8Array([1, 2, 3, 4]);
    const r = new QemuFileReader(src);
    const got = r.getBuffer(2);
    got[0] = 99;
    expect(src[0]).toBe(1);
    expect([...r.getBuffer(2)]).toEqual([3, 4]);
  });

  it("fails every read past the end as a closed channel, reading exactly to the end being fine", () => {
    const io = "qemu-system-ppc64: load of migration failed: Input/output error";
    const reads: [number, (r: QemuFileReader) => unknown][] = [
      [1, (r) => r.getByte()],
      [1, (r) => r.peekByte()],
      [2, (r) => r.getBe16()],
      [4, (r) => r.getBe32()],
      [8, (r) => r.getBe64()],
      [3, (r) => r.getBuffer(3)],
    ];
    for (const [size, read] of reads) {
      expect(() => read(new QemuFileReader(new Uint8Array(size)))).not.toThrow();
      const short = new QemuFileReader(new Uint8Array(size - 1));
      expect(() => read(short)).toThrow(MigrationError);
      expect(() => read(short)).toThrow(io);
    }
    // a counted string longer than what is left
    expect(() => new QemuFileReader(new Uint8Array([4, 0x61, 0x62, 0x63])).getCountedString()).toThrow(io);
  });
});
