// Sparse physical memory for test programs and real-mode accesses of the ISA core.

export class MemoryError extends RangeError {
  override readonly name = "MemoryError";
}

const PAGE_SHIFT = 16;
const PAGE_SIZE = 1 << PAGE_SHIFT;
const PAGE_MASK = PAGE_SIZE - 1;

/**
 * Byte-addressed memory of `size` bytes, allocated in 64 KiB pages on first write; unwritten
 * bytes read as zero. Addresses are plain numbers (real addresses below 2^53). Multi-byte
 * accesses take the byte order as a flag (the ISA core passes MSR[LE]).
 */
/**
 * A device mapped into the physical address space (cache-inhibited loads and stores reach it
 * instead of RAM): the XIVE ESB pages and thread interrupt management area, for instance. `pir`
 * is the processor the access comes from (per-thread areas such as the TIMA answer by it).
 */
export interface MmioRegion {
  load(offset: number, size: number, pir: number): bigint;
  store(offset: number, size: number, value: bigint, pir: number): void;
}

export class Memory {
  private readonly pages = new Map<number, Uint8Array>();
  private readonly mmio: { base: number; size: number; region: MmioRegion }[] = [];

  constructor(readonly size: number = 1 << 30) {
    if (!Number.isSafeInteger(size) || size <= 0) {
      throw new MemoryError(`memory size must be a positive safe integer of bytes, got ${String(size)}`);
    }
  }

  /** True when [addr, addr+len) lies inside the memory. */
  contains(addr: number, len: number): boolean {
    return addr >= 0 && addr + len <= this.size;
  }

  private check(addr: number, len: number): void {
    if (!Number.isSafeInteger(addr) || !this.contains(addr, len)) {
      throw new MemoryError(
        `access of ${len} bytes at 0x${addr.toString(16)} is outside memory of 0x${this.size.toString(16)} bytes`,
      );
    }
  }

  private page(addr: number, create: boolean): Uint8Array | undefined {
    const key = Math.floor(addr / PAGE_SIZE);
    let p = this.pages.get(key);
    if (p === undefined && create) {
      p = new Uint8Array(PAGE_SIZE);
      this.pages.set(key, p);
    }
    return p;
  }

  read8(addr: number): number {
    this.check(addr, 1);
    const p = this.page(addr, false);
    return p === undefined ? 0 : p[addr & PAGE_MASK];
  }

  write8(addr: number, value: number): void {
    this.check(addr, 1);
    this.put8(addr, value);
  }

  /** A byte store of an address already checked (not overridable: the multi-byte stores use it). */
  private put8(addr: number, value: number): void {
    (this.page(addr, true) as Uint8Array)[addr & PAGE_MASK] = value & 0xff;
  }

  /** Reads an unsigned 32-bit value. */
  read32(addr: number, littleEndian = true): number {
    this.check(addr, 4);
    const off = addr & PAGE_MASK;
    const p = this.page(addr, false);
    let b0: number;
    let b1: number;
    let b2: number;
    let b3: number;
    if (off <= PAGE_SIZE - 4) {
      if (p === undefined) return 0;
      b0 = p[off];
      b1 = p[off + 1];
      b2 = p[off + 2];
      b3 = p[off + 3];
    } else {
      b0 = this.read8(addr);
      b1 = this.read8(addr + 1);
      b2 = this.read8(addr + 2);
      b3 = this.read8(addr + 3);
    }
    return littleEndian
      ? (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0
      : ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
  }

  write32(addr: number, value: number, littleEndian = true): void {
    this.check(addr, 4);
    const v = value >>> 0;
    const off = addr & PAGE_MASK;
    if (off <= PAGE_SIZE - 4) {
      // within one page: straight into it (a subclass's write8 is not called for each byte)
      const p = this.page(addr, true) as Uint8Array;
      if (littleEndian) {
        p[off] = v;
        p[off + 1] = v >>> 8;
        p[off + 2] = v >>> 16;
        p[off + 3] = v >>> 24;
      } else {
        p[off] = v >>> 24;
        p[off + 1] = v >>> 16;
        p[off + 2] = v >>> 8;
        p[off + 3] = v;
      }
      return;
    }
    if (littleEndian) {
      this.put8(addr, v);
      this.put8(addr + 1, v >>> 8);
      this.put8(addr + 2, v >>> 16);
      this.put8(addr + 3, v >>> 24);
    } else {
      this.put8(addr, v >>> 24);
      this.put8(addr + 1, v >>> 16);
      this.put8(addr + 2, v >>> 8);
      this.put8(addr + 3, v);
    }
  }

  read64(addr: number, littleEndian = true): bigint {
    const a = this.read32(addr, littleEndian);
    const b = this.read32(addr + 4, littleEndian);
    return littleEndian ? (BigInt(b) << 32n) | BigInt(a) : (BigInt(a) << 32n) | BigInt(b);
  }

  write64(addr: number, value: bigint, littleEndian = true): void {
    const v = BigInt.asUintN(64, value);
    const hi = Number(v >> 32n);
    const lo = Number(v & 0xffffffffn);
    if (littleEndian) {
      this.write32(addr, lo, true);
      this.write32(addr + 4, hi, true);
    } else {
      this.write32(addr, hi, false);
      this.write32(addr + 4, lo, false);
    }
  }

  /**
   * Maps `region` at [base, base+size) of the physical address space (outside RAM or over it), as
   * a hypervisor maps a device's pages into a partition. Overlapping another mapping is refused.
   */
  mapMmio(base: number, size: number, region: MmioRegion): void {
    if (!Number.isSafeInteger(base) || base < 0 || !Number.isSafeInteger(size) || size <= 0) {
      throw new MemoryError(
        `MMIO mapping needs a non-negative base and a positive size, got 0x${base.toString(16)}+0x${size.toString(16)}`,
      );
    }
    for (const m of this.mmio) {
      if (base < m.base + m.size && m.base < base + size) {
        throw new MemoryError(
          `MMIO mapping at 0x${base.toString(16)} overlaps the one at 0x${m.base.toString(16)}: unmap it first`,
        );
      }
    }
    this.mmio.push({ base, size, region });
  }

  /** Removes the mapping that starts at `base` (no-op when none does). */
  unmapMmio(base: number): void {
    const i = this.mmio.findIndex((m) => m.base === base);
    if (i >= 0) this.mmio.splice(i, 1);
  }

  private mmioAt(addr: number, size: number): { base: number; region: MmioRegion } {
    for (const m of this.mmio) {
      if (addr >= m.base && addr + size <= m.base + m.size) return m;
    }
    throw new MemoryError(
      `cache-inhibited access of ${size} bytes at 0x${addr.toString(16)} reaches no mapped device`,
    );
  }

  /** A cache-inhibited load (ldcix/lwzcix/lhzcix/lbzcix, in_be64 ...) from a mapped device. */
  mmioLoad(addr: number, size: number, pir: number): bigint {
    const m = this.mmioAt(addr, size);
    return m.region.load(addr - m.base, size, pir);
  }

  /** A cache-inhibited store to a mapped device. */
  mmioStore(addr: number, size: number, value: bigint, pir: number): void {
    const m = this.mmioAt(addr, size);
    m.region.store(addr - m.base, size, value, pir);
  }

  /** Copies `bytes` into memory at `addr`. */
  load(addr: number, bytes: Uint8Array): void {
    this.check(addr, bytes.length);
    for (let i = 0; i < bytes.length; ) {
      const off = (addr + i) & PAGE_MASK;
      const n = Math.min(bytes.length - i, PAGE_SIZE - off);
      (this.page(addr + i, true) as Uint8Array).set(bytes.subarray(i, i + n), off);
      i += n;
    }
  }

  /**
   * Sets the `len` bytes at `addr` to `value` (memset), a page at a time; the pages are allocated
   * (written) even when `value` is 0, as when the guest clears memory with stores.
   */
  fill(addr: number, len: number, value: number): void {
    if (!Number.isSafeInteger(len) || len < 0) {
      throw new MemoryError(`fill length must be a non-negative whole number of bytes, got ${String(len)}`);
    }
    this.check(addr, len);
    for (let i = 0; i < len; ) {
      const off = (addr + i) & PAGE_MASK;
      const n = Math.min(len - i, PAGE_SIZE - off);
      (this.page(addr + i, true) as Uint8Array).fill(value & 0xff, off, off + n);
      i += n;
    }
  }

  /** Stores instruction words at `addr` (4 bytes each). */
  loadWords(addr: number, words: readonly number[], littleEndian = true): void {
    for (let i = 0; i < words.length; i++) this.write32(addr + 4 * i, words[i], littleEndian);
  }
}
