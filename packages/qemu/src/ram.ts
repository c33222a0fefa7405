// Guest RAM with dirty-page tracking: QEMU's RAM block plus the dirty bitmap KVM keeps for it
// (linux: virt/kvm/kvm_main.c mark_page_dirty / KVM_GET_DIRTY_LOG; qemu: migration/ram.c
// migration_bitmap_sync). Every store the guest makes through the ISA lands in write8/32/64/load.

import { Memory } from "@stopsim/isa";
import { TARGET_PAGE_BITS, TARGET_PAGE_SIZE } from "./migration/savevm.js";

export class GuestRam extends Memory {
  private dirty = new Set<number>();
  private written = new Set<number>();
  private logging = false;
  /** The page the last store marked written (a run of stores to one page marks it once). */
  private lastMarked = -1;

  private mark(addr: number, len: number): void {
    const first = Math.floor(addr / TARGET_PAGE_SIZE);
    const last = Math.floor((addr + len - 1) / TARGET_PAGE_SIZE);
    if (first === last && first === this.lastMarked && !this.logging) return;
    this.lastMarked = first;
    for (let p = first; p <= last; p++) {
      this.written.add(p);
      if (this.logging) this.dirty.add(p);
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

  /** Starts dirty logging (KVM_MEM_LOG_DIRTY_PAGES). */
  startDirtyLog(): void {
    this.logging = true;
    this.dirty.clear();
  }

  stopDirtyLog(): void {
    this.logging = false;
    this.dirty.clear();
  }

  /** KVM_GET_DIRTY_LOG: the pages written since the last call, sorted; clears the log. */
  syncDirtyLog(): number[] {
    const pages = [...this.dirty].sort((a, b) => a - b);
    this.dirty.clear();
    return pages;
  }

  /** Pages ever written (every other page reads as zero). */
  writtenPages(): number[] {
    return [...this.written].sort((a, b) => a - b);
  }

  isWritten(page: number): boolean {
    return this.written.has(page);
  }

  /** The 4 KiB of page `page`. */
  readPage(page: number): Uint8Array {
    const out = new Uint8Array(TARGET_PAGE_SIZE);
    const base = page << TARGET_PAGE_BITS;
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
