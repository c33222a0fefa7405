// Big-endian byte stream of the migration channel (qemu: migration/qemu-file.c qemu_put_be32,
// qemu_get_be64, qemu_put_counted_string ...). Reads past the end fail like a closed channel (-EIO).

import { MigrationError } from "../errors.js";

/** Options of a QemuFileWriter. */
export interface QemuFileWriterOptions {
  /**
   * Record which bytes are values (markValue, value, valueRanges); default true. A writer that
   * nothing will ask for them (a migration no fault injection alters) skips the bookkeeping: two
   * ranges per RAM page.
   */
  readonly valueRanges?: boolean;
}

export class QemuFileWriter {
  private buf = new Uint8Array(4096);
  private len = 0;
  private readonly recordValues: boolean;
  /**
   * [start, end) pairs of value bytes (see valueRanges), `nValues` words used. A typed array: a
   * 1 GiB guest's bulk round marks ~520 k ranges, and a growing JS array of that size was most of
   * a migration's CPU (copied on each growth and again by the scavenger).
   */
  private values = new Uint32Array(1024);
  private nValues = 0;

  constructor(options: QemuFileWriterOptions = {}) {
    this.recordValues = options.valueRanges ?? true;
  }

  get length(): number {
    return this.len;
  }

  /**
   * Makes room for `n` more bytes, doubling the buffer as often as needed. A writer that knows
   * what it is about to write calls it once (a RAM round: 9 bytes or more per page) instead of
   * growing through every power of two on the way.
   */
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  putByte(v: number): void {
    this.reserve(1);
    this.buf[this.len++] = v & 0xff;
  }

  putBe16(v: number): void {
    this.putByte(v >>> 8);
    this.putByte(v);
  }

  putBe32(v: number): void {
    this.reserve(4);
    const x = v >>> 0;
    this.buf[this.len++] = x >>> 24;
    this.buf[this.len++] = (x >>> 16) & 0xff;
    this.buf[this.len++] = (x >>> 8) & 0xff;
    this.buf[this.len++] = x & 0xff;
  }

  putBe64(v: bigint): void {
    const x = BigInt.asUintN(64, v);
    this.putBe32(Number(x >> 32n));
    this.putBe32(Number(x & 0xffffffffn));
  }

  /** putBe64 of a non-negative safe integer, without a BigInt (RAM page addresses and flags). */
  putBe64Number(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new RangeError(`putBe64Number: ${v} is not a u64 below 2^53`);
    this.reserve(8);
    const b = this.buf;
    let at = this.len;
    const hi = Math.floor(v / 0x1_0000_0000);
    const lo = v >>> 0;
    b[at++] = hi >>> 24;
    b[at++] = (hi >>> 16) & 0xff;
    b[at++] = (hi >>> 8) & 0xff;
    b[at++] = hi & 0xff;
    b[at++] = lo >>> 24;
    b[at++] = (lo >>> 16) & 0xff;
    b[at++] = (lo >>> 8) & 0xff;
    b[at++] = lo & 0xff;
    this.len = at;
  }

  putBuffer(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  /** One length byte then the characters (qemu_put_counted_string). */
  putCountedString(s: string): void {
    if (s.length > 255) throw new RangeError(`counted string too long: ${s}`);
    this.putByte(s.length);
    for (let i = 0; i < s.length; i++) this.putByte(s.charCodeAt(i));
  }

  /**
   * Marks bytes [start, end) as values: guest data and register contents, as opposed to the
   * framing (section headers, names, ids, flags, lengths, footers) the loader validates. This is
   * the information QEMU's vmdesc JSON (QEMU_VM_VMDESCRIPTION) gives analysis tools.
   */
  markValue(start: number, end: number): void {
    if (end <= start || !this.recordValues) return;
    if (this.nValues + 2 > this.values.length) {
      const next = new Uint32Array(this.values.length * 2);
      next.set(this.values);
      this.values = next;
    }
    this.values[this.nValues++] = start;
    this.values[this.nValues++] = end;
  }

  /** Writes with `fn` and marks everything it wrote as values. */
  value(fn: () => void): void {
    const start = this.len;
    fn();
    this.markValue(start, this.len);
  }

  /** The value ranges written so far, in stream order, as [start, end) pairs. */
  valueRanges(): [number, number][] {
    if (!this.recordValues) {
      throw new Error(
        "QemuFileWriter.valueRanges: this writer does not record value ranges (create it with { valueRanges: true })",
      );
    }
    const out: [number, number][] = [];
    for (let i = 0; i < this.nValues; i += 2) out.push([this.values[i], this.values[i + 1]]);
    return out;
  }

  /** The bytes written so far (a copy). */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  /** Bytes from `start` to the end, without copying. */
  since(start: number): Uint8Array {
    return this.buf.subarray(start, this.len);
  }
}

export class QemuFileReader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      // qemu: a short read sets the file error to -EIO
      throw new MigrationError("load of migration failed: Input/output error");
    }
  }

  getByte(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  getBe16(): number {
    this.need(2);
    const v = (this.buf[this.pos] << 8) | this.buf[this.pos + 1];
    this.pos += 2;
    return v;
  }

  getBe32(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }

  getBe64(): bigint {
    const hi = this.getBe32();
    const lo = this.getBe32();
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  getBuffer(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  getCountedString(): string {
    const n = this.getByte();
    const b = this.getBuffer(n);
    let s = "";
    for (const c of b) s += String.fromCharCode(c);
    return s;
  }

  peekByte(): number {
    this.need(1);
    return this.buf[this.pos];
  }
}
