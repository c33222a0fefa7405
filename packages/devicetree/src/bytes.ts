// Big-endian cell helpers and byte<->string conversions used by the codec and the tree.
// Flattened device trees store every integer big-endian (devicetree specification v0.3, 5.1).

export function readU32(b: Uint8Array, off: number): number {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

export function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 24) & 0xff;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

export function readU64(b: Uint8Array, off: number): bigint {
  return (BigInt(readU32(b, off)) << 32n) | BigInt(readU32(b, off + 4));
}

export function writeU64(b: Uint8Array, off: number, v: bigint): void {
  const x = BigInt.asUintN(64, v);
  writeU32(b, off, Number(x >> 32n));
  writeU32(b, off + 4, Number(x & 0xffffffffn));
}

/** Bytes -> string with one char per byte (ISO-8859-1): lossless for any byte sequence. */
export function latin1(b: Uint8Array, start = 0, end = b.length): string {
  let s = "";
  if (end - start <= 64) {
    // names and short strings: a plain loop beats building an array for apply()
    for (let i = start; i < end; i++) s += String.fromCharCode(b[i]);
    return s;
  }
  const CHUNK = 4096;
  for (let i = start; i < end; i += CHUNK) {
    const stop = Math.min(end, i + CHUNK);
    s += String.fromCharCode.apply(null, Array.from(b.subarray(i, stop)));
  }
  return s;
}

/** String with chars <= 0xff -> bytes (inverse of latin1()). */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

export function isLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: false });

export function utf8Bytes(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

export function utf8String(b: Uint8Array): string {
  return utf8Decoder.decode(b);
}

/** Encodes 32-bit cells big-endian (a `<...>` value in DTS). */
export function u32Cells(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new RangeError(`cell value ${v} is not a 32-bit unsigned integer`);
    }
    writeU32(out, i * 4, v);
  });
  return out;
}

/** Encodes 64-bit values as pairs of cells, big-endian (`/bits/ 64 <...>` in DTS). */
export function u64Cells(values: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  values.forEach((v, i) => {
    if (v < 0n || v > 0xffffffffffffffffn) {
      throw new RangeError(`value ${v} is not a 64-bit unsigned integer`);
    }
    writeU64(out, i * 8, v);
  });
  return out;
}

/** Encodes NUL-terminated UTF-8 strings back to back (a string list). */
export function stringListBytes(values: readonly string[]): Uint8Array {
  const parts = values.map((v) => {
    if (v.includes("\0")) throw new RangeError(`string ${JSON.stringify(v)} contains a NUL character`);
    return utf8Bytes(v);
  });
  const total = parts.reduce((n, p) => n + p.length + 1, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length + 1;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
