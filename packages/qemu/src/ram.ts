// Guest RAM with dirty-page tracking: QEMU's RAM block plus the dirty bitmap KVM keeps for it
// (linux: virt/kvm/kvm_main.c mark_page_dirty / KVM_GET_DIRTY_LOG; qemu: migration/ram.c
// migration_bitmap_sync). Every store the guest makes through the ISA lands in write8/32/64/load.

import { Memory } from "@stopsim/isa";
import { TARGET_PAGE_SIZE } from "./migration/savevm.js";

/** The set bits of `bits`, ascending, cleared as they are read when `clear` is set. */
function setBits(bits: Uint32Array, clear: boolean): number[] {
  const out: number[] = [];
  for (let w = 0; w < bits.length; w++) {
    let word = bits[w];
    if (word === 0) continue;
    if (clear) bits[w] = 0;
    while (word !== 0) {
      const low = word & -word;
      out.push(w * 32 + 31 - Math.clz32(low));
      word ^= low;
    }
  }
  return out;
}

export class GuestRam extends Memory {
  /**
   * One bit per TARGET_PAGE_SIZE page, as KVM keeps a memslot's dirty_bitmap: pages written
   * since the last KVM_GET_DIRTY_LOG (allocated when logging starts, null while it is off), and
   * pages ever written.
   */
  private dirty: Uint32Array | null = null;
  private readonly written: Uint32Array;
  /** The page the last store marked written (a run of stores to one page marks it once). */
  private lastMarked = -1;

  constructor(size?: number) {
    super(size);
    this.written = new Uint32Array(this.bitmapWords());
  }

  private bitmapWords(): number {
    return Math.ceil(Math.ceil(this.size / TARGET_PAGE_SIZE) / 32);
  }

  private mark(addr: number, len: number): void {
    const first = Math.floor(addr / TARGET_PAGE_SIZE);
    const last = Math.floor((addr + len - 1) / TARGET_PAGE_SIZE);
    if (first === last && first === this.lastMarked && this.dirty === null) return;
    this.lastMarked = first;
    for (let p = first; p <= last; p++) {
      const bit = 1 << (p & 31);
      this.written[p >>> 5] |= bit;
      if (this.dirty !== null) this.dirty[p >>> 5] |= bit;
    }
  }

  override write8(addr: number, value: number): void {
    super.write8(addr, value);
    this.mark(addr, 1);
  }

  override write32(addr: number, value: number, littleEndian = true): void {
    super.write32(addr, value, littleEndian);
    this.mark(addr, 4);
  }

  override write64(addr: number, value: bigint, littleEndian = true): void {
    super.write64(addr, value, littleEndian);
    this.mark(addr, 8);
  }

  override load(addr: number, bytes: Uint8Array): void {
    super.load(addr, bytes);
    if (bytes.length > 0) this.mark(addr, bytes.length);
  }

  override fill(addr: number, len: number, value: number): void {
    super.fill(addr, len, value);
    if (len > 0) this.mark(addr, len);
  }

  /** Starts dirty logging (KVM_MEM_LOG_DIRTY_PAGES): a fresh, empty dirty bitmap. */
  startDirtyLog(): void {
    this.dirty = new Uint32Array(this.bitmapWords());
  }

  stopDirtyLog(): void {
    this.dirty = null;
  }

  /** KVM_GET_DIRTY_LOG: the pages written since the last call, sorted; clears the log. */
  syncDirtyLog(): number[] {
    return this.dirty === null ? [] : setBits(this.dirty, true);
  }

  /** Pages ever written (every other page reads as zero). */
  writtenPages(): number[] {
    return setBits(this.written, false);
  }

  isWritten(page: number): boolean {
    // a page number outside RAM (or not a page number) was never written
    if (page >>> 0 !== page || page >= this.written.length * 32) return false;
    return (this.written[page >>> 5] & (1 << (page & 31))) !== 0;
  }

  /** The 4 KiB of page `page`. */
  readPage(page: number): Uint8Array {
    const out = new Uint8Array(TARGET_PAGE_SIZE);
    // a multiplication: `page << TARGET_PAGE_BITS` turns negative from 2 GiB on
    const base = page * TARGET_PAGE_SIZE;
    for (let i = 0; i < TARGET_PAGE_SIZE; i += 4) {
      const v = this.read32(base + i, false);
      out[i] = v >>> 24;
      out[i + 1] = (v >>> 16) & 0xff;
      out[i + 2] = (v >>> 8) & 0xff;
      out[i + 3] = v & 0xff;
    }
    return out;
  }
}
